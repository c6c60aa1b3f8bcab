/**
 * Where each survey's response export stands, in the control database: the continuation token
 * the next export starts from, an export started but not read yet (so a later run reads it), and
 * the newest response read so far (where an export starts again when the token is refused).
 */

export interface ExportState {
  survey_id: string;
  continuation_token: string | null;
  progress_id: string | null;
  progress_started_at: number | null;
  last_recorded_at: number | null;
}

export async function getExportState(
  db: D1Database,
  surveyId: string,
): Promise<ExportState | null> {
  return db
    .prepare(
      `SELECT survey_id, continuation_token, progress_id, progress_started_at, last_recorded_at
       FROM reconcile_exports WHERE survey_id = ?`,
    )
    .bind(surveyId)
    .first<ExportState>();
}

/**
 * An export was started (kept so that a later run reads it if this one stops before), or
 * forgotten (`progressId` null). `forgetToken`: it started from a date because Qualtrics refused
 * the stored continuation token, which is dropped so that it is never sent again.
 */
export async function saveExportProgress(
  db: D1Database,
  entry: { surveyId: string; progressId: string | null; at: number; forgetToken?: boolean },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO reconcile_exports (survey_id, progress_id, progress_started_at)
       VALUES (?1, ?2, ?3)
       ON CONFLICT (survey_id) DO UPDATE SET progress_id = excluded.progress_id,
         progress_started_at = excluded.progress_started_at,
         continuation_token = CASE WHEN ?4 THEN NULL ELSE continuation_token END`,
    )
    .bind(
      entry.surveyId,
      entry.progressId,
      entry.progressId === null ? null : entry.at,
      entry.forgetToken ? 1 : 0,
    )
    .run();
}

/**
 * Moves a survey's export position on once its responses were recorded in every shard: a run
 * that stops before this reads the same responses again next time (recording is idempotent).
 */
export async function advanceExport(
  db: D1Database,
  entry: {
    surveyId: string;
    continuationToken: string | null;
    responsesRead: number;
    lastRecordedAt: number | null;
    at: number;
  },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO reconcile_exports (survey_id, continuation_token, progress_id,
         progress_started_at, read_at, responses_read, last_recorded_at)
       VALUES (?1, ?2, NULL, NULL, ?3, ?4, ?5)
       ON CONFLICT (survey_id) DO UPDATE SET
         continuation_token = COALESCE(excluded.continuation_token, continuation_token),
         progress_id = NULL, progress_started_at = NULL, read_at = excluded.read_at,
         responses_read = responses_read + excluded.responses_read,
         last_recorded_at = MAX(COALESCE(last_recorded_at, 0),
           COALESCE(excluded.last_recorded_at, 0))`,
    )
    .bind(
      entry.surveyId,
      entry.continuationToken,
      entry.at,
      entry.responsesRead,
      entry.lastRecordedAt,
    )
    .run();
}
