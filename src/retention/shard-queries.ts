/**
 * Ledger queries of the retention job: find invites whose personal data is due for deletion and
 * clear it, as a privacy erasure does (`personal-data.ts`), setting `purged_at`; ids, survey,
 * trigger, channel, timestamps, counters and click events stay, so every count survives. And
 * clear the same-device hashes whose window is over (migrations/0013_same_device.sql).
 */
import { CLEAR_PERSONAL_DATA } from "../store/personal-data";

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
      `SELECT id, expires_at FROM invites
       WHERE purged_at IS NULL AND issued_at < ?1
       ORDER BY issued_at, id
       LIMIT ?2`,
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

/** Clears up to `limit` same-device hashes whose window ended by `now`; returns how many. */
export async function clearEndedDeviceWindows(
  db: D1Database,
  now: number,
  limit: number,
): Promise<number> {
  const result = await db
    .prepare(
      `UPDATE invites SET device_hash = NULL, device_until = NULL
       WHERE id IN (SELECT id FROM invites INDEXED BY invites_device_window
                    WHERE device_hash IS NOT NULL AND device_until <= ?1 LIMIT ?2)`,
    )
    .bind(now, limit)
    .run();
  return result.meta.changes ?? 0;
}
