/**
 * Pushing invites to XM Directory across shards, exactly once as far as the API allows. An
 * import's row lives in the control database; its invites live in their shards, and no
 * transaction spans both, so every step is ordered to survive a crash between them:
 * - reserving: the import is recorded (`reserving`) before any shard reserves an invite for it,
 *   and becomes `sending` only once every shard has; only `sending` imports are ever sent. A run
 *   that finds another run's `reserving` import releases its reservations: it was never sent.
 * - settling: shards first (each step conditional on the invite's push_ref, so repeating it
 *   changes nothing), the control row last. A crash in between leaves the import as it was, and
 *   the next run or the operator's retry settles it again.
 * The push step reaches imports and invites through this module alone.
 */

import {
  byIssuedThenId,
  controlDb,
  onEveryShard,
  onShardsHolding,
  type Store,
} from "../../store/store";
import { inviteIdShard } from "../../tokens/ids";
import {
  deleteImport,
  endImportUnsent,
  getImportContents,
  type HeldImport,
  type ImportRow,
  importedBacklog,
  insertReservingImport,
  listAbandonedReservations,
  listAcceptedImports,
  listHeldImports,
  markAbandonedSendsUnknown,
  markImportAccepted,
  markImportSending,
  markImportUnknown,
  type OpenImport,
  recordImportPoll,
  settleImport,
} from "./imports";
import {
  markImportedInvitesPushed,
  type PushCandidate,
  pushedCustomersInShard,
  pushQueueCounts,
  releaseInvites,
  reserveInvites,
  selectPushCandidates,
  settleImportedInvites,
} from "./push-rows";

export type { OpenImport, PushCandidate };

/** The oldest queued invites over all shards (each shard's oldest `limit`, merged). */
export async function nextPushCandidates(
  store: Store,
  limit: number,
  maxAttempts: number,
): Promise<PushCandidate[]> {
  const perShard = await onEveryShard(store, (db) => selectPushCandidates(db, limit, maxAttempts));
  return perShard.flat().sort(byIssuedThenId).slice(0, limit);
}

/**
 * Records an import and reserves its invites in their shards before anything is sent. Returns
 * the invites actually reserved, in the given order (fewer only if another run reserved some
 * meanwhile; the import then lists exactly those, or is deleted when none are left).
 */
export async function reserveForImport(
  store: Store,
  entry: { id: string; runId: string; batchId: string; inviteIds: string[]; at: number },
): Promise<string[]> {
  const control = controlDb(store);
  await insertReservingImport(control, entry);
  const perShard = await onShardsHolding(store, entry.inviteIds, inviteIdShard, (db, ids) =>
    reserveInvites(db, entry.id, ids),
  );
  const reserved = new Set(perShard.flat());
  const kept = entry.inviteIds.filter((id) => reserved.has(id));
  if (kept.length === 0) await deleteImport(control, entry.id);
  else await markImportSending(control, entry.id, kept, entry.at);
  return kept;
}

/** Queues an import's invites again in every shard (it holds no list once settled). */
async function releaseEverywhere(store: Store, importId: string): Promise<void> {
  await onEveryShard(store, (db) => releaseInvites(db, importId));
}

/**
 * What dead runs left behind: their `reserving` imports were never sent, so their invites are
 * queued again; their `sending` imports may have reached Qualtrics, so they become `unknown` and
 * their invites stay held. Returns how many imports became unknown.
 */
export async function recoverAbandonedImports(
  store: Store,
  currentRunId: string,
  at: number,
): Promise<number> {
  const control = controlDb(store);
  for (const id of await listAbandonedReservations(control, currentRunId)) {
    await releaseEverywhere(store, id);
    await endImportUnsent(control, id, "not_sent", "its run stopped before sending it", at);
  }
  return markAbandonedSendsUnknown(control, currentRunId, at);
}

/**
 * An import that certainly recorded nothing — refused before any work (`not_sent`), or finished
 * with nothing recorded (`failed`): its invites are queued again.
 */
export async function endImportWithoutEffect(
  store: Store,
  id: string,
  status: "not_sent" | "failed",
  error: string,
  at: number,
): Promise<void> {
  await releaseEverywhere(store, id);
  await endImportUnsent(controlDb(store), id, status, error, at);
}

/** Qualtrics answered the import with its id (see `markImportAccepted`). */
export async function acceptImport(
  store: Store,
  entry: Parameters<typeof markImportAccepted>[1],
): Promise<void> {
  await markImportAccepted(controlDb(store), entry);
}

/** Whether Qualtrics did the import is unknown: its invites stay reserved (held). */
export async function holdImport(
  store: Store,
  id: string,
  error: string,
  at: number,
): Promise<void> {
  await markImportUnknown(controlDb(store), id, error, at);
}

/** Imports Qualtrics accepted that have not reached 100% yet (this run's and earlier ones'). */
export function importsInProgress(store: Store): Promise<OpenImport[]> {
  return listAcceptedImports(controlDb(store));
}

export async function countImportPoll(store: Store, id: string, at: number): Promise<void> {
  await recordImportPoll(controlDb(store), id, at);
}

/** Held imports (outcome unknown) sent before `sentBefore`: due for a look at their batch. */
export function heldImportsSentBefore(
  store: Store,
  sentBefore: number,
  limit: number,
): Promise<HeldImport[]> {
  return listHeldImports(controlDb(store), sentBefore, limit);
}

/** The invites an import carried (empty once it is settled). */
export async function importInvites(store: Store, id: string): Promise<string[]> {
  return (await getImportContents(controlDb(store), id))?.inviteIds ?? [];
}

/** How many of these customers have an invite that was pushed before, over every shard. */
export async function countCustomersPushedBefore(
  store: Store,
  customerRefs: readonly string[],
): Promise<number> {
  if (customerRefs.length === 0) return 0;
  const perShard = await onEveryShard(store, (db) => pushedCustomersInShard(db, customerRefs));
  return new Set(perShard.flat()).size;
}

/** What settling an import did: invites pushed, and the ones queued again (refused or absent). */
interface ImportSettled {
  pushed: number;
  requeued: string[];
}

/**
 * Settles an import's invites in their shards, then its row: `pushedIds` are pushed, the others
 * queued again with one more attempt counted. Only from the status given, so it happens once.
 */
async function settleImportInvites(
  store: Store,
  entry: {
    id: string;
    from: "accepted" | "unknown";
    pushedIds: (inviteIds: string[], unprocessed: number[]) => Set<string>;
    note: string | null;
    at: number;
  },
): Promise<ImportSettled> {
  const { id, at } = entry;
  const control = controlDb(store);
  const contents = await getImportContents(control, id);
  if (contents?.status !== entry.from) return { pushed: 0, requeued: [] };
  const pushedIds = entry.pushedIds(contents.inviteIds, contents.unprocessed);
  const perShard = await onShardsHolding(store, contents.inviteIds, inviteIdShard, (db, ids) =>
    settleImportedInvites(
      db,
      id,
      ids.filter((i) => pushedIds.has(i)),
      at,
    ),
  );
  const pushed = perShard.reduce((sum, c) => sum + c.pushed, 0);
  await settleImport(control, {
    id,
    from: entry.from,
    to: "complete",
    pushed,
    note: entry.note,
    at,
  });
  return { pushed, requeued: contents.inviteIds.filter((i) => !pushedIds.has(i)) };
}

/**
 * The import reached 100%: its invites whose index is not unprocessed are pushed; the
 * unprocessed ones are queued again with one more attempt counted.
 */
export function completeImport(store: Store, id: string, at: number): Promise<ImportSettled> {
  return settleImportInvites(store, {
    id,
    from: "accepted",
    pushedIds: (inviteIds, unprocessed) => {
      const refused = new Set(unprocessed);
      return new Set(inviteIds.filter((_, i) => !refused.has(i)));
    },
    note: null,
    at,
  });
}

/**
 * A held import whose batch was looked up: the invites found there are pushed, the others are
 * queued again (into a later run's batch). Only an import still held is settled.
 */
export function settleHeldImport(
  store: Store,
  id: string,
  found: ReadonlySet<string>,
  note: string,
  at: number,
): Promise<ImportSettled> {
  return settleImportInvites(store, {
    id,
    from: "unknown",
    pushedIds: (inviteIds) => new Set(inviteIds.filter((i) => found.has(i))),
    note,
    at,
  });
}

/**
 * An operator's answer for an import whose outcome was unknown: `accepted` marks its invites
 * pushed; `not_accepted` queues them again. Null when the import is not (or no longer) unknown.
 */
export async function resolveUnknownImport(
  store: Store,
  id: string,
  outcome: "accepted" | "not_accepted",
  at: number,
): Promise<ImportRow | null> {
  const control = controlDb(store);
  const contents = await getImportContents(control, id);
  if (contents?.status !== "unknown") return null;
  let pushed = 0;
  if (outcome === "accepted") {
    const counts = await onShardsHolding(store, contents.inviteIds, inviteIdShard, (db, ids) =>
      markImportedInvitesPushed(db, id, ids, at),
    );
    pushed = counts.reduce((sum, n) => sum + n, 0);
  } else {
    await releaseEverywhere(store, id);
  }
  return settleImport(control, {
    id,
    from: "unknown",
    to: outcome === "accepted" ? "complete" : "abandoned",
    pushed,
    note:
      outcome === "accepted"
        ? "resolved by an operator: Qualtrics received it"
        : "resolved by an operator: Qualtrics did not receive it; invites queued again",
    at,
  });
}

interface PushBacklog {
  /** Waiting for the next run. */
  queued: number;
  /** In imports sent and not yet at 100%. */
  inFlight: number;
  /** In imports whose outcome is unknown: held until an operator resolves them. */
  onHold: number;
  /** Refused by Qualtrics `maxAttempts` times: no longer retried. */
  gaveUp: number;
}

export async function pushBacklog(store: Store, maxAttempts: number): Promise<PushBacklog> {
  const [queues, imports] = await Promise.all([
    onEveryShard(store, (db) => pushQueueCounts(db, maxAttempts)),
    importedBacklog(controlDb(store)),
  ]);
  return {
    queued: queues.reduce((sum, q) => sum + q.queued, 0),
    gaveUp: queues.reduce((sum, q) => sum + q.gaveUp, 0),
    ...imports,
  };
}
