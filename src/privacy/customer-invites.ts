import { CLEAR_PERSONAL_DATA } from "../store/personal-data";

/**
 * One customer's invites in one shard: the paged lookup and the erasure of their personal data
 * (index invites_customer, migrations/0008_privacy.sql). Erasing keeps the row, its counters,
 * timestamps and click events, so every count survives; none of the columns it writes is watched
 * by the stats triggers.
 */

/** An invite as the lookup shows it: everything the ledger holds about it. */
export interface CustomerInviteRow {
  id: string;
  survey: string;
  transaction_id: string;
  trigger: string;
  channel: string | null;
  embedded_data: string | null;
  issued_at: number;
  expires_at: number;
  consumed_at: number | null;
  revoked_at: number | null;
  completed_at: number | null;
  response_id: string | null;
  /** 1 when pushed to Qualtrics or in an import that may have reached it. */
  pushed: 0 | 1;
  /** JSON array of its duplicate responses' ids (second answers), null when none. */
  duplicate_response_ids: string | null;
}

/** An invite's duplicate responses' ids (migration 0016), as found: a JSON array, null when none. */
const DUPLICATES = `(SELECT CASE WHEN COUNT(*) > 0 THEN json_group_array(response_id) END
  FROM (SELECT d.response_id FROM duplicate_responses AS d WHERE d.invite_id = invites.id
        ORDER BY d.found_at, d.response_id)) AS duplicate_response_ids`;

/** Where a page of a customer's invites starts: after this (issued_at, id). */
export interface InvitePosition {
  issuedAt: number;
  id: string;
}

/** Sent to Qualtrics, or reserved by an import whose POST may have reached it. */
const PUSHED = "(pushed_at IS NOT NULL OR push_ref IS NOT NULL)";

/** Up to `limit` invites of a customer after `after`, by issue time then id. */
export async function findCustomerInvites(
  db: D1Database,
  customerId: string,
  after: InvitePosition | null,
  limit: number,
): Promise<CustomerInviteRow[]> {
  const { results } = await db
    .prepare(
      `SELECT id, survey, transaction_id, trigger, channel, embedded_data, issued_at, expires_at,
              consumed_at, revoked_at, completed_at, response_id, ${PUSHED} AS pushed,
              ${DUPLICATES}
       FROM invites
       WHERE customer_ref = ?1 AND (issued_at > ?2 OR (issued_at = ?2 AND id > ?3))
       ORDER BY issued_at, id LIMIT ?4`,
    )
    .bind(customerId, after?.issuedAt ?? -1, after?.id ?? "", limit)
    .all<CustomerInviteRow>();
  return results;
}

/** What an erasure records of each invite it erases (for the answer and the Qualtrics side). */
export interface ErasedInvite {
  id: string;
  survey: string;
  response_id: string | null;
  pushed: 0 | 1;
  duplicate_response_ids: string | null;
}

/** The columns of an `ErasedInvite`. */
const ERASED_INVITE = `id, survey, response_id, ${PUSHED} AS pushed, ${DUPLICATES}`;

/** Up to `limit` invites of a customer whose personal data is still there. */
export async function findInvitesToErase(
  db: D1Database,
  customerId: string,
  limit: number,
): Promise<ErasedInvite[]> {
  const { results } = await db
    .prepare(
      `SELECT ${ERASED_INVITE} FROM invites
       WHERE customer_ref = ?1 ORDER BY issued_at, id LIMIT ?2`,
    )
    .bind(customerId, limit)
    .all<ErasedInvite>();
  return results;
}

/** What erasure writes: the personal data cleared, and when (see `store/personal-data.ts`). */
const ERASED_COLUMNS = `${CLEAR_PERSONAL_DATA}, purged_at = COALESCE(purged_at, ?2), erased_at = ?2`;

/**
 * Erases these invites (those not erased yet) in one transaction, and returns the state each
 * had when it was erased (read in the same transaction, so a push reserving it just before is
 * seen). Running it again erases nothing more and returns nothing.
 */
export async function eraseInvites(
  db: D1Database,
  ids: readonly string[],
  at: number,
): Promise<ErasedInvite[]> {
  if (ids.length === 0) return [];
  const list = JSON.stringify(ids);
  const [erased] = await db.batch<ErasedInvite>([
    db
      .prepare(
        `SELECT ${ERASED_INVITE} FROM invites
         WHERE id IN (SELECT value FROM json_each(?1)) AND erased_at IS NULL`,
      )
      .bind(list),
    db
      .prepare(
        `UPDATE invites SET ${ERASED_COLUMNS}
         WHERE id IN (SELECT value FROM json_each(?1)) AND erased_at IS NULL`,
      )
      .bind(list, at),
  ]);
  return erased?.results ?? [];
}
