/**
 * Reconcile state in D1: the run records, the lease, the imports that push invites into XM
 * Directory, the export position per survey and the jobs that stamp responses. The only place
 * reconcile SQL lives (see migrations/0003_reconcile.sql for the states).
 *
 * Invariant: an invite is reserved by at most one import (one conditional UPDATE), marked pushed
 * only by its own import once that import reached 100% and its index is not unprocessed, and
 * queued again only when its import was certainly not done (or an operator says so).
 */

const LEASE = "reconcile";

// ---------- lease ----------

export type LeaseResult =
  | { acquired: true }
  | { acquired: false; holder: string | null; expiresAt: number | null };

/** Takes the lease when it is free or expired; one statement, so two runs cannot both win. */
export async function acquireLease(
  db: D1Database,
  holder: string,
  now: number,
  ttlMs: number,
): Promise<LeaseResult> {
  const won = await db
    .prepare(
      `INSERT INTO reconcile_lease (name, holder, expires_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE reconcile_lease.expires_at <= ?4
       RETURNING holder`,
    )
    .bind(LEASE, holder, now + ttlMs, now)
    .first<{ holder: string }>();
  if (won) return { acquired: true };
  const current = await db
    .prepare("SELECT holder, expires_at FROM reconcile_lease WHERE name = ?")
    .bind(LEASE)
    .first<{ holder: string; expires_at: number }>();
  return {
    acquired: false,
    holder: current?.holder ?? null,
    expiresAt: current?.expires_at ?? null,
  };
}

/** Extends the lease; false when this holder lost it (it expired and another run took it). */
export async function renewLease(
  db: D1Database,
  holder: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const row = await db
    .prepare(
      "UPDATE reconcile_lease SET expires_at = ?3 WHERE name = ?1 AND holder = ?2 RETURNING holder",
    )
    .bind(LEASE, holder, now + ttlMs)
    .first();
  return row !== null;
}

export async function releaseLease(db: D1Database, holder: string): Promise<void> {
  await db
    .prepare("DELETE FROM reconcile_lease WHERE name = ? AND holder = ?")
    .bind(LEASE, holder)
    .run();
}

// ---------- runs ----------

export type RunStatus = "running" | "ok" | "failed" | "skipped" | "abandoned";

export interface RunRow {
  id: string;
  trigger: string;
  status: RunStatus;
  started_at: number;
  finished_at: number | null;
  imports: number;
  pushed: number;
  unprocessed: number;
  completions: number;
  tampered: number;
  stamped: number;
  on_hold: number;
  qualtrics_calls: number;
  error: string | null;
  /** JSON array of the run's notices (src/qualtrics/run-notices.ts), null when none. */
  notices: string | null;
}

export interface RunCounts {
  imports: number;
  pushed: number;
  unprocessed: number;
  completions: number;
  tampered: number;
  stamped: number;
  onHold: number;
  qualtricsCalls: number;
}

/** A run that did nothing (skipped, or failed before starting), recorded in one statement. */
export async function insertFinishedRun(
  db: D1Database,
  run: { id: string; trigger: string; status: RunStatus; at: number; error: string },
): Promise<RunRow> {
  const row = await db
    .prepare(
      `INSERT INTO reconcile_runs (id, trigger, status, started_at, finished_at, error)
       VALUES (?1, ?2, ?3, ?4, ?4, ?5) RETURNING *`,
    )
    .bind(run.id, run.trigger, run.status, run.at, run.error)
    .first<RunRow>();
  if (!row) throw new Error("INSERT … RETURNING gave no row");
  return row;
}

/**
 * Records a run as started. Runs still marked running belong to runs that died: only the lease
 * holder starts a run, so they are marked abandoned, naming the run that took over.
 */
export async function startRun(
  db: D1Database,
  run: { id: string; trigger: string; at: number },
): Promise<void> {
  await db.batch([
    db
      .prepare(
        `UPDATE reconcile_runs SET status = 'abandoned', finished_at = ?2,
           error = 'stopped before finishing (killed or timed out); ' || ?1 || ' took over'
         WHERE status = 'running'`,
      )
      .bind(run.id, run.at),
    db
      .prepare(
        "INSERT INTO reconcile_runs (id, trigger, status, started_at) VALUES (?, ?, 'running', ?)",
      )
      .bind(run.id, run.trigger, run.at),
  ]);
}

export async function finishRun(
  db: D1Database,
  run: {
    id: string;
    status: RunStatus;
    at: number;
    error: string | null;
    counts: RunCounts;
    notices: string | null;
  },
  pruneBefore: number,
): Promise<RunRow> {
  const c = run.counts;
  const [, finished] = await db.batch<RunRow>([
    db.prepare("DELETE FROM reconcile_runs WHERE started_at < ?").bind(pruneBefore),
    db
      .prepare(
        `UPDATE reconcile_runs SET status = ?2, finished_at = ?3, error = ?4, imports = ?5,
           pushed = ?6, unprocessed = ?7, completions = ?8, tampered = ?9, stamped = ?10,
           on_hold = ?11, qualtrics_calls = ?12, notices = ?13
         WHERE id = ?1 RETURNING *`,
      )
      .bind(
        run.id,
        run.status,
        run.at,
        run.error,
        c.imports,
        c.pushed,
        c.unprocessed,
        c.completions,
        c.tampered,
        c.stamped,
        c.onHold,
        c.qualtricsCalls,
        run.notices,
      ),
  ]);
  const row = finished?.results[0];
  if (!row) throw new Error(`run ${run.id} is not recorded`);
  return row;
}

export async function listRuns(db: D1Database, limit: number): Promise<RunRow[]> {
  const { results } = await db
    .prepare("SELECT * FROM reconcile_runs ORDER BY started_at DESC, id DESC LIMIT ?")
    .bind(limit)
    .all<RunRow>();
  return results;
}

// ---------- pushing invites ----------

/** What a transaction in XM Directory carries about an invite (no embedded data: less personal data). */
export interface PushCandidate {
  id: string;
  survey: string;
  customer_ref: string;
  trigger: string;
  channel: string | null;
  issued_at: number;
  expires_at: number;
  consumed_at: number | null;
  revoked_at: number | null;
}

/** Queued invites, oldest first; ones Qualtrics refused `maxAttempts` times are left out. */
export async function selectPushCandidates(
  db: D1Database,
  limit: number,
  maxAttempts: number,
): Promise<PushCandidate[]> {
  const { results } = await db
    .prepare(
      `SELECT id, survey, customer_ref, trigger, channel, issued_at, expires_at, consumed_at,
              revoked_at
       FROM invites
       WHERE pushed_at IS NULL AND push_ref IS NULL AND customer_ref IS NOT NULL
         AND push_attempts < ?2
       ORDER BY issued_at, id LIMIT ?1`,
    )
    .bind(limit, maxAttempts)
    .all<PushCandidate>();
  return results;
}

/**
 * Records an import as `sending` and reserves its invites, in one transaction, before anything is
 * sent. Returns the invites actually reserved, in the given order (fewer only if another run
 * reserved some meanwhile; the import row is then corrected to list exactly those).
 */
export async function reserveInvitesForImport(
  db: D1Database,
  entry: { id: string; runId: string; batchId: string; inviteIds: string[]; at: number },
): Promise<string[]> {
  const ids = JSON.stringify(entry.inviteIds);
  const [, reserved] = await db.batch<{ id: string }>([
    db
      .prepare(
        `INSERT INTO reconcile_imports (id, run_id, batch_id, status, invite_ids, contacts,
           created_at, updated_at)
         VALUES (?1, ?2, ?3, 'sending', ?4, ?5, ?6, ?6)`,
      )
      .bind(entry.id, entry.runId, entry.batchId, ids, entry.inviteIds.length, entry.at),
    db
      .prepare(
        `UPDATE invites SET push_ref = ?1
         WHERE id IN (SELECT value FROM json_each(?2)) AND pushed_at IS NULL AND push_ref IS NULL
         RETURNING id`,
      )
      .bind(entry.id, ids),
  ]);
  const got = new Set((reserved?.results ?? []).map((r) => r.id));
  if (got.size === entry.inviteIds.length) return entry.inviteIds;
  const kept = entry.inviteIds.filter((id) => got.has(id));
  if (kept.length === 0) {
    await db.prepare("DELETE FROM reconcile_imports WHERE id = ?").bind(entry.id).run();
  } else {
    await db
      .prepare("UPDATE reconcile_imports SET invite_ids = ?2, contacts = ?3 WHERE id = ?1")
      .bind(entry.id, JSON.stringify(kept), kept.length)
      .run();
  }
  return kept;
}

/** Qualtrics answered the import with its id: the invites wait for the import to reach 100%. */
export async function markImportAccepted(
  db: D1Database,
  id: string,
  qualtricsImportId: string,
  unprocessed: number[],
  at: number,
): Promise<void> {
  // From `unknown` too: a run that outlived its lease may still learn the answer.
  await db
    .prepare(
      `UPDATE reconcile_imports SET status = 'accepted', qualtrics_import_id = ?2,
         unprocessed = ?3, updated_at = ?4, error = NULL
       WHERE id = ?1 AND status IN ('sending', 'unknown')`,
    )
    .bind(id, qualtricsImportId, JSON.stringify(unprocessed), at)
    .run();
}

/** Ends an import that recorded nothing, in one transaction: its invites are queued again. */
async function releaseImport(
  db: D1Database,
  id: string,
  status: "not_sent" | "failed",
  error: string,
  at: number,
): Promise<void> {
  await db.batch([
    db
      .prepare("UPDATE invites SET push_ref = NULL WHERE push_ref = ?1 AND pushed_at IS NULL")
      .bind(id),
    db
      .prepare(
        `UPDATE reconcile_imports SET status = ?2, invite_ids = NULL, updated_at = ?3, error = ?4
         WHERE id = ?1`,
      )
      .bind(id, status, at, error),
  ]);
}

/** The import was certainly not done (refused, or never sent): its invites are queued again. */
export async function markImportNotSent(
  db: D1Database,
  id: string,
  error: string,
  at: number,
): Promise<void> {
  await releaseImport(db, id, "not_sent", error, at);
}

/** Nobody knows whether Qualtrics did the import: its invites stay reserved (held). */
export async function markImportUnknown(
  db: D1Database,
  id: string,
  error: string,
  at: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE reconcile_imports SET status = 'unknown', updated_at = ?2, error = ?3
       WHERE id = ?1 AND status IN ('sending', 'accepted')`,
    )
    .bind(id, at, error)
    .run();
}

/** Imports left `sending` by runs that died mid-send (the caller holds the lease). */
export async function markAbandonedSendsUnknown(
  db: D1Database,
  currentRunId: string,
  at: number,
): Promise<number> {
  const { meta } = await db
    .prepare(
      `UPDATE reconcile_imports SET status = 'unknown', updated_at = ?2,
         error = 'run ' || run_id || ' stopped while sending this import: whether Qualtrics received it is unknown'
       WHERE status = 'sending' AND run_id <> ?1`,
    )
    .bind(currentRunId, at)
    .run();
  return meta.changes;
}

export interface OpenImport {
  id: string;
  qualtrics_import_id: string;
  contacts: number;
}

export async function listAcceptedImports(db: D1Database): Promise<OpenImport[]> {
  const { results } = await db
    .prepare(
      `SELECT id, qualtrics_import_id, contacts FROM reconcile_imports
       WHERE status = 'accepted' ORDER BY created_at, id`,
    )
    .all<OpenImport>();
  return results;
}

export async function recordImportPoll(db: D1Database, id: string, at: number): Promise<void> {
  await db
    .prepare("UPDATE reconcile_imports SET polls = polls + 1, updated_at = ?2 WHERE id = ?1")
    .bind(id, at)
    .run();
}

/** Invites of import ?1 that are pushed, counted by primary key over the import's own list. */
const PUSHED_BY_IMPORT = `(SELECT COUNT(*) FROM invites
  WHERE invites.id IN (SELECT value FROM json_each(reconcile_imports.invite_ids))
    AND invites.push_ref = ?1 AND invites.pushed_at IS NOT NULL)`;

/**
 * The import reached 100%: its invites whose index is not unprocessed are pushed; the
 * unprocessed ones are queued again with one more attempt counted. One transaction.
 */
export async function completeImport(
  db: D1Database,
  id: string,
  at: number,
): Promise<{ pushed: number; unprocessed: number }> {
  const [pushed, released] = await db.batch([
    db
      .prepare(
        `UPDATE invites SET pushed_at = ?2
         WHERE push_ref = ?1 AND pushed_at IS NULL AND id IN (
           SELECT j.value FROM reconcile_imports AS r, json_each(r.invite_ids) AS j
           WHERE r.id = ?1 AND r.status = 'accepted'
             AND j.key NOT IN (SELECT value FROM json_each(COALESCE(r.unprocessed, '[]'))))`,
      )
      .bind(id, at),
    db
      .prepare(
        `UPDATE invites SET push_ref = NULL, push_attempts = push_attempts + 1
         WHERE push_ref = ?1 AND pushed_at IS NULL
           AND EXISTS (SELECT 1 FROM reconcile_imports WHERE id = ?1 AND status = 'accepted')`,
      )
      .bind(id),
    db
      .prepare(
        `UPDATE reconcile_imports SET status = 'complete', invite_ids = NULL, updated_at = ?2,
           pushed = ${PUSHED_BY_IMPORT}
         WHERE id = ?1 AND status = 'accepted'`,
      )
      .bind(id, at),
  ]);
  return { pushed: pushed?.meta.changes ?? 0, unprocessed: released?.meta.changes ?? 0 };
}

/** The import finished having recorded nothing (wrong directory, list or batch): queue again. */
export async function failImport(
  db: D1Database,
  id: string,
  error: string,
  at: number,
): Promise<void> {
  await releaseImport(db, id, "failed", error, at);
}

export interface ImportRow {
  id: string;
  run_id: string;
  batch_id: string;
  status: string;
  qualtrics_import_id: string | null;
  contacts: number;
  pushed: number | null;
  polls: number;
  created_at: number;
  updated_at: number;
  error: string | null;
}

const IMPORT_COLUMNS = `id, run_id, batch_id, status, qualtrics_import_id, contacts, pushed, polls,
  created_at, updated_at, error`;

export async function listImports(
  db: D1Database,
  statuses: readonly string[],
  limit: number,
): Promise<ImportRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${IMPORT_COLUMNS} FROM reconcile_imports
       WHERE status IN (SELECT value FROM json_each(?1))
       ORDER BY created_at DESC, id DESC LIMIT ?2`,
    )
    .bind(JSON.stringify(statuses), limit)
    .all<ImportRow>();
  return results;
}

export async function getImport(db: D1Database, id: string): Promise<ImportRow | null> {
  return db
    .prepare(`SELECT ${IMPORT_COLUMNS} FROM reconcile_imports WHERE id = ?`)
    .bind(id)
    .first<ImportRow>();
}

/**
 * An operator's answer for an import whose outcome was unknown: `accepted` marks its invites
 * pushed; `not_accepted` queues them again. Null when the import is not (or no longer) unknown.
 */
export async function resolveUnknownImport(
  db: D1Database,
  id: string,
  outcome: "accepted" | "not_accepted",
  at: number,
): Promise<ImportRow | null> {
  const stillUnknown =
    "EXISTS (SELECT 1 FROM reconcile_imports WHERE id = ?1 AND status = 'unknown')";
  const invites =
    outcome === "accepted"
      ? db
          .prepare(
            `UPDATE invites SET pushed_at = ?2
             WHERE push_ref = ?1 AND pushed_at IS NULL AND ${stillUnknown}`,
          )
          .bind(id, at)
      : db
          .prepare(
            `UPDATE invites SET push_ref = NULL
             WHERE push_ref = ?1 AND pushed_at IS NULL AND ${stillUnknown}`,
          )
          .bind(id);
  const note =
    outcome === "accepted"
      ? "resolved by an operator: Qualtrics received it"
      : "resolved by an operator: Qualtrics did not receive it; invites queued again";
  const [, imported] = await db.batch<ImportRow>([
    invites,
    db
      .prepare(
        `UPDATE reconcile_imports SET status = ?2, invite_ids = NULL, updated_at = ?3,
           error = COALESCE(error || '; ', '') || ?4,
           pushed = ${PUSHED_BY_IMPORT}
         WHERE id = ?1 AND status = 'unknown'
         RETURNING ${IMPORT_COLUMNS}`,
      )
      .bind(id, outcome === "accepted" ? "complete" : "abandoned", at, note),
  ]);
  return imported?.results[0] ?? null;
}

export interface PushBacklog {
  /** Waiting for the next run. */
  queued: number;
  /** In imports sent and not yet at 100%. */
  inFlight: number;
  /** In imports whose outcome is unknown: held until an operator resolves them. */
  onHold: number;
  /** Refused by Qualtrics `maxAttempts` times: no longer retried. */
  gaveUp: number;
}

export async function pushBacklog(db: D1Database, maxAttempts: number): Promise<PushBacklog> {
  const [queue, imports] = await db.batch<Record<string, number | null>>([
    db
      .prepare(
        `SELECT SUM(push_attempts < ?1) AS queued, SUM(push_attempts >= ?1) AS gave_up
         FROM invites WHERE pushed_at IS NULL AND push_ref IS NULL AND customer_ref IS NOT NULL`,
      )
      .bind(maxAttempts),
    db.prepare(
      `SELECT SUM(CASE WHEN status IN ('sending', 'accepted') THEN contacts ELSE 0 END) AS in_flight,
              SUM(CASE WHEN status = 'unknown' THEN contacts ELSE 0 END) AS on_hold
       FROM reconcile_imports WHERE status IN ('sending', 'accepted', 'unknown')`,
    ),
  ]);
  const q = queue?.results[0] ?? {};
  const i = imports?.results[0] ?? {};
  return {
    queued: q.queued ?? 0,
    gaveUp: q.gave_up ?? 0,
    inFlight: i.in_flight ?? 0,
    onHold: i.on_hold ?? 0,
  };
}

// ---------- completions ----------

export interface ExportState {
  survey_id: string;
  continuation_token: string | null;
  progress_id: string | null;
  progress_started_at: number | null;
}

export async function getExportState(
  db: D1Database,
  surveyId: string,
): Promise<ExportState | null> {
  return db
    .prepare(
      `SELECT survey_id, continuation_token, progress_id, progress_started_at
       FROM reconcile_exports WHERE survey_id = ?`,
    )
    .bind(surveyId)
    .first<ExportState>();
}

/** An export was started: kept so that a later run reads it if this one stops before. */
export async function saveExportProgress(
  db: D1Database,
  surveyId: string,
  progressId: string | null,
  at: number,
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO reconcile_exports (survey_id, progress_id, progress_started_at)
       VALUES (?1, ?2, ?3)
       ON CONFLICT (survey_id) DO UPDATE SET progress_id = excluded.progress_id,
         progress_started_at = excluded.progress_started_at`,
    )
    .bind(surveyId, progressId, progressId === null ? null : at)
    .run();
}

/** When the oldest invite of a survey still waiting for its response was opened (null: none). */
export async function oldestOpenedAwaitingResponse(
  db: D1Database,
  survey: string,
  openedAfter: number,
): Promise<number | null> {
  const row = await db
    .prepare(
      `SELECT MIN(consumed_at) AS at FROM invites
       WHERE survey = ?1 AND consumed_at IS NOT NULL AND completed_at IS NULL AND consumed_at > ?2`,
    )
    .bind(survey, openedAfter)
    .first<{ at: number | null }>();
  return row?.at ?? null;
}

/** The invite row fields a completion needs to check the response against the signed values. */
export interface AwaitingInvite {
  id: string;
  customer_ref: string | null;
  transaction_id: string;
  trigger: string;
  embedded_data: string | null;
}

export async function findInvitesAwaitingCompletion(
  db: D1Database,
  survey: string,
  ids: string[],
): Promise<AwaitingInvite[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT id, customer_ref, transaction_id, trigger, embedded_data FROM invites
       WHERE id IN (SELECT value FROM json_each(?1)) AND survey = ?2 AND completed_at IS NULL`,
    )
    .bind(JSON.stringify(ids), survey)
    .all<AwaitingInvite>();
  return results;
}

export interface Completion {
  id: string;
  responseId: string;
  at: number;
  /** 1 when the response's URL values differ from the signed ones; null when not checkable. */
  tampered: 0 | 1 | null;
}

/**
 * Marks invites completed and moves the survey's export position on, in one transaction: a run
 * that stops before this re-reads the same responses next time, and marking is idempotent.
 * Returns the ids newly completed.
 */
export async function recordCompletions(
  db: D1Database,
  entry: {
    survey: string;
    surveyId: string;
    completions: Completion[];
    continuationToken: string | null;
    responsesRead: number;
    at: number;
  },
): Promise<string[]> {
  const [updated] = await db.batch<{ id: string }>([
    db
      .prepare(
        `UPDATE invites SET completed_at = c.value ->> '$.at',
           response_id = c.value ->> '$.responseId', tampered = c.value ->> '$.tampered'
         FROM json_each(?1) AS c
         WHERE invites.id = c.value ->> '$.id' AND invites.survey = ?2
           AND invites.completed_at IS NULL
         RETURNING invites.id AS id`,
      )
      .bind(JSON.stringify(entry.completions), entry.survey),
    db
      .prepare(
        `INSERT INTO reconcile_exports (survey_id, continuation_token, progress_id,
           progress_started_at, read_at, responses_read)
         VALUES (?1, ?2, NULL, NULL, ?3, ?4)
         ON CONFLICT (survey_id) DO UPDATE SET
           continuation_token = COALESCE(excluded.continuation_token, continuation_token),
           progress_id = NULL, progress_started_at = NULL, read_at = excluded.read_at,
           responses_read = responses_read + excluded.responses_read`,
      )
      .bind(entry.surveyId, entry.continuationToken, entry.at, entry.responsesRead),
  ]);
  return (updated?.results ?? []).map((r) => r.id);
}

// ---------- stamping responses ----------

export interface StampCandidate {
  id: string;
  response_id: string;
  customer_ref: string;
  transaction_id: string;
  trigger: string;
  embedded_data: string;
  tampered: 0 | 1;
}

/** Completed invites of a survey whose response was not stamped yet (and whose data remains). */
export async function selectStampCandidates(
  db: D1Database,
  survey: string,
  limit: number,
): Promise<StampCandidate[]> {
  const { results } = await db
    .prepare(
      `SELECT id, response_id, customer_ref, transaction_id, trigger, embedded_data, tampered
       FROM invites
       WHERE survey = ?1 AND completed_at IS NOT NULL AND stamped_at IS NULL AND stamp_ref IS NULL
         AND response_id IS NOT NULL AND tampered IS NOT NULL
         AND customer_ref IS NOT NULL AND embedded_data IS NOT NULL
       ORDER BY completed_at, id LIMIT ?2`,
    )
    .bind(survey, limit)
    .all<StampCandidate>();
  return results;
}

export async function recordStampJob(
  db: D1Database,
  job: { progressId: string; surveyId: string; runId: string; inviteIds: string[]; at: number },
): Promise<void> {
  await db.batch([
    db
      .prepare(
        `INSERT INTO reconcile_stamp_jobs (progress_id, survey_id, run_id, status, updates,
           created_at)
         VALUES (?1, ?2, ?3, 'inProgress', ?4, ?5)`,
      )
      .bind(job.progressId, job.surveyId, job.runId, job.inviteIds.length, job.at),
    db
      .prepare(
        `UPDATE invites SET stamp_ref = ?1
         WHERE id IN (SELECT value FROM json_each(?2)) AND stamped_at IS NULL`,
      )
      .bind(job.progressId, JSON.stringify(job.inviteIds)),
  ]);
}

export interface OpenStampJob {
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

/** The job completed: its invites are stamped. Returns how many. */
export async function completeStampJob(
  db: D1Database,
  progressId: string,
  at: number,
): Promise<number> {
  const [stamped] = await db.batch([
    db
      .prepare(
        `UPDATE invites SET stamped_at = ?2
         WHERE stamp_ref = ?1 AND completed_at IS NOT NULL AND stamped_at IS NULL`,
      )
      .bind(progressId, at),
    db
      .prepare(
        `UPDATE reconcile_stamp_jobs SET status = 'complete', finished_at = ?2
         WHERE progress_id = ?1`,
      )
      .bind(progressId, at),
  ]);
  return stamped?.meta.changes ?? 0;
}

/** The job failed (or Qualtrics lost it): its invites will be stamped by a later job. */
export async function failStampJob(db: D1Database, progressId: string, at: number): Promise<void> {
  await db.batch([
    db
      .prepare(
        `UPDATE invites SET stamp_ref = NULL
         WHERE stamp_ref = ?1 AND completed_at IS NOT NULL AND stamped_at IS NULL`,
      )
      .bind(progressId),
    db
      .prepare(
        `UPDATE reconcile_stamp_jobs SET status = 'failed', finished_at = ?2
         WHERE progress_id = ?1`,
      )
      .bind(progressId, at),
  ]);
}
