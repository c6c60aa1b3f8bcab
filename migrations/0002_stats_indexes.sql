-- Analyst stats (GET /v1/stats) select invites by issue time and read only the columns below.
-- With all of them in one index, each stats statement is a range scan of this index (SQLite's
-- "covering index"): the table rows, with their personal data, are never read. Counters that
-- taps bump (reopen/blocked/preview) and the claim update this index too: one more b-tree write
-- in the same statement, not another round trip.
CREATE INDEX invites_stats ON invites (
  issued_at,
  survey,
  trigger,
  channel,
  consumed_at,
  expires_at,
  revoked_at,
  completed_at,
  reopen_count,
  blocked_count,
  preview_count
);
