/**
 * An invite's push state, on its row in its shard (see migrations/0003_reconcile.sql):
 *   queued     pushed_at IS NULL AND push_ref IS NULL
 *   in flight  pushed_at IS NULL AND push_ref = the import that reserved it
 *   pushed     pushed_at IS NOT NULL (push_ref names the import that carried it)
 * Reserving is one conditional UPDATE, so no invite can be in two imports; every statement here
 * is conditional on push_ref, so running one again (a retried step) changes nothing more.
 */

/** What a transaction in XM Directory carries about an invite (no embedded data: less personal data). */
export interface PushCandidate {
  id: string;
  survey: string;
  customer_ref: string;
  trigger: string;
  channel: string | null;
  issued_at: number;
  expires_at: number;
  consumed_at: number | null;
  revoked_at: number | null;
}

/** Queued invites, oldest first; ones Qualtrics refused `maxAttempts` times are left out. */
export async function selectPushCandidates(
  db: D1Database,
  limit: number,
  maxAttempts: number,
): Promise<PushCandidate[]> {
  const { results } = await db
    .prepare(
      `SELECT id, survey, customer_ref, trigger, channel, issued_at, expires_at, consumed_at,
              revoked_at
       FROM invites
       WHERE pushed_at IS NULL AND push_ref IS NULL AND customer_ref IS NOT NULL
         AND push_attempts < ?2
       ORDER BY issued_at, id LIMIT ?1`,
    )
    .bind(limit, maxAttempts)
    .all<PushCandidate>();
  return results;
}

/**
 * Reserves queued invites for an import; returns the ids actually reserved. An invite whose
 * personal data was deleted since it was selected (erasure, retention) is not reserved, so the
 * contact built from the stale selection is not sent.
 */
export async function reserveInvites(
  db: D1Database,
  importId: string,
  ids: readonly string[],
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `UPDATE invites SET push_ref = ?1
       WHERE id IN (SELECT value FROM json_each(?2)) AND pushed_at IS NULL AND push_ref IS NULL
         AND customer_ref IS NOT NULL
       RETURNING id`,
    )
    .bind(importId, JSON.stringify(ids))
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Queues an import's invites again (it certainly did nothing, or an operator said so). */
export async function releaseInvites(db: D1Database, importId: string): Promise<void> {
  await db
    .prepare("UPDATE invites SET push_ref = NULL WHERE push_ref = ?1 AND pushed_at IS NULL")
    .bind(importId)
    .run();
}

/**
 * The import reached 100%: of its invites in this shard, `pushedIds` are pushed and the others
 * (the unprocessed ones) are queued again with one more attempt counted. One transaction;
 * returns how many of the import's invites this shard now holds as pushed, and how many it queued.
 */
export async function settleImportedInvites(
  db: D1Database,
  importId: string,
  pushedIds: readonly string[],
  at: number,
): Promise<{ pushed: number; unprocessed: number }> {
  const [, released, counted] = await db.batch<{ pushed: number }>([
    db
      .prepare(
        `UPDATE invites SET pushed_at = ?2
         WHERE push_ref = ?1 AND pushed_at IS NULL AND id IN (SELECT value FROM json_each(?3))`,
      )
      .bind(importId, at, JSON.stringify(pushedIds)),
    db
      .prepare(
        `UPDATE invites SET push_ref = NULL, push_attempts = push_attempts + 1
         WHERE push_ref = ?1 AND pushed_at IS NULL`,
      )
      .bind(importId),
    pushedCount(db, importId, pushedIds),
  ]);
  return {
    pushed: counted?.results[0]?.pushed ?? 0,
    unprocessed: released?.meta.changes ?? 0,
  };
}

/** An operator says Qualtrics received an import whose outcome was unknown: all its invites are pushed. */
export async function markImportedInvitesPushed(
  db: D1Database,
  importId: string,
  ids: readonly string[],
  at: number,
): Promise<number> {
  const [, counted] = await db.batch<{ pushed: number }>([
    db
      .prepare("UPDATE invites SET pushed_at = ?2 WHERE push_ref = ?1 AND pushed_at IS NULL")
      .bind(importId, at),
    pushedCount(db, importId, ids),
  ]);
  return counted?.results[0]?.pushed ?? 0;
}

/** Of `ids`, the invites pushed by this import, counted by primary key. */
function pushedCount(db: D1Database, importId: string, ids: readonly string[]) {
  return db
    .prepare(
      `SELECT COUNT(*) AS pushed FROM invites
       WHERE id IN (SELECT value FROM json_each(?2)) AND push_ref = ?1 AND pushed_at IS NOT NULL`,
    )
    .bind(importId, JSON.stringify(ids));
}

/** Of these customers, those with an invite already pushed to XM Directory (index invites_customer). */
export async function pushedCustomersInShard(
  db: D1Database,
  customerRefs: readonly string[],
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT DISTINCT customer_ref FROM invites
       WHERE customer_ref IN (SELECT value FROM json_each(?1)) AND pushed_at IS NOT NULL`,
    )
    .bind(JSON.stringify(customerRefs))
    .all<{ customer_ref: string }>();
  return results.map((r) => r.customer_ref);
}

/** Invites waiting to be pushed, and those Qualtrics refused `maxAttempts` times. */
export async function pushQueueCounts(
  db: D1Database,
  maxAttempts: number,
): Promise<{ queued: number; gaveUp: number }> {
  const row = await db
    .prepare(
      `SELECT SUM(push_attempts < ?1) AS queued, SUM(push_attempts >= ?1) AS gave_up
       FROM invites WHERE pushed_at IS NULL AND push_ref IS NULL AND customer_ref IS NOT NULL`,
    )
    .bind(maxAttempts)
    .first<{ queued: number | null; gave_up: number | null }>();
  return { queued: row?.queued ?? 0, gaveUp: row?.gave_up ?? 0 };
}
