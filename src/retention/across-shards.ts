/**
 * The retention purge in the store: shard by shard, the invites issued before a cutoff lose
 * their personal data (and signed token) in the ledger; their live links' KV entries go first.
 * And the same-device hashes whose window is over are cleared. Bounded batches and the
 * invocation's storage budget keep one run within a scheduled invocation's limits: a run stops
 * cleanly between two batches, and each run starts at another shard, so every shard is reached
 * however many there are.
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
  /** False when the run stopped (`maxBatches`, or the storage budget) with invites maybe due. */
  done: boolean;
}

/** How often the scheduled job runs (wrangler.toml): each run starts one shard further. */
const RUN_INTERVAL_MS = 10 * 60_000;

export async function purgePersonalDataIssuedBefore(
  store: Store,
  issuedBefore: number,
  now: number,
  { batchSize, maxBatches }: PurgeLimits,
): Promise<PurgeResult> {
  const result: PurgeResult = { purged: 0, linksDeleted: 0, batches: 0, done: false };
  const { shards, limits } = store;
  const first = Math.floor(now / RUN_INTERVAL_MS) % shards.length;
  for (let i = 0; i < shards.length; i++) {
    const db = shards[(first + i) % shards.length] as D1Database;
    for (;;) {
      if (result.batches >= maxBatches || limits.remaining < 1) return result;
      const due = await findInvitesToPurge(db, issuedBefore, batchSize);
      if (due.length === 0) break;
      // KV first (marks, and tokens of links issued before tokens moved into the ledger): if a
      // delete fails the run fails before the ledger forgets which links are still live.
      const live = due.filter((invite) => invite.expires_at > now).map((invite) => invite.id);
      // The deletes and the write must fit in what is left of the budget, or wait for a run.
      if (limits.remaining < live.length + 1) return result;
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
      // What the purge left of the budget; the next run clears the rest.
      if (store.limits.remaining < 1) return cleared;
      const count = await clearEndedDeviceWindows(db, now, batchSize);
      cleared += count;
      if (count < batchSize) break;
    }
  }
  return cleared;
}
