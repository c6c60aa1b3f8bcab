-- Privacy requests (src/privacy, docs/privacy.md): find one customer's invites and erase their
-- personal data now, not only after RETENTION_DAYS. Every shard gets this migration; the
-- erasure table is used in DB (shard 0) only, like the reconcile control tables.

-- When an erasure request cleared the invite's personal data (the tap then answers "no longer
-- available"). Erasure also sets purged_at, so the retention job leaves the row alone. Neither
-- column is watched by the stats triggers of 0004: erasing changes no count.
ALTER TABLE invites ADD COLUMN erased_at INTEGER;

-- One customer's invites are spread over every shard (placement follows survey + transaction),
-- so a lookup or an erasure asks every shard; this index makes each of those a range scan
-- instead of a scan of the shard. Its cost is one more index entry written per issued invite
-- (D1 bills it as one more row written) and one removed when retention or erasure clears
-- customer_ref: being partial, the index only holds invites whose customer id is still kept, so
-- it never grows beyond RETENTION_DAYS of invites. issued_at and id order a customer's invites
-- for paged lookups without a sort.
CREATE INDEX invites_customer ON invites (customer_ref, issued_at, id)
  WHERE customer_ref IS NOT NULL;

-- One row per erasure request (POST /v1/privacy/erasures), the audit trail
-- (GET /v1/privacy/erasures). It never holds the customer id. While an erasure runs, `subject`
-- (a keyed hash of the customer id) lets a retry of the same request continue the same erasure,
-- and `invites` records what it erased so far (so a retry after a crash still reports every
-- invite); both are cleared when the erasure is done, leaving only when, who and how many.
CREATE TABLE privacy_erasures (
  id TEXT PRIMARY KEY,
  api_key_id TEXT NOT NULL,          -- the key of the request that started it
  status TEXT NOT NULL,              -- running | done
  requested_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 1,  -- requests that worked on it (retries, concurrent calls)
  erased INTEGER NOT NULL DEFAULT 0,    -- invites erased (set when done)
  pushed INTEGER NOT NULL DEFAULT 0,    -- of those, pushed (or being pushed) to Qualtrics
  subject TEXT,                      -- HMAC of the customer id while running; NULL once done
  invites TEXT                       -- JSON object: invite id -> {survey, pushed, responseId}; NULL once done
);
CREATE UNIQUE INDEX privacy_erasures_subject ON privacy_erasures (subject)
  WHERE subject IS NOT NULL;
CREATE INDEX privacy_erasures_requested ON privacy_erasures (requested_at, id);
