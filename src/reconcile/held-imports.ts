/**
 * Settling held imports (outcome unknown: a lost or unreadable answer to the import POST, or a
 * run that died while sending) without ever sending their contacts again blindly. The batch an
 * import went into was created before it was sent, so the batch's transactions say which of its
 * invites Qualtrics has: those are pushed, the others are queued again and go out in a later
 * run's batch. Only what is proven absent is sent again.
 *
 * A batch is looked up only once its import is old enough for Qualtrics to have finished it
 * (an import still running could list half its transactions). When the lookup itself fails, the
 * import stays held for the next run, or for an operator (POST /v1/reconcile/imports/:id/resolve).
 */
import type { RunContext } from "./run-context";
import { heldImportsSentBefore, importInvites, settleHeldImport } from "./storage/push-queue";

/** How long after sending an import its batch is taken as final. */
export const HELD_IMPORT_SETTLE_MS = 60 * 60 * 1000;
/** Held imports looked up per run. */
const LOOKUPS_PER_RUN = 5;

export async function lookUpHeldImports(ctx: RunContext): Promise<void> {
  const { store, client, settings } = ctx;
  const due = await heldImportsSentBefore(
    store,
    ctx.now() - HELD_IMPORT_SETTLE_MS,
    LOOKUPS_PER_RUN,
  );
  for (const held of due) {
    // A lookup that cannot finish in this run's budget waits for a run that has it.
    if (client.calls + 2 > settings.maxCallsPerRun) return;
    try {
      await ctx.keepLease();
      const inviteIds = await importInvites(store, held.id);
      const wanted = new Set(inviteIds);
      const found = new Set<string>();
      for await (const page of client.batchTransactions(settings.directoryId, held.batch_id)) {
        for (const { inviteId } of page) if (inviteId && wanted.has(inviteId)) found.add(inviteId);
        // Every invite accounted for: the rest of the batch has nothing more to say.
        if (found.size === wanted.size) break;
      }
      const absent = wanted.size - found.size;
      const result = await settleHeldImport(
        store,
        held.id,
        found,
        `settled by looking up batch ${held.batch_id}: ${found.size} invite(s) found there ` +
          `(pushed), ${absent} absent (queued again)`,
        ctx.now(),
      );
      ctx.tally.pushed += result.pushed;
    } catch (error) {
      ctx.fail(`held import ${held.id} (batch ${held.batch_id} could not be looked up)`, error);
    }
  }
}
