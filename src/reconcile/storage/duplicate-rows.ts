/**
 * Duplicate responses in one shard: finished responses to an invite another response already
 * completed (migration 0016). Each is recorded once (its response id is the key) and stamped
 * `invite_duplicate` = "1" like an invite's own response, with the same job states: `stamp_ref`
 * names the job carrying it, `stamped_at` when done, `stamp_refused` why Qualtrics refused it.
 */
import type { AwaitingInvite } from "./completion-rows";

/** A completed invite with the values its responses are checked against. */
export interface CompletedInvite extends AwaitingInvite {
  response_id: string;
}

/** Of `ids`, the invites of `survey` already completed, with the response that completed them. */
export async function selectCompletedInvites(
  db: D1Database,
  survey: string,
  ids: readonly string[],
): Promise<CompletedInvite[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT id, customer_ref, transaction_id, trigger, embedded_data, response_id FROM invites
       WHERE id IN (SELECT value FROM json_each(?1)) AND survey = ?2
         AND completed_at IS NOT NULL AND response_id IS NOT NULL`,
    )
    .bind(JSON.stringify(ids), survey)
    .all<CompletedInvite>();
  return results;
}

export interface DuplicateResponse {
  responseId: string;
  inviteId: string;
  tampered: 0 | 1;
}

/** Records duplicates; one already recorded (an export read twice) is left as it is. */
export async function insertDuplicates(
  db: D1Database,
  survey: string,
  duplicates: readonly DuplicateResponse[],
  at: number,
): Promise<number> {
  const { meta } = await db
    .prepare(
      `INSERT INTO duplicate_responses (response_id, invite_id, survey, tampered, found_at)
       SELECT d.value ->> '$.responseId', d.value ->> '$.inviteId', ?2,
              d.value ->> '$.tampered', ?3
       FROM json_each(?1) AS d
       WHERE true
       ON CONFLICT (response_id) DO NOTHING`,
    )
    .bind(JSON.stringify(duplicates), survey, at)
    .run();
  return meta.changes;
}

/** A duplicate waiting for its stamp, with its invite's values (kept until the invite is purged). */
export interface DuplicateStampCandidate {
  response_id: string;
  id: string;
  survey: string;
  tampered: 0 | 1;
  customer_ref: string;
  transaction_id: string;
  trigger: string;
  embedded_data: string;
}

/**
 * The statements of this shard's duplicates' stamps, run in the same call as the invites' own
 * (stamp-rows.ts): the candidates, then each step of a job.
 */
export function duplicateStampStatements(db: D1Database) {
  return {
    /** Per survey, up to `limit` duplicates not stamped yet, oldest first. */
    candidates: (surveys: readonly string[], limit: number) =>
      db
        .prepare(
          `SELECT response_id, id, survey, tampered, customer_ref, transaction_id, trigger,
                  embedded_data
           FROM (
             SELECT d.response_id, d.invite_id AS id, d.survey, d.tampered, i.customer_ref,
                    i.transaction_id, i.trigger, i.embedded_data,
                    ROW_NUMBER() OVER (PARTITION BY d.survey ORDER BY d.found_at, d.response_id) AS n
             FROM duplicate_responses AS d JOIN invites AS i ON i.id = d.invite_id
             WHERE d.survey IN (SELECT value FROM json_each(?1)) AND d.stamped_at IS NULL
               AND d.stamp_ref IS NULL AND d.stamp_refused IS NULL
               AND i.customer_ref IS NOT NULL AND i.embedded_data IS NOT NULL
           )
           WHERE n <= ?2`,
        )
        .bind(JSON.stringify(surveys), limit),
    setRef: (progressId: string, responseIds: readonly string[]) =>
      db
        .prepare(
          `UPDATE duplicate_responses SET stamp_ref = ?1
           WHERE response_id IN (SELECT value FROM json_each(?2)) AND stamped_at IS NULL`,
        )
        .bind(progressId, JSON.stringify(responseIds)),
    stamped: (progressId: string, at: number) =>
      db
        .prepare(
          `UPDATE duplicate_responses SET stamped_at = ?2
           WHERE stamp_ref = ?1 AND stamped_at IS NULL`,
        )
        .bind(progressId, at),
    refused: (refusals: readonly { responseId: string; reason: string }[]) =>
      db
        .prepare(
          `UPDATE duplicate_responses SET stamp_refused = r.value ->> '$.reason', stamp_ref = NULL
           FROM json_each(?1) AS r
           WHERE duplicate_responses.response_id = r.value ->> '$.responseId'
             AND duplicate_responses.stamped_at IS NULL
           RETURNING duplicate_responses.invite_id AS id, duplicate_responses.stamp_refused AS reason`,
        )
        .bind(JSON.stringify(refusals)),
    jobRefused: (progressId: string, refusals: readonly { responseId: string; reason: string }[]) =>
      db
        .prepare(
          `UPDATE duplicate_responses SET stamp_refused = r.value ->> '$.reason', stamp_ref = NULL
           FROM json_each(?2) AS r
           WHERE duplicate_responses.stamp_ref = ?1
             AND duplicate_responses.response_id = r.value ->> '$.responseId'
             AND duplicate_responses.stamped_at IS NULL
           RETURNING duplicate_responses.invite_id AS id, duplicate_responses.stamp_refused AS reason`,
        )
        .bind(progressId, JSON.stringify(refusals)),
    clearRef: (progressId: string) =>
      db
        .prepare(
          `UPDATE duplicate_responses SET stamp_ref = NULL
           WHERE stamp_ref = ?1 AND stamped_at IS NULL`,
        )
        .bind(progressId),
  };
}
