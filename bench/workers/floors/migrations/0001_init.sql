-- The ledger's shape as the service has it (migrations/0001_ledger.sql at the repository root:
-- same columns, keys and unique index), so that a floor write costs what a service write costs.
-- Keep the two in step when the service's schema changes.
CREATE TABLE invites (
  id TEXT PRIMARY KEY,
  survey TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  customer_ref TEXT,
  trigger TEXT NOT NULL,
  channel TEXT,
  embedded_data TEXT,
  request_hash TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER,
  reopen_count INTEGER NOT NULL DEFAULT 0,
  blocked_count INTEGER NOT NULL DEFAULT 0,
  preview_count INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER,
  completed_at INTEGER,
  response_id TEXT,
  pushed_at INTEGER,
  push_ref TEXT,
  purged_at INTEGER,
  UNIQUE (survey, transaction_id)
);

CREATE TABLE click_events (
  id INTEGER PRIMARY KEY,
  invite_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  country TEXT,
  ua_class TEXT
);

CREATE INDEX click_events_invite ON click_events (invite_id);
