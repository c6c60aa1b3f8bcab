/**
 * Stamping responses: the update-responses jobs in the control database, and each invite's stamp
 * state on its row in its shard (`stamp_ref` names the job carrying it, `stamped_at` when done,
 * `stamp_refused` why Qualtrics refused it: such an invite is not sent again until cleared).
 * A job may also carry duplicate responses' stamps (duplicate-rows.ts): settling a job settles
 * both in the same call per shard.
 */
import { type DuplicateStampCandidate, duplicateStampStatements } from "./duplicate-rows";

const STAMP_JOB_STATUSES = ["inProgress", "complete", "failed"] as const;
type StampJobStatus = (typeof STAMP_JOB_STATUSES)[number];

export interface StampCandidate {
  id: string;
  survey: string;
  response_id: string;
  customer_ref: string;
  transaction_id: string;
  trigger: string;
  embedded_data: string;
  tampered: 0 | 1;
  completed_at: number;
}

/**
 * Per survey, up to `limit` completed invites whose response was not stamped yet (and whose data
 * remains), oldest completion first, and up to `limit` duplicate responses waiting for theirs:
 * one call for every survey.
 */
export async function selectStampCandidatesInShard(
  db: D1Database,
  surveys: readonly string[],
  limit: number,
): Promise<{ invites: StampCandidate[]; duplicates: DuplicateStampCandidate[] }> {
  const [invites, duplicates] = await db.batch<StampCandidate | DuplicateStampCandidate>([
    db
      .prepare(
        `SELECT id, survey, response_id, customer_ref, transaction_id, trigger, embedded_data,
                tampered, completed_at
         FROM (
           SELECT *, ROW_NUMBER() OVER (PARTITION BY survey ORDER BY completed_at, id) AS n
           FROM invites
           WHERE survey IN (SELECT value FROM json_each(?1)) AND completed_at IS NOT NULL
             AND stamped_at IS NULL AND stamp_ref IS NULL AND response_id IS NOT NULL
             AND stamp_refused IS NULL AND tampered IS NOT NULL AND customer_ref IS NOT NULL
             AND embedded_data IS NOT NULL
         )
         WHERE n <= ?2`,
      )
      .bind(JSON.stringify(surveys), limit),
    duplicateStampStatements(db).candidates(surveys, limit),
  ]);
  return {
    invites: (invites?.results ?? []) as StampCandidate[],
    duplicates: (duplicates?.results ?? []) as DuplicateStampCandidate[],
  };
}

/** A started update-responses job, recorded before its invites point at it. */
export async function insertStampJob(
  db: D1Database,
  job: { progressId: string; surveyId: string; runId: string; updates: number; at: number },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO reconcile_stamp_jobs (progress_id, survey_id, run_id, status, updates,
         created_at)
       VALUES (?1, ?2, ?3, 'inProgress', ?4, ?5)`,
    )
    .bind(job.progressId, job.surveyId, job.runId, job.updates, job.at)
    .run();
}

/** Points invites at the job that carries their stamp. */
export async function setStampRef(
  db: D1Database,
  progressId: string,
  ids: readonly string[],
): Promise<void> {
  await db
    .prepare(
      `UPDATE invites SET stamp_ref = ?1
       WHERE id IN (SELECT value FROM json_each(?2)) AND stamped_at IS NULL`,
    )
    .bind(progressId, JSON.stringify(ids))
    .run();
}

interface OpenStampJob {
  progress_id: string;
  survey_id: string;
}

export async function listOpenStampJobs(db: D1Database): Promise<OpenStampJob[]> {
  const { results } = await db
    .prepare(
      `SELECT progress_id, survey_id FROM reconcile_stamp_jobs
       WHERE status = 'inProgress' ORDER BY created_at, progress_id`,
    )
    .all<OpenStampJob>();
  return results;
}

/** The job completed: its invites and duplicates (in this shard) are stamped. Returns how many. */
export async function markStamped(db: D1Database, progressId: string, at: number): Promise<number> {
  const [invites, duplicates] = await db.batch([
    db
      .prepare(
        `UPDATE invites SET stamped_at = ?2
         WHERE stamp_ref = ?1 AND completed_at IS NOT NULL AND stamped_at IS NULL`,
      )
      .bind(progressId, at),
    duplicateStampStatements(db).stamped(progressId, at),
  ]);
  return (invites?.meta.changes ?? 0) + (duplicates?.meta.changes ?? 0);
}

/** Qualtrics refused these invites' stamps (a chunk split down to each of them). */
export async function markStampsRefused(
  db: D1Database,
  refusals: readonly { id: string; reason: string }[],
): Promise<void> {
  await db
    .prepare(
      `UPDATE invites SET stamp_refused = r.value ->> '$.reason', stamp_ref = NULL
       FROM json_each(?1) AS r
       WHERE invites.id = r.value ->> '$.id' AND invites.stamped_at IS NULL`,
    )
    .bind(JSON.stringify(refusals))
    .run();
}

/**
 * A completed job reported errors naming responses: those invites and duplicates of the job (in
 * this shard) are refused, with the error as reason. Returns their invites' ids.
 */
export async function markJobStampsRefused(
  db: D1Database,
  progressId: string,
  refusals: readonly { responseId: string; reason: string }[],
): Promise<{ id: string; reason: string }[]> {
  const results = await db.batch<{ id: string; reason: string }>([
    db
      .prepare(
        `UPDATE invites SET stamp_ref = NULL, stamp_refused = (
           SELECT value ->> '$.reason' FROM json_each(?2)
           WHERE value ->> '$.responseId' = invites.response_id LIMIT 1)
         WHERE stamp_ref = ?1 AND stamped_at IS NULL
           AND response_id IN (SELECT value ->> '$.responseId' FROM json_each(?2))
         RETURNING invites.id AS id, invites.stamp_refused AS reason`,
      )
      .bind(progressId, JSON.stringify(refusals)),
    duplicateStampStatements(db).jobRefused(progressId, refusals),
  ]);
  return results.flatMap((r) => r.results);
}

/** The job failed or is gone: its invites and duplicates (in this shard) wait for a later job. */
export async function clearStampRef(db: D1Database, progressId: string): Promise<void> {
  await db.batch([
    db
      .prepare(
        `UPDATE invites SET stamp_ref = NULL
         WHERE stamp_ref = ?1 AND completed_at IS NOT NULL AND stamped_at IS NULL`,
      )
      .bind(progressId),
    duplicateStampStatements(db).clearRef(progressId),
  ]);
}

/** Ends a job once its invites were settled in every shard. */
export async function endStampJob(
  db: D1Database,
  progressId: string,
  status: Exclude<StampJobStatus, "inProgress">,
  at: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE reconcile_stamp_jobs SET status = ?2, finished_at = ?3
       WHERE progress_id = ?1 AND status = 'inProgress'`,
    )
    .bind(progressId, status, at)
    .run();
}
