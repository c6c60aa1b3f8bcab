-- The history of ledger shard counts (src/store/shard-counts.ts), in the control database (DB;
-- every shard gets the table, the others leave it empty). One row per LEDGER_SHARDS value:
-- applied_at when `npm run provision-shards` created, bound and migrated its shards; first_seen
-- and last_seen when a Worker served with it (its first request or scheduled run, then every
-- scheduled run); retired_at once no link issued under it can still be retried or tapped (the
-- longest link lifetime and a day after it was last served). A Worker configured with fewer
-- shards than the highest count ever served refuses to serve (a configuration error): links
-- and data on the missing shards would silently disappear. A retried issue call looks for its
-- transaction under every served count not retired.
CREATE TABLE ledger_shard_counts (
  shards INTEGER PRIMARY KEY,
  applied_at INTEGER,
  first_seen INTEGER,
  last_seen INTEGER,
  retired_at INTEGER
);
