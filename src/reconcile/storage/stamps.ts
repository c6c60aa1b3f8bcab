/**
 * Stamping responses across shards: the invites whose response still needs the signed values,
 * and the update-responses jobs that carry them. A job is recorded in the control database before
 * its invites point at it, and its invites are settled in their shards before the job is ended;
 * a stamp sent twice writes the same values, so the only cost of a crash is a repeated stamp.
 */

import { controlDb, onEveryShard, onShardsHolding, type Store } from "../../store/store";
import { inviteIdShard } from "../../tokens/ids";
import {
  clearStampRef,
  endStampJob,
  insertStampJob,
  markStamped,
  type StampCandidate,
  selectStampCandidatesInShard,
  setStampRef,
} from "./stamp-rows";

/**
 * Per survey, its completed invites not stamped yet over all shards (one statement per shard for
 * every survey), oldest completion first, at most `limit` each.
 */
export async function selectStampCandidates(
  store: Store,
  surveys: readonly string[],
  limit: number,
): Promise<Map<string, StampCandidate[]>> {
  const bySurvey = new Map<string, StampCandidate[]>();
  if (surveys.length === 0) return bySurvey;
  const perShard = await onEveryShard(store, (db) =>
    selectStampCandidatesInShard(db, surveys, limit),
  );
  for (const candidate of perShard.flat()) {
    const list = bySurvey.get(candidate.survey) ?? [];
    list.push(candidate);
    bySurvey.set(candidate.survey, list);
  }
  for (const [survey, list] of bySurvey) {
    const oldestFirst = list.sort(
      (a, b) => a.completed_at - b.completed_at || (a.id < b.id ? -1 : 1),
    );
    bySurvey.set(survey, oldestFirst.slice(0, limit));
  }
  return bySurvey;
}

export async function recordStampJob(
  store: Store,
  job: { progressId: string; surveyId: string; runId: string; inviteIds: string[]; at: number },
): Promise<void> {
  await insertStampJob(controlDb(store), { ...job, updates: job.inviteIds.length });
  await onShardsHolding(store, job.inviteIds, inviteIdShard, (db, held) =>
    setStampRef(db, job.progressId, held),
  );
}

/** The job completed: its invites are stamped. Returns how many. */
export async function completeStampJob(
  store: Store,
  progressId: string,
  at: number,
): Promise<number> {
  const stamped = await onEveryShard(store, (db) => markStamped(db, progressId, at));
  await endStampJob(controlDb(store), progressId, "complete", at);
  return stamped.reduce((sum, n) => sum + n, 0);
}

/** The job failed (or Qualtrics lost it): its invites will be stamped by a later job. */
export async function failStampJob(store: Store, progressId: string, at: number): Promise<void> {
  await onEveryShard(store, (db) => clearStampRef(db, progressId));
  await endStampJob(controlDb(store), progressId, "failed", at);
}
