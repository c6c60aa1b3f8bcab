/**
 * Where the retention job's rotation over the shards stopped, in the control database: the next
 * run starts at that shard, so a run that stops early (its batches or its share of the storage
 * budget spent) does not always serve the same shards first.
 */

const NAME = "retention";

/** The shard the next run starts at (0 before any run). */
export async function readRotationStart(control: D1Database): Promise<number> {
  const row = await control
    .prepare("SELECT next_shard FROM retention_progress WHERE name = ?1")
    .bind(NAME)
    .first<{ next_shard: number }>();
  return row?.next_shard ?? 0;
}

export async function saveRotationStart(
  control: D1Database,
  nextShard: number,
  at: number,
): Promise<void> {
  await control
    .prepare(
      `INSERT INTO retention_progress (name, next_shard, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (name) DO UPDATE SET next_shard = excluded.next_shard,
         updated_at = excluded.updated_at`,
    )
    .bind(NAME, nextShard, at)
    .run();
}
