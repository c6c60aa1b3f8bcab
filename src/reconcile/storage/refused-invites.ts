/**
 * Invites reconcile stopped trying, and clearing them for another try: an invite XM Directory
 * refused `maxAttempts` times (given up), or whose stamp Qualtrics refused (`stamp_refused`). An
 * operator clears one after fixing the cause; the next run pushes or stamps it again.
 */
import { type Store, shardOf } from "../../store/store";

/** An invite's reconcile state, as an operator sees it. */
export interface InviteReconcileRow {
  id: string;
  survey: string;
  pushed_at: number | null;
  push_attempts: number;
  completed_at: number | null;
  stamped_at: number | null;
  stamp_refused: string | null;
}

const COLUMNS = "id, survey, pushed_at, push_attempts, completed_at, stamped_at, stamp_refused";

/**
 * Clears what stopped reconcile from trying the invite again: its push attempts when it was
 * given up, its stamp refusal and its duplicate responses' stamp refusals. `cleared` is false when there was nothing to clear; `row` is null
 * for an unknown invite.
 */
export async function clearRefusals(
  store: Store,
  id: string,
  maxAttempts: number,
): Promise<{ row: InviteReconcileRow | null; cleared: boolean }> {
  const db = shardOf(store, id);
  if (!db) return { row: null, cleared: false };
  // The invite's duplicate responses (duplicate-rows.ts) whose stamp was refused are cleared too.
  const [invite, duplicates] = await db.batch<InviteReconcileRow>([
    db
      .prepare(
        `UPDATE invites SET stamp_refused = NULL,
           push_attempts = CASE WHEN pushed_at IS NULL AND push_ref IS NULL THEN 0
                                ELSE push_attempts END
         WHERE id = ?1 AND (stamp_refused IS NOT NULL
           OR (pushed_at IS NULL AND push_ref IS NULL AND push_attempts >= ?2))
         RETURNING ${COLUMNS}`,
      )
      .bind(id, maxAttempts),
    db
      .prepare(
        `UPDATE duplicate_responses SET stamp_refused = NULL
         WHERE invite_id = ?1 AND stamp_refused IS NOT NULL`,
      )
      .bind(id),
  ]);
  const cleared = invite?.results[0];
  if (cleared) return { row: cleared, cleared: true };
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM invites WHERE id = ?`)
    .bind(id)
    .first<InviteReconcileRow>();
  return { row, cleared: row !== null && (duplicates?.meta.changes ?? 0) > 0 };
}
