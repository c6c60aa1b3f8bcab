/**
 * The erasure requests (table privacy_erasures, control database): the audit trail, and the
 * state that lets a retried erasure continue the same record. While an erasure runs its row
 * holds a keyed hash of the customer id (`subject`) and the invites erased so far; both are
 * cleared in the statement that marks it done, so a finished row says only when, which key and
 * how many.
 */

export const ERASURE_STATUSES = ["running", "done"] as const;
type ErasureStatus = (typeof ERASURE_STATUSES)[number];

export interface ErasureRow {
  id: string;
  api_key_id: string;
  status: ErasureStatus;
  requested_at: number;
  updated_at: number;
  finished_at: number | null;
  attempts: number;
  erased: number;
  pushed: number;
}

/** The invites a running erasure has recorded, and those of them pushed to Qualtrics. */
const RECORDED = "(SELECT COUNT(*) FROM json_each(invites))";
const RECORDED_PUSHED = "(SELECT COUNT(*) FROM json_each(invites) WHERE value ->> '$.pushed')";

/** A running erasure counts the invites recorded so far. */
const ROW_COLUMNS = `id, api_key_id, status, requested_at, updated_at, finished_at, attempts,
  CASE status WHEN 'running' THEN ${RECORDED} ELSE erased END AS erased,
  CASE status WHEN 'running' THEN ${RECORDED_PUSHED} ELSE pushed END AS pushed`;

/** What an erasure keeps of an invite while it runs (its `invites` object, by invite id). */
export interface RecordedInvite {
  survey: string;
  pushed: boolean;
  /** Absent when the invite had no response (a JSON merge patch drops nulls). */
  responseId?: string;
  /** Its duplicate responses (second answers), when it had any. */
  duplicateResponseIds?: string[];
}

/**
 * The id of the running erasure of this subject, started now when there is none (then with
 * `id` and `apiKeyId`); a retry or a concurrent request for the same customer gets the same row.
 */
export async function openErasure(
  db: D1Database,
  erasure: { id: string; apiKeyId: string; subject: string; at: number },
): Promise<string> {
  const row = await db
    .prepare(
      `INSERT INTO privacy_erasures (id, api_key_id, status, requested_at, updated_at, subject,
         invites)
       VALUES (?1, ?2, 'running', ?3, ?3, ?4, '{}')
       ON CONFLICT (subject) WHERE subject IS NOT NULL
         DO UPDATE SET attempts = attempts + 1, updated_at = excluded.updated_at
       RETURNING id`,
    )
    .bind(erasure.id, erasure.apiKeyId, erasure.at, erasure.subject)
    .first<{ id: string }>();
  if (!row) throw new Error("opening an erasure returned no row");
  return row.id;
}

/**
 * Adds invites to a running erasure (an invite recorded again takes its newer state). Returns
 * false when the erasure is no longer running (a concurrent request finished it).
 */
export async function recordErasedInvites(
  db: D1Database,
  erasureId: string,
  invites: Record<string, RecordedInvite>,
  at: number,
): Promise<boolean> {
  const { meta } = await db
    .prepare(
      `UPDATE privacy_erasures SET invites = json_patch(invites, ?2), updated_at = ?3
       WHERE id = ?1 AND status = 'running'`,
    )
    .bind(erasureId, JSON.stringify(invites), at)
    .run();
  return meta.changes === 1;
}

interface FinishedErasure {
  row: ErasureRow;
  /** The invites it erased; empty when another request had already finished it. */
  invites: Record<string, RecordedInvite>;
}

/**
 * Marks an erasure done: the counts are taken from its recorded invites, and the subject and
 * the invites are cleared in the same statement. One transaction with the read of the invites.
 */
export async function finishErasure(
  db: D1Database,
  erasureId: string,
  at: number,
): Promise<FinishedErasure | null> {
  const [recorded, , finished] = await db.batch([
    db
      .prepare("SELECT invites FROM privacy_erasures WHERE id = ?1 AND status = 'running'")
      .bind(erasureId),
    db
      .prepare(
        `UPDATE privacy_erasures SET status = 'done', finished_at = ?2, updated_at = ?2,
           erased = ${RECORDED}, pushed = ${RECORDED_PUSHED},
           subject = NULL, invites = NULL
         WHERE id = ?1 AND status = 'running'`,
      )
      .bind(erasureId, at),
    db.prepare(`SELECT ${ROW_COLUMNS} FROM privacy_erasures WHERE id = ?1`).bind(erasureId),
  ]);
  const row = (finished?.results[0] as ErasureRow | undefined) ?? null;
  if (!row) return null;
  const json = (recorded?.results[0] as { invites: string | null } | undefined)?.invites;
  return { row, invites: json ? (JSON.parse(json) as Record<string, RecordedInvite>) : {} };
}

/** Erasures newest first, before `before` (requested_at, id) when given. */
export async function listErasures(
  db: D1Database,
  before: { requestedAt: number; id: string } | null,
  limit: number,
): Promise<ErasureRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${ROW_COLUMNS} FROM privacy_erasures
       WHERE requested_at < ?1 OR (requested_at = ?1 AND id < ?2)
       ORDER BY requested_at DESC, id DESC LIMIT ?3`,
    )
    .bind(before?.requestedAt ?? Number.MAX_SAFE_INTEGER, before?.id ?? "", limit)
    .all<ErasureRow>();
  return results;
}

export async function getErasure(db: D1Database, id: string): Promise<ErasureRow | null> {
  return db
    .prepare(`SELECT ${ROW_COLUMNS} FROM privacy_erasures WHERE id = ?1`)
    .bind(id)
    .first<ErasureRow>();
}
