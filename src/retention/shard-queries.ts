/**
 * Ledger queries of the retention job, one shard at a time: rows that leave the shard (past
 * retention, expired, settled with Qualtrics, completion window closed), the personal data of
 * rows past retention that must stay a while longer (cleared as a privacy erasure does,
 * `personal-data.ts`, setting `purged_at`), and the same-device hashes whose window is over
 * (migrations/0013_same_device.sql). Each search runs on an index that holds only what it looks
 * for (migrations/0019_flat_shards.sql), so its cost does not grow with what was purged before.
 */
import { CLEAR_PERSONAL_DATA } from "../store/personal-data";

/** When a row is due to leave or to lose its personal data (ms since the epoch). */
export interface PurgeCutoffs {
  /** Rows issued before this are past RETENTION_DAYS. */
  issuedBefore: number;
  /** Now: links that expired by now are over. */
  now: number;
  /** Rows opened before this no longer wait for a response (their completion window closed). */
  openedBefore: number;
}

/**
 * One batch in one shard: deletes up to `limit` rows that may leave, oldest first, and clears up
 * to `deviceLimit` same-device hashes whose window ended. The batch holds the one row of
 * invites_leaving while it deletes, so the rollups keep their counts and the rows' click events
 * leave with them (triggers of migrations/0019_flat_shards.sql).
 */
export async function removeLeavingInvites(
  db: D1Database,
  { issuedBefore, now, openedBefore }: PurgeCutoffs,
  limit: number,
  deviceLimit: number,
): Promise<{ removed: number; cleared: number }> {
  const [, removed, , cleared] = await db.batch([
    db.prepare("INSERT INTO invites_leaving (one) VALUES (1)"),
    db
      .prepare(
        `DELETE FROM invites WHERE id IN (
           SELECT id FROM invites INDEXED BY invites_leave_due
           WHERE (push_ref IS NULL OR pushed_at IS NOT NULL)
             AND (stamp_ref IS NULL OR stamped_at IS NOT NULL)
             AND issued_at < ?1 AND expires_at <= ?2
             AND (consumed_at IS NULL OR completed_at IS NOT NULL OR consumed_at <= ?3)
           ORDER BY issued_at LIMIT ?4)
         RETURNING 1 AS gone`,
      )
      .bind(issuedBefore, now, openedBefore, limit),
    db.prepare("DELETE FROM invites_leaving"),
    db
      .prepare(
        `UPDATE invites SET device_hash = NULL, device_until = NULL
         WHERE id IN (SELECT id FROM invites INDEXED BY invites_device_window
                      WHERE device_hash IS NOT NULL AND device_until <= ?1 LIMIT ?2)`,
      )
      .bind(now, deviceLimit),
  ]);
  // Counted from RETURNING: D1's `changes` adds the click events the trigger deleted.
  return { removed: removed?.results.length ?? 0, cleared: cleared?.meta.changes ?? 0 };
}

interface PurgeCandidate {
  id: string;
  expires_at: number;
}

/** Up to `limit` invites issued before `issuedBefore` whose personal data is still present. */
export async function findInvitesToPurge(
  db: D1Database,
  issuedBefore: number,
  limit: number,
): Promise<PurgeCandidate[]> {
  const { results } = await db
    .prepare(
      `SELECT id, expires_at FROM invites INDEXED BY invites_personal_data_due
       WHERE purged_at IS NULL AND issued_at < ?1
       ORDER BY issued_at LIMIT ?2`,
    )
    .bind(issuedBefore, limit)
    .all<PurgeCandidate>();
  return results;
}

/** Clears the personal data of these invites in one round trip; returns how many were cleared. */
export async function purgePersonalData(
  db: D1Database,
  ids: string[],
  at: number,
): Promise<number> {
  if (ids.length === 0) return 0;
  const statement = db.prepare(
    `UPDATE invites SET ${CLEAR_PERSONAL_DATA}, purged_at = ?1
     WHERE id = ?2 AND purged_at IS NULL`,
  );
  const results = await db.batch(ids.map((id) => statement.bind(at, id)));
  return results.reduce((sum, r) => sum + (r.meta.changes ?? 0), 0);
}
