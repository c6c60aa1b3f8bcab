/**
 * The retention purge over every shard, in rotation: each round gives every shard that still has
 * due work one step, in parallel within the invocation's six connections, starting at the shard
 * where the last run stopped (rotation.ts). So every shard is served, however many there are and
 * however busy shard 0 is, and a run that spends its batches or its share of the storage budget
 * stops cleanly between two steps; the next run continues.
 *
 * A visit of a shard deletes rows that may leave and clears ended same-device windows (one
 * batch); once nothing more may leave, the same visit clears the personal data of rows past
 * retention that must stay a while longer (their link still live, an import or a stamp job in
 * flight, or a response still expected), deleting their KV entries first. So a run that reaches
 * a shard makes progress on everything due there, and the next run starts at the next shard.
 */
import { forgetLinks } from "../store/links";
import { controlDb, type Store } from "../store/store";
import { readRotationStart, saveRotationStart } from "./rotation";
import {
  findInvitesToPurge,
  type PurgeCutoffs,
  purgePersonalData,
  removeLeavingInvites,
} from "./shard-queries";

interface PurgeLimits {
  /** Rows deleted per statement (one shard; short, so taps on the shard barely wait). */
  leaveBatchSize: number;
  /** Invites per personal-data step (one read, KV deletes, one write batch); device hashes per statement. */
  batchSize: number;
  /** Steps per run over all shards; what is left is done by the next run. */
  maxBatches: number;
}

export interface PurgeResult {
  /** Rows that left their shard. */
  removed: number;
  /** Rows whose personal data was cleared (they stay until they may leave). */
  purged: number;
  /** Live tokens removed from KV (named so that the log guard, which drops "token", keeps it). */
  linksDeleted: number;
  /** Same-device hashes cleared because their window was over. */
  deviceHashesCleared: number;
  /** Steps taken: each one storage call on one shard (a personal-data step, two and its KV). */
  batches: number;
  /** False when the run stopped (`maxBatches`, or the storage budget) with work maybe left. */
  done: boolean;
}

/** Where a shard is in this run: deleting rows that leave, clearing personal data, or done. */
interface ShardWork {
  shard: number;
  db: D1Database;
  phase: "leave" | "personal" | "done";
}

/** The call that saves where the rotation stopped, kept out of every step's budget. */
const SAVE_CALLS = 1;

/** Steps one visit of a shard may take (a delete, then a clearing once nothing may leave). */
const STEPS_PER_VISIT = 2;

export async function purgeDueOnEveryShard(
  store: Store,
  cutoffs: PurgeCutoffs,
  limits: PurgeLimits,
): Promise<PurgeResult> {
  const result: PurgeResult = {
    removed: 0,
    purged: 0,
    linksDeleted: 0,
    deviceHashesCleared: 0,
    batches: 0,
    done: false,
  };
  const count = store.shards.length;
  const start = (await readRotationStart(controlDb(store))) % count;
  let active: ShardWork[] = Array.from({ length: count }, (_, i) => {
    const shard = (start + i) % count;
    return { shard, db: store.shards[shard] as D1Database, phase: "leave" };
  });
  // A run that serves every shard fully starts one shard further next time.
  let next = (start + 1) % count;
  while (active.length > 0) {
    // A visit costs at most two steps: a delete and, once nothing more may leave, a clearing.
    const room = Math.min(
      Math.floor((limits.maxBatches - result.batches) / STEPS_PER_VISIT),
      Math.floor((store.limits.remaining - SAVE_CALLS) / STEPS_PER_VISIT),
      active.length,
    );
    const round = active.slice(0, Math.max(room, 0));
    // Deletes in parallel; personal-data steps one at a time, as their KV deletes vary in cost.
    await Promise.all(
      round.filter((w) => w.phase === "leave").map((w) => leaveStep(w, cutoffs, limits, result)),
    );
    let stoppedAt: ShardWork | undefined = active[round.length];
    for (const work of round.filter((w) => w.phase === "personal")) {
      if (!(await personalStep(store, work, cutoffs, limits, result))) {
        stoppedAt = work;
        break;
      }
    }
    if (stoppedAt) {
      next = stoppedAt.shard;
      break;
    }
    active = active.filter((w) => w.phase !== "done");
  }
  result.done = active.length === 0;
  await saveRotationStart(controlDb(store), next, cutoffs.now);
  return result;
}

/** One batch: rows that may leave, and ended same-device windows, in one shard. */
async function leaveStep(
  work: ShardWork,
  cutoffs: PurgeCutoffs,
  { leaveBatchSize, batchSize }: PurgeLimits,
  result: PurgeResult,
): Promise<void> {
  const { removed, cleared } = await removeLeavingInvites(
    work.db,
    cutoffs,
    leaveBatchSize,
    batchSize,
  );
  result.batches += 1;
  result.removed += removed;
  result.deviceHashesCleared += cleared;
  if (removed < leaveBatchSize && cleared < batchSize) work.phase = "personal";
}

/**
 * One personal-data batch in one shard; false (nothing done) when what is left of the budget
 * cannot pay for its KV deletes and write.
 */
async function personalStep(
  store: Store,
  work: ShardWork,
  cutoffs: PurgeCutoffs,
  { batchSize }: PurgeLimits,
  result: PurgeResult,
): Promise<boolean> {
  const due = await findInvitesToPurge(work.db, cutoffs.issuedBefore, batchSize);
  result.batches += 1;
  if (due.length === 0) {
    work.phase = "done";
    return true;
  }
  // KV first (marks, and tokens of links issued before tokens moved into the ledger): if a
  // delete fails the run fails before the ledger forgets which links are still live.
  const live = due.filter((invite) => invite.expires_at > cutoffs.now).map((invite) => invite.id);
  if (store.limits.remaining < live.length + 1 + SAVE_CALLS) return false;
  await forgetLinks(store, live);
  result.linksDeleted += live.length;
  result.purged += await purgePersonalData(
    work.db,
    due.map((invite) => invite.id),
    cutoffs.now,
  );
  if (due.length < batchSize) work.phase = "done";
  return true;
}
