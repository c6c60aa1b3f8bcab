-- Ledger shards (src/store): every shard (DB, DB_1, DB_2, …) gets every migration, so they all
-- share one schema; the control tables (reconcile_*) are used in DB only.
--
-- An import now starts as `reserving`: recorded in DB before its invites are reserved in their
-- shards, and `sending` only once every shard has reserved its share (src/store/push-queue.ts).
DROP INDEX reconcile_imports_open;
CREATE INDEX reconcile_imports_open ON reconcile_imports (status, created_at)
  WHERE status IN ('reserving', 'sending', 'accepted', 'unknown');
