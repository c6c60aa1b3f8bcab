/**
 * Following imports Qualtrics accepted until they reach 100% (this run's and earlier runs'): at
 * 100% an import's invites are marked pushed and the ones Qualtrics listed as unprocessed are
 * queued again and reported as refused. An import that finishes having recorded nothing points at
 * a wrong directory, list or batch: its invites are queued again and the run reports it. An import
 * whose counts show customers pushed before coming back as new contacts means the directory does
 * not deduplicate on External Data Reference: the run raises a notice.
 *
 * One import's failure (Qualtrics no longer knows it) holds only that import.
 */
import { QualtricsError } from "../qualtrics/errors";
import type { TransactionImportProgress } from "../qualtrics/replies";
import { NO_REASON_GIVEN } from "./refusals";
import type { RunContext } from "./run-context";
import {
  completeImport,
  countImportPoll,
  endImportWithoutEffect,
  holdImport,
  importsInProgress,
  type OpenImport,
} from "./storage/push-queue";

export async function settleImports(ctx: RunContext): Promise<void> {
  const sentThisRun = ctx.tally.imports > 0;
  const settled = new Set<string>();
  let newContacts = 0;
  for (let round = 0; round < ctx.maxPollsPerJob; round++) {
    const open = (await importsInProgress(ctx.store)).filter((entry) => !settled.has(entry.id));
    if (open.length === 0) break;
    // Imports take a while: right after sending, wait before the first poll.
    if (round > 0 || sentThisRun) await ctx.sleep(ctx.pollIntervalMs);
    await ctx.keepLease();
    for (const entry of open) {
      try {
        const outcome = await pollImport(ctx, entry);
        if (outcome !== "running") settled.add(entry.id);
        if (typeof outcome === "number") newContacts += outcome;
      } catch (error) {
        // This import waits for the next run; the others go on.
        settled.add(entry.id);
        ctx.fail(`import ${entry.id}`, error);
      }
    }
  }
  if (newContacts > 0)
    ctx.tally.notices.push({ survey: null, code: "dedup_off", contacts: newContacts });
}

/**
 * One poll of one import; settles it at 100%. Returns "running", "settled", or, for an import
 * that shows known customers added as new contacts, how many.
 */
async function pollImport(
  ctx: RunContext,
  entry: OpenImport,
): Promise<"running" | "settled" | number> {
  const { settings, client, store } = ctx;
  let progress: TransactionImportProgress;
  try {
    progress = await client.getTransactionImport(
      settings.directoryId,
      settings.mailingListId,
      entry.qualtrics_import_id,
    );
  } catch (error) {
    if (!(error instanceof QualtricsError) || error.status !== 404) throw error;
    // Qualtrics took the import and now does not know it: its batch will say what arrived.
    await holdImport(store, entry.id, `import status lost: ${error.message}`, ctx.now());
    ctx.tally.errors.push(
      `import ${entry.id}: ${error.message}; held until its batch is looked up`,
    );
    return "settled";
  }
  await countImportPoll(store, entry.id, ctx.now());
  if (!progress.complete) return "running";
  const { added, updated, failed } = progress.contacts;
  if (added + updated + failed === 0 && progress.transactionsCreated === 0) {
    const message =
      `Qualtrics finished import ${entry.qualtrics_import_id} having recorded nothing: ` +
      "check QUALTRICS_DIRECTORY_ID and QUALTRICS_MAILING_LIST_ID";
    await endImportWithoutEffect(store, entry.id, "failed", message, ctx.now());
    ctx.tally.errors.push(message);
    return "settled";
  }
  const result = await completeImport(store, entry.id, ctx.now());
  ctx.tally.pushed += result.pushed;
  ctx.tally.unprocessed += result.requeued.length;
  for (const inviteId of result.requeued) {
    ctx.tally.refused.add({ inviteId, phase: "push", reason: NO_REASON_GIVEN });
  }
  // With deduplication on External Data Reference, every customer pushed before is an update.
  const knownAddedAnew = entry.known_contacts - updated - failed;
  return knownAddedAnew > 0 ? knownAddedAnew : "settled";
}
