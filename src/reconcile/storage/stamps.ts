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
  listOpenStampJobs,
  markJobStampsRefused,
  markStamped,
  markStampsRefused,
  type StampCandidate,
  selectStampCandidatesInShard,
  setStampRef,
} from "./stamp-rows";

export type { StampCandidate };

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

/** Update jobs not finished yet, oldest first (this run's and earlier ones'). */
export function openStampJobs(store: Store) {
  return listOpenStampJobs(controlDb(store));
}

/** Qualtrics refused these invites' stamps: each keeps its reason and is not sent again. */
export async function refuseStamps(
  store: Store,
  refusals: readonly { id: string; reason: string }[],
): Promise<void> {
  await onShardsHolding(
    store,
    refusals,
    (r) => inviteIdShard(r.id),
    (db, held) => markStampsRefused(db, held),
  );
}

/**
 * The job completed: its invites are stamped, except those whose responses its errors named,
 * which are refused. Returns how many were stamped, and the refused invites with their reasons.
 */
export async function completeStampJob(
  store: Store,
  progressId: string,
  refusedResponses: readonly { responseId: string; reason: string }[],
  at: number,
): Promise<{ stamped: number; refused: { id: string; reason: string }[] }> {
  const refused =
    refusedResponses.length === 0
      ? []
      : (
          await onEveryShard(store, (db) => markJobStampsRefused(db, progressId, refusedResponses))
        ).flat();
  const stamped = await onEveryShard(store, (db) => markStamped(db, progressId, at));
  await endStampJob(controlDb(store), progressId, "complete", at);
  return { stamped: stamped.reduce((sum, n) => sum + n, 0), refused };
}

/** The job failed (or Qualtrics lost it): its invites will be stamped by a later job. */
export async function failStampJob(store: Store, progressId: string, at: number): Promise<void> {
  await onEveryShard(store, (db) => clearStampRef(db, progressId));
  await endStampJob(controlDb(store), progressId, "failed", at);
}
