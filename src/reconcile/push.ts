/**
 * Pushing invites into XM Directory: one transaction per invite, sent as transactioncontacts
 * imports of at most 10,000 contacts and under 5 MB, all in one transaction batch per run; then
 * polling the imports (across runs) until Qualtrics reports 100%.
 *
 * Exactly once, as far as the API allows: every import is recorded (and its invites reserved in
 * their shards, see storage/push-queue.ts) before it is sent, and the POST is never repeated when its outcome is unknown. An
 * answer marks the import accepted; a refusal queues its invites again; a timeout, a 5xx, a
 * dropped connection or a run that died mid-send leaves the import `unknown` and its invites held
 * until an operator says whether Qualtrics received it (the API offers no way to ask).
 */

import { describeError } from "../core/log";
import { type TransactionContact, toQualtricsDate } from "../qualtrics/bodies";
import { chunkTransactionContacts, MAX_CONTACTS_PER_IMPORT } from "../qualtrics/chunking";
import { QualtricsError } from "../qualtrics/errors";
import { linkStatus } from "../store/link-status";
import { base64url } from "../tokens/ids";
import { ReconcileError, type RunContext, stopsRun } from "./run-context";
import {
  listAcceptedImports,
  markImportAccepted,
  markImportUnknown,
  recordImportPoll,
} from "./storage/imports";
import {
  completeImport,
  endImportWithoutEffect,
  nextPushCandidates,
  recoverAbandonedImports,
  reserveForImport,
} from "./storage/push-queue";
import type { PushCandidate } from "./storage/push-rows";

/** The keys of `transactionData`, listed in `transactionMeta.fields`. */
const TRANSACTION_FIELDS = [
  "invite_id",
  "survey",
  "trigger",
  "channel",
  "issued_at",
  "opened_at",
  "status",
] as const;

/** Imports that refuse an invite this many times stop retrying it (it is reported as gave up). */
export const MAX_PUSH_ATTEMPTS = 5;

function newImportId(): string {
  return `imp_${base64url(crypto.getRandomValues(new Uint8Array(12)))}`;
}

/** The contact for one invite: the customer id as `extRef`, the invite in `transactionData`. */
function inviteContact(invite: PushCandidate, now: number): TransactionContact {
  const data: Record<string, string> = {
    invite_id: invite.id,
    survey: invite.survey,
    trigger: invite.trigger,
    issued_at: toQualtricsDate(new Date(invite.issued_at)),
    status: linkStatus(invite, now),
  };
  if (invite.channel) data.channel = invite.channel;
  if (invite.consumed_at !== null) data.opened_at = toQualtricsDate(new Date(invite.consumed_at));
  return { extRef: invite.customer_ref, transactionData: data };
}

/**
 * Sends every queued invite (up to `maxImportsPerRun` imports). Stops at the first failed import:
 * Qualtrics is refusing or unwell, and the next run starts over from D1.
 */
export async function pushInvitesToDirectory(ctx: RunContext): Promise<void> {
  const { store, settings, client } = ctx;
  const abandoned = await recoverAbandonedImports(store, ctx.runId, ctx.now());
  if (abandoned > 0) {
    ctx.tally.errors.push(
      `${abandoned} import(s) left sending by a run that stopped: outcome unknown, invites held ` +
        "until an operator resolves them (GET /v1/reconcile/imports)",
    );
  }
  let batchId: string | undefined;
  let imports = 0;
  while (imports < ctx.maxImportsPerRun) {
    // The batch (once), the POST and one poll must fit in the budget, or the import waits for a run that has them.
    if (client.calls + (batchId ? 2 : 3) > settings.maxCallsPerRun) return;
    // So must the storage calls around the POST (reserve, then accept or release, in every
    // shard): stopping between them would leave an import whose outcome is unknown.
    if (store.limits.remaining < 2 * store.shards.length + 10) return;
    const candidates = await nextPushCandidates(store, MAX_CONTACTS_PER_IMPORT, MAX_PUSH_ATTEMPTS);
    if (candidates.length === 0) return;
    await ctx.keepLease();
    batchId ??= (await client.createTransactionBatch(settings.directoryId, new Date(ctx.now())))
      .batchId;
    const now = ctx.now();
    const contacts = candidates.map((invite) => inviteContact(invite, now));
    const chunks = chunkTransactionContacts(contacts, { fields: [...TRANSACTION_FIELDS] });
    let offset = 0;
    for (const chunk of chunks) {
      const invites = candidates.slice(offset, offset + chunk.length);
      offset += chunk.length;
      await sendImport(ctx, batchId, invites, chunk);
      imports += 1;
    }
    if (candidates.length < MAX_CONTACTS_PER_IMPORT) return;
  }
}

async function sendImport(
  ctx: RunContext,
  batchId: string,
  invites: PushCandidate[],
  contacts: TransactionContact[],
): Promise<void> {
  const { control, settings, client } = ctx;
  await ctx.keepLease();
  const id = newImportId();
  const reserved = await reserveForImport(ctx.store, {
    id,
    runId: ctx.runId,
    batchId,
    inviteIds: invites.map((i) => i.id),
    at: ctx.now(),
  });
  if (reserved.length === 0) return;
  const kept = new Set(reserved);
  const sent =
    reserved.length === invites.length
      ? contacts
      : contacts.filter((_, i) => kept.has(invites[i]?.id ?? ""));
  ctx.tally.imports += 1;
  let started: Awaited<ReturnType<typeof client.importTransactionContacts>>;
  try {
    started = await client.importTransactionContacts(settings.directoryId, settings.mailingListId, {
      batchId,
      fields: [...TRANSACTION_FIELDS],
      contacts: sent,
    });
  } catch (error) {
    const why = describeError(error);
    // Refused outright (4xx, a 429 storm outlasting the retries, the budget): nothing happened.
    if (error instanceof QualtricsError && !error.ambiguous) {
      await endImportWithoutEffect(ctx.store, id, "not_sent", why, ctx.now());
      throw new ReconcileError(
        `import ${id} was not sent (${sent.length} invites queued again): ${why}`,
        { stopsRun: stopsRun(error) },
      );
    }
    await markImportUnknown(control, id, `outcome unknown, invites held: ${why}`, ctx.now());
    throw new ReconcileError(
      `import ${id}: outcome unknown, ${sent.length} invites held until an operator resolves it ` +
        `(POST /v1/reconcile/imports/${id}/resolve): ${why}`,
      { stopsRun: true },
    );
  }
  await markImportAccepted(control, id, started.importId, started.unprocessed, ctx.now());
}

/**
 * Polls every accepted import (this run's and earlier runs') until it reaches 100% or this run's
 * polls for it are spent; at 100% its invites are marked pushed and the unprocessed ones queued
 * again. An import that finishes having recorded nothing points at a wrong directory, list or
 * batch: its invites are queued again and the run reports the error.
 */
export async function settleImports(ctx: RunContext): Promise<void> {
  const { control, settings, client } = ctx;
  const sentThisRun = ctx.tally.imports > 0;
  for (let round = 0; round < ctx.maxPollsPerJob; round++) {
    const open = await listAcceptedImports(control);
    if (open.length === 0) return;
    // Imports take a while: right after sending, wait before the first poll.
    if (round > 0 || sentThisRun) await ctx.sleep(ctx.pollIntervalMs);
    await ctx.keepLease();
    for (const entry of open) {
      let progress: Awaited<ReturnType<typeof client.getTransactionImport>>;
      try {
        progress = await client.getTransactionImport(
          settings.directoryId,
          settings.mailingListId,
          entry.qualtrics_import_id,
        );
      } catch (error) {
        if (error instanceof QualtricsError && error.status === 404) {
          // Qualtrics took the import and now does not know it: no way to confirm its invites.
          await markImportUnknown(
            control,
            entry.id,
            `import status lost: ${error.message}`,
            ctx.now(),
          );
          ctx.tally.errors.push(`import ${entry.id}: ${error.message}`);
          continue;
        }
        throw error;
      }
      await recordImportPoll(control, entry.id, ctx.now());
      if (!progress.complete) continue;
      const { added, updated, failed } = progress.contacts;
      if (added + updated + failed === 0 && progress.transactionsCreated === 0) {
        const message =
          `Qualtrics finished import ${entry.qualtrics_import_id} having recorded nothing: ` +
          "check QUALTRICS_DIRECTORY_ID and QUALTRICS_MAILING_LIST_ID";
        await endImportWithoutEffect(ctx.store, entry.id, "failed", message, ctx.now());
        ctx.tally.errors.push(message);
        continue;
      }
      const counts = await completeImport(ctx.store, entry.id, ctx.now());
      ctx.tally.pushed += counts.pushed;
      ctx.tally.unprocessed += counts.unprocessed;
    }
  }
}
