/**
 * Pushing invites into XM Directory: one transaction per invite, sent as transactioncontacts
 * imports of at most 10,000 contacts and under 5 MB, all in one transaction batch per run. The
 * imports are then polled (settle-imports.ts) until Qualtrics reports 100%.
 *
 * Exactly once, as far as the API allows: every import is recorded (and its invites reserved in
 * their shards, see storage/push-queue.ts) before it is sent, and the POST is never repeated when
 * its outcome is unknown. An answer marks the import accepted; a refusal queues its invites again;
 * a timeout, a 5xx, a dropped connection, a 2xx whose body cannot be read, or a run that died
 * mid-send leaves the import `unknown` and its invites held, never sent blindly again: a later run
 * looks its batch's transactions up (held-imports.ts), or an operator says what Qualtrics has.
 */

import { describeError } from "../core/log";
import { type TransactionContact, toQualtricsDate } from "../qualtrics/bodies";
import { chunkTransactionContacts, MAX_CONTACTS_PER_IMPORT } from "../qualtrics/chunking";
import { QualtricsError } from "../qualtrics/errors";
import { linkStatus } from "../store/link-status";
import { base64url } from "../tokens/ids";
import { lookUpHeldImports } from "./held-imports";
import { ReconcileError, type RunContext } from "./run-context";
import {
  acceptImport,
  countCustomersPushedBefore,
  endImportWithoutEffect,
  holdImport,
  nextPushCandidates,
  type PushCandidate,
  recoverAbandonedImports,
  reserveForImport,
} from "./storage/push-queue";

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

/** Customers of an import checked against earlier pushes, to see whether XM Directory deduplicates. */
const DEDUP_SAMPLE = 50;

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
 * Settles what earlier runs left (imports a dead run left sending; held imports whose batch can
 * now be looked up), then sends every queued invite (up to `maxImportsPerRun` imports) in this
 * run's batch. Stops sending at the first import that fails: the next run starts over from D1.
 */
export async function pushInvitesToDirectory(ctx: RunContext): Promise<void> {
  const { store, settings, client } = ctx;
  const abandoned = await recoverAbandonedImports(store, ctx.runId, ctx.now());
  if (abandoned > 0) {
    ctx.tally.errors.push(
      `${abandoned} import(s) left sending by a run that stopped: outcome unknown, invites held ` +
        "until their batch is looked up or an operator resolves them (GET /v1/reconcile/imports)",
    );
  }
  await lookUpHeldImports(ctx);
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
  const { store, settings, client } = ctx;
  await ctx.keepLease();
  const id = newImportId();
  const reserved = await reserveForImport(store, {
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
  // Before sending: afterwards these customers are pushed too.
  const sample = [...new Set(sent.map((c) => c.extRef))].slice(0, DEDUP_SAMPLE);
  const knownContacts = await countCustomersPushedBefore(store, sample);
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
      await endImportWithoutEffect(store, id, "not_sent", why, ctx.now());
      throw new ReconcileError(
        `import ${id} was not sent (${sent.length} invites queued again): ${why}`,
        { cause: error },
      );
    }
    await holdImport(store, id, `outcome unknown, invites held: ${why}`, ctx.now());
    throw new ReconcileError(
      `import ${id}: outcome unknown, ${sent.length} invites held until batch ${batchId} is ` +
        `looked up or an operator resolves it (POST /v1/reconcile/imports/${id}/resolve): ${why}`,
      { cause: error },
    );
  }
  await acceptImport(store, {
    id,
    qualtricsImportId: started.importId,
    unprocessed: started.unprocessed,
    knownContacts,
    at: ctx.now(),
  });
}
