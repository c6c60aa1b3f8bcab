-- Reconciliation with Qualtrics (src/qualtrics/reconcile.ts; SQL in src/ledger/reconcile.ts).
-- Times are Unix milliseconds.
--
-- An invite's push state lives on its row:
--   queued     pushed_at IS NULL AND push_ref IS NULL
--   in flight  pushed_at IS NULL AND push_ref = reconcile_imports.id (reserved by one import)
--   pushed     pushed_at IS NOT NULL (push_ref names the import that carried it)
-- Reserving is one conditional UPDATE, so no invite can be in two imports.

ALTER TABLE invites ADD COLUMN push_attempts INTEGER NOT NULL DEFAULT 0; -- imports that refused it
ALTER TABLE invites ADD COLUMN tampered INTEGER;    -- 1/0 once its response was checked
ALTER TABLE invites ADD COLUMN stamp_ref TEXT;      -- update-responses job carrying its stamp
ALTER TABLE invites ADD COLUMN stamped_at INTEGER;  -- that job completed

CREATE INDEX invites_push_queue ON invites (issued_at, id)
  WHERE pushed_at IS NULL AND push_ref IS NULL;
CREATE INDEX invites_push_in_flight ON invites (push_ref)
  WHERE pushed_at IS NULL AND push_ref IS NOT NULL;
CREATE INDEX invites_awaiting_response ON invites (survey, consumed_at)
  WHERE consumed_at IS NOT NULL AND completed_at IS NULL;
CREATE INDEX invites_stamp_queue ON invites (survey, stamp_ref)
  WHERE completed_at IS NOT NULL AND stamped_at IS NULL;

-- One row per run (cron or POST /v1/reconcile), including skipped ones.
CREATE TABLE reconcile_runs (
  id TEXT PRIMARY KEY,
  trigger TEXT NOT NULL,              -- cron | api
  status TEXT NOT NULL,               -- running | ok | failed | skipped | abandoned
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  imports INTEGER NOT NULL DEFAULT 0,      -- transactioncontacts imports sent
  pushed INTEGER NOT NULL DEFAULT 0,       -- invites confirmed pushed (import at 100%, not unprocessed)
  unprocessed INTEGER NOT NULL DEFAULT 0,  -- invites Qualtrics refused; queued again
  completions INTEGER NOT NULL DEFAULT 0,
  tampered INTEGER NOT NULL DEFAULT 0,
  stamped INTEGER NOT NULL DEFAULT 0,
  on_hold INTEGER NOT NULL DEFAULT 0,      -- invites in imports whose outcome is unknown
  qualtrics_calls INTEGER NOT NULL DEFAULT 0,
  error TEXT
);
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_at);

-- One row per transactioncontacts import, written before the POST is sent.
--   sending   -> accepted (Qualtrics answered with its import id) -> complete (100%, invites marked)
--   sending   -> not_sent (refused before any work: 4xx, 429 storm, budget): invites queued again
--   sending   -> unknown (timeout, 5xx, dropped connection, or the run died while sending):
--                invites held until an operator resolves it (POST /v1/reconcile/imports/:id/resolve)
--   accepted  -> failed (100% with nothing recorded: wrong directory/list/batch): invites queued again
CREATE TABLE reconcile_imports (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  status TEXT NOT NULL,
  qualtrics_import_id TEXT,
  invite_ids TEXT,                    -- JSON array: contacts[i] carried invite_ids[i]; cleared when settled
  unprocessed TEXT,                   -- JSON array of indexes Qualtrics refused
  contacts INTEGER NOT NULL,
  pushed INTEGER,
  polls INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  error TEXT
);
CREATE INDEX reconcile_imports_open ON reconcile_imports (status, created_at)
  WHERE status IN ('sending', 'accepted', 'unknown');

-- Per Qualtrics survey: where the next export continues, and an export started but not yet read.
CREATE TABLE reconcile_exports (
  survey_id TEXT PRIMARY KEY,
  continuation_token TEXT,
  progress_id TEXT,
  progress_started_at INTEGER,
  read_at INTEGER,
  responses_read INTEGER NOT NULL DEFAULT 0
);

-- update-responses jobs that stamp invite data on responses; invites.stamp_ref points here.
CREATE TABLE reconcile_stamp_jobs (
  progress_id TEXT PRIMARY KEY,
  survey_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  status TEXT NOT NULL,               -- inProgress | complete | failed
  updates INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);

-- At most one run at a time: a row held by a run id until it expires or is released.
CREATE TABLE reconcile_lease (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
