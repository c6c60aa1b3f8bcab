-- The ledger: one row per invite, one per click event. D1 is strongly consistent, so the claim
-- (`UPDATE … WHERE consumed_at IS NULL`) lets exactly one tap win; times are Unix milliseconds.
CREATE TABLE invites (
  id TEXT PRIMARY KEY,
  survey TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  customer_ref TEXT,            -- personal data: cleared by the retention job
  trigger TEXT NOT NULL,
  channel TEXT,
  embedded_data TEXT,           -- personal data (JSON): cleared by the retention job
  request_hash TEXT NOT NULL,   -- SHA-256 of the canonical issue request, for idempotent retries
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
  outcome TEXT NOT NULL,        -- opened | reopened | blocked | preview | expired | revoked
  country TEXT,
  ua_class TEXT                 -- mobile | desktop | bot | other
);

CREATE INDEX click_events_invite ON click_events (invite_id);
