/**
 * The retention purge in the store: shard by shard, the invites issued before a cutoff lose
 * their personal data (and signed token) in the ledger; their live links' KV entries go first.
 * And the same-device hashes whose window is over are cleared. Bounded batches, so one run stays
 * within a scheduled invocation's limits.
 */

import { forgetLinks } from "../store/links";
import type { Store } from "../store/store";
import { clearEndedDeviceWindows, findInvitesToPurge, purgePersonalData } from "./shard-queries";

interface PurgeLimits {
  /** Invites per batch (one read, KV deletes, one write batch, all in one shard). */
  batchSize: number;
  /** Batches per run over all shards; what is left is purged by the next run. */
  maxBatches: number;
}

export interface PurgeResult {
  purged: number;
  /** Live tokens removed from KV (named so that the log guard, which drops "token", keeps it). */
  linksDeleted: number;
  batches: number;
  /** False when the run stopped at `maxBatches` with invites still due. */
  done: boolean;
}

export async function purgePersonalDataIssuedBefore(
  store: Store,
  issuedBefore: number,
  now: number,
  { batchSize, maxBatches }: PurgeLimits,
): Promise<PurgeResult> {
  const result: PurgeResult = { purged: 0, linksDeleted: 0, batches: 0, done: false };
  for (const db of store.shards) {
    for (;;) {
      if (result.batches >= maxBatches) return result;
      const due = await findInvitesToPurge(db, issuedBefore, batchSize);
      if (due.length === 0) break;
      // KV first (marks, and tokens of links issued before tokens moved into the ledger): if a
      // delete fails the run fails before the ledger forgets which links are still live.
      const live = due.filter((invite) => invite.expires_at > now).map((invite) => invite.id);
      await forgetLinks(store, live);
      result.linksDeleted += live.length;
      result.purged += await purgePersonalData(
        db,
        due.map((invite) => invite.id),
        now,
      );
      result.batches += 1;
      if (due.length < batchSize) break;
    }
  }
  result.done = true;
  return result;
}

/**
 * Clears the same-device hashes whose window ended by `now`, in every shard: a hash outlives its
 * window by at most the time to the next run. `batchSize` per statement, `maxBatches` per shard.
 */
export async function clearEndedDeviceWindowsEverywhere(
  store: Store,
  now: number,
  { batchSize, maxBatches }: PurgeLimits,
): Promise<number> {
  let cleared = 0;
  for (const db of store.shards) {
    for (let batch = 0; batch < maxBatches; batch++) {
      const count = await clearEndedDeviceWindows(db, now, batchSize);
      cleared += count;
      if (count < batchSize) break;
    }
  }
  return cleared;
}
