/**
 * Stamping responses across shards: the invites whose response still needs the signed values,
 * and the update-responses jobs that carry them. A job is recorded in the control database before
 * its invites point at it, and its invites are settled in their shards before the job is ended;
 * a stamp sent twice writes the same values, so the only cost of a crash is a repeated stamp.
 */

import { controlDb, onEveryShard, onShardsHolding, type Store } from "../../store/store";
import { inviteIdShard } from "../../tokens/ids";
import { type DuplicateStampCandidate, duplicateStampStatements } from "./duplicate-rows";
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

/** What a stamp writes to: an invite's own response, or a duplicate response to it. */
export interface StampTarget {
  inviteId: string;
  responseId: string;
  duplicate: boolean;
}

/** One survey's stamps to send: its invites' own responses, then duplicate responses. */
export interface SurveyStampCandidates {
  invites: StampCandidate[];
  duplicates: DuplicateStampCandidate[];
}

/**
 * Per survey, its completed invites not stamped yet over all shards (one call per shard for
 * every survey), oldest completion first, at most `limit` each; and as many duplicates.
 */
export async function selectStampCandidates(
  store: Store,
  surveys: readonly string[],
  limit: number,
): Promise<Map<string, SurveyStampCandidates>> {
  const bySurvey = new Map<string, SurveyStampCandidates>();
  if (surveys.length === 0) return bySurvey;
  const perShard = await onEveryShard(store, (db) =>
    selectStampCandidatesInShard(db, surveys, limit),
  );
  const forSurvey = (survey: string) => {
    const found = bySurvey.get(survey) ?? { invites: [], duplicates: [] };
    bySurvey.set(survey, found);
    return found;
  };
  for (const shard of perShard) {
    for (const invite of shard.invites) forSurvey(invite.survey).invites.push(invite);
    for (const duplicate of shard.duplicates)
      forSurvey(duplicate.survey).duplicates.push(duplicate);
  }
  for (const found of bySurvey.values()) {
    found.invites.sort((a, b) => a.completed_at - b.completed_at || (a.id < b.id ? -1 : 1));
    found.invites.splice(limit);
    found.duplicates.splice(limit);
  }
  return bySurvey;
}

export async function recordStampJob(
  store: Store,
  job: { progressId: string; surveyId: string; runId: string; targets: StampTarget[]; at: number },
): Promise<void> {
  await insertStampJob(controlDb(store), { ...job, updates: job.targets.length });
  await onShardsHolding(
    store,
    job.targets,
    (t) => inviteIdShard(t.inviteId),
    async (db, held) => {
      const invites = held.filter((t) => !t.duplicate).map((t) => t.inviteId);
      const duplicates = held.filter((t) => t.duplicate).map((t) => t.responseId);
      if (invites.length > 0) await setStampRef(db, job.progressId, invites);
      if (duplicates.length > 0) {
        await duplicateStampStatements(db).setRef(job.progressId, duplicates).run();
      }
    },
  );
}

/** Update jobs not finished yet, oldest first (this run's and earlier ones'). */
export function openStampJobs(store: Store) {
  return listOpenStampJobs(controlDb(store));
}

/** Qualtrics refused these stamps: each keeps its reason and is not sent again. */
export async function refuseStamps(
  store: Store,
  refusals: readonly { target: StampTarget; reason: string }[],
): Promise<void> {
  await onShardsHolding(
    store,
    refusals,
    (r) => inviteIdShard(r.target.inviteId),
    async (db, held) => {
      const invites = held.filter((r) => !r.target.duplicate);
      const duplicates = held.filter((r) => r.target.duplicate);
      if (invites.length > 0) {
        await markStampsRefused(
          db,
          invites.map((r) => ({ id: r.target.inviteId, reason: r.reason })),
        );
      }
      if (duplicates.length > 0) {
        const byResponse = duplicates.map((r) => ({
          responseId: r.target.responseId,
          reason: r.reason,
        }));
        await duplicateStampStatements(db).refused(byResponse).run();
      }
    },
  );
}

/**
 * The job completed: its invites and duplicates are stamped, except those whose responses its
 * errors named, which are refused. Returns how many were stamped, and the refused invites with their reasons.
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
