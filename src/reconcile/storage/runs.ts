/**
 * Reconcile runs and their lease, in the control database: one row per run (cron or API, skipped
 * ones included) and one lease row that lets a single run at a time work.
 */

const LEASE = "reconcile";

// ---------- lease ----------

type LeaseResult =
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

/** `queued`: asked for with `Prefer: respond-async`, waiting for the reconcile queue to run it. */
export const RUN_STATUSES = ["queued", "running", "ok", "failed", "skipped", "abandoned"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_TRIGGERS = ["cron", "api"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export interface RunRow {
  id: string;
  trigger: RunTrigger;
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
  /** JSON array of the run's notices (src/reconcile/run-notices.ts), null when none. */
  notices: string | null;
  /** JSON array of invites refused (src/reconcile/refusals.ts), at most 100; null when none. */
  refused: string | null;
  refused_count: number;
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

/** A run asked for now and run by the reconcile queue: its record, before it starts. */
export async function insertQueuedRun(
  db: D1Database,
  run: { id: string; at: number },
): Promise<RunRow> {
  const row = await db
    .prepare(
      `INSERT INTO reconcile_runs (id, trigger, status, started_at)
       VALUES (?1, 'api', 'queued', ?2) RETURNING *`,
    )
    .bind(run.id, run.at)
    .first<RunRow>();
  if (!row) throw new Error("INSERT … RETURNING gave no row");
  return row;
}

export async function getRun(db: D1Database, id: string): Promise<RunRow | null> {
  return db.prepare("SELECT * FROM reconcile_runs WHERE id = ?").bind(id).first<RunRow>();
}

/**
 * A run that did nothing (skipped, or failed before starting), recorded in one statement; a
 * queued run's record is completed.
 */
export async function insertFinishedRun(
  db: D1Database,
  run: { id: string; trigger: RunTrigger; status: RunStatus; at: number; error: string },
): Promise<RunRow> {
  const row = await db
    .prepare(
      `INSERT INTO reconcile_runs (id, trigger, status, started_at, finished_at, error)
       VALUES (?1, ?2, ?3, ?4, ?4, ?5)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, started_at = excluded.started_at,
         finished_at = excluded.finished_at, error = excluded.error
       RETURNING *`,
    )
    .bind(run.id, run.trigger, run.status, run.at, run.error)
    .first<RunRow>();
  if (!row) throw new Error("INSERT … RETURNING gave no row");
  return row;
}

/**
 * Records a run as started (a queued run's record becomes this run's). Runs still marked running
 * belong to runs that died: only the lease holder starts a run, so they are marked abandoned,
 * naming the run that took over; so are runs queued over a day ago that the queue never ran.
 */
export async function startRun(
  db: D1Database,
  run: { id: string; trigger: RunTrigger; at: number },
): Promise<void> {
  await db.batch([
    db
      .prepare(
        `UPDATE reconcile_runs SET status = 'abandoned', finished_at = ?2,
           error = iif(status = 'running',
             'stopped before finishing (killed or timed out); ' || ?1 || ' took over',
             'queued but never run')
         WHERE status = 'running' OR (status = 'queued' AND started_at < ?2 - 86400000)`,
      )
      .bind(run.id, run.at),
    db
      .prepare(
        `INSERT INTO reconcile_runs (id, trigger, status, started_at) VALUES (?, ?, 'running', ?)
         ON CONFLICT (id) DO UPDATE SET status = 'running', started_at = excluded.started_at`,
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
    refused: { listed: string | null; count: number };
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
           on_hold = ?11, qualtrics_calls = ?12, notices = ?13, refused = ?14,
           refused_count = ?15
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
        run.refused.listed,
        run.refused.count,
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
