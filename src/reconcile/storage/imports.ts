/**
 * Import rows in the control database: one per transactioncontacts import, written before its
 * invites are reserved in their shards and before anything is sent (see
 * migrations/0003_reconcile.sql). Status flow:
 *   reserving -> sending    its invites are reserved in every shard; the POST may go out
 *   reserving -> not_sent   its run died before sending: its reservations are released
 *   sending   -> accepted   Qualtrics answered with its import id
 *   sending   -> not_sent   refused before any work (4xx, 429 storm, budget): invites queued again
 *   sending   -> unknown    timeout, 5xx, dropped connection, a 2xx that cannot be read, or the
 *                           run died while sending
 *   accepted  -> complete   100%: invites marked pushed (unprocessed ones queued again)
 *   accepted  -> failed     100% with nothing recorded (wrong directory/list/batch)
 *   unknown   -> complete   its batch's transactions were looked up (found invites pushed, the
 *                           others queued again), or an operator said Qualtrics received it
 *   unknown   -> abandoned  an operator said Qualtrics did not receive it
 */

export const IMPORT_STATUSES = [
  "reserving",
  "sending",
  "accepted",
  "complete",
  "not_sent",
  "unknown",
  "failed",
  "abandoned",
] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

/** Records an import before its invites are reserved: a dead run's reservations can be found. */
export async function insertReservingImport(
  db: D1Database,
  entry: { id: string; runId: string; batchId: string; inviteIds: string[]; at: number },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO reconcile_imports (id, run_id, batch_id, status, invite_ids, contacts,
         created_at, updated_at)
       VALUES (?1, ?2, ?3, 'reserving', ?4, ?5, ?6, ?6)`,
    )
    .bind(
      entry.id,
      entry.runId,
      entry.batchId,
      JSON.stringify(entry.inviteIds),
      entry.inviteIds.length,
      entry.at,
    )
    .run();
}

/** Every shard reserved its share: the import lists exactly the invites it will carry. */
export async function markImportSending(
  db: D1Database,
  id: string,
  inviteIds: string[],
  at: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE reconcile_imports SET status = 'sending', invite_ids = ?2, contacts = ?3,
         updated_at = ?4
       WHERE id = ?1 AND status = 'reserving'`,
    )
    .bind(id, JSON.stringify(inviteIds), inviteIds.length, at)
    .run();
}

export async function deleteImport(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM reconcile_imports WHERE id = ?").bind(id).run();
}

/**
 * Qualtrics answered the import with its id: the invites wait for the import to reach 100%.
 * `knownContacts`: how many of a sample of its customers had been pushed before.
 */
export async function markImportAccepted(
  db: D1Database,
  entry: {
    id: string;
    qualtricsImportId: string;
    unprocessed: number[];
    knownContacts: number;
    at: number;
  },
): Promise<void> {
  // From `unknown` too: a run that outlived its lease may still learn the answer.
  await db
    .prepare(
      `UPDATE reconcile_imports SET status = 'accepted', qualtrics_import_id = ?2,
         unprocessed = ?3, known_contacts = ?4, updated_at = ?5, error = NULL
       WHERE id = ?1 AND status IN ('sending', 'unknown')`,
    )
    .bind(
      entry.id,
      entry.qualtricsImportId,
      JSON.stringify(entry.unprocessed),
      entry.knownContacts,
      entry.at,
    )
    .run();
}

/** Nobody knows whether Qualtrics did the import: its invites stay reserved (held). */
export async function markImportUnknown(
  db: D1Database,
  id: string,
  error: string,
  at: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE reconcile_imports SET status = 'unknown', updated_at = ?2, error = ?3
       WHERE id = ?1 AND status IN ('sending', 'accepted')`,
    )
    .bind(id, at, error)
    .run();
}

/** Imports left `sending` by runs that died mid-send (the caller holds the lease). */
export async function markAbandonedSendsUnknown(
  db: D1Database,
  currentRunId: string,
  at: number,
): Promise<number> {
  const { meta } = await db
    .prepare(
      `UPDATE reconcile_imports SET status = 'unknown', updated_at = ?2,
         error = 'run ' || run_id || ' stopped while sending this import: whether Qualtrics received it is unknown'
       WHERE status = 'sending' AND run_id <> ?1`,
    )
    .bind(currentRunId, at)
    .run();
  return meta.changes;
}

/** Imports left `reserving` by runs that died before sending them (nothing went out). */
export async function listAbandonedReservations(
  db: D1Database,
  currentRunId: string,
): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT id FROM reconcile_imports WHERE status = 'reserving' AND run_id <> ?")
    .bind(currentRunId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Ends an import that recorded nothing (its invites were released in their shards first). */
export async function endImportUnsent(
  db: D1Database,
  id: string,
  status: "not_sent" | "failed",
  error: string,
  at: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE reconcile_imports SET status = ?2, invite_ids = NULL, updated_at = ?3, error = ?4
       WHERE id = ?1 AND status IN ('reserving', 'sending', 'accepted')`,
    )
    .bind(id, status, at, error)
    .run();
}

export interface OpenImport {
  id: string;
  qualtrics_import_id: string;
  contacts: number;
  known_contacts: number;
}

export async function listAcceptedImports(db: D1Database): Promise<OpenImport[]> {
  const { results } = await db
    .prepare(
      `SELECT id, qualtrics_import_id, contacts, known_contacts FROM reconcile_imports
       WHERE status = 'accepted' ORDER BY created_at, id`,
    )
    .all<OpenImport>();
  return results;
}

export interface HeldImport {
  id: string;
  batch_id: string;
  contacts: number;
}

/** Imports whose outcome is unknown, sent before `createdBefore`, oldest first. */
export async function listHeldImports(
  db: D1Database,
  createdBefore: number,
  limit: number,
): Promise<HeldImport[]> {
  const { results } = await db
    .prepare(
      `SELECT id, batch_id, contacts FROM reconcile_imports
       WHERE status = 'unknown' AND created_at <= ?1 ORDER BY created_at, id LIMIT ?2`,
    )
    .bind(createdBefore, limit)
    .all<HeldImport>();
  return results;
}

export async function recordImportPoll(db: D1Database, id: string, at: number): Promise<void> {
  await db
    .prepare("UPDATE reconcile_imports SET polls = polls + 1, updated_at = ?2 WHERE id = ?1")
    .bind(id, at)
    .run();
}

/** What an import carries: `inviteIds[i]` was `contacts[i]`; `unprocessed` indexes Qualtrics refused. */
interface ImportContents {
  status: ImportStatus;
  inviteIds: string[];
  unprocessed: number[];
}

export async function getImportContents(
  db: D1Database,
  id: string,
): Promise<ImportContents | null> {
  const row = await db
    .prepare("SELECT status, invite_ids, unprocessed FROM reconcile_imports WHERE id = ?")
    .bind(id)
    .first<{ status: ImportStatus; invite_ids: string | null; unprocessed: string | null }>();
  if (!row) return null;
  return {
    status: row.status,
    inviteIds: JSON.parse(row.invite_ids ?? "[]") as string[],
    unprocessed: JSON.parse(row.unprocessed ?? "[]") as number[],
  };
}

/**
 * Settles an import whose invites were settled in their shards: `complete` (it reached 100%, or
 * an operator said Qualtrics received it) or `abandoned` (an operator said it did not). Only from
 * the status the caller read, so a settled import is settled once; the row as it is afterwards.
 */
export async function settleImport(
  db: D1Database,
  entry: {
    id: string;
    from: "accepted" | "unknown";
    to: "complete" | "abandoned";
    pushed: number;
    note: string | null;
    at: number;
  },
): Promise<ImportRow | null> {
  return db
    .prepare(
      `UPDATE reconcile_imports SET status = ?3, invite_ids = NULL, updated_at = ?4, pushed = ?5,
         error = CASE WHEN ?6 IS NULL THEN error ELSE COALESCE(error || '; ', '') || ?6 END
       WHERE id = ?1 AND status = ?2
       RETURNING ${IMPORT_COLUMNS}`,
    )
    .bind(entry.id, entry.from, entry.to, entry.at, entry.pushed, entry.note)
    .first<ImportRow>();
}

export interface ImportRow {
  id: string;
  run_id: string;
  batch_id: string;
  status: ImportStatus;
  qualtrics_import_id: string | null;
  contacts: number;
  pushed: number | null;
  polls: number;
  created_at: number;
  updated_at: number;
  error: string | null;
}

const IMPORT_COLUMNS = `id, run_id, batch_id, status, qualtrics_import_id, contacts, pushed, polls,
  created_at, updated_at, error`;

export async function listImports(
  db: D1Database,
  statuses: readonly ImportStatus[],
  limit: number,
): Promise<ImportRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${IMPORT_COLUMNS} FROM reconcile_imports
       WHERE status IN (SELECT value FROM json_each(?1))
       ORDER BY created_at DESC, id DESC LIMIT ?2`,
    )
    .bind(JSON.stringify(statuses), limit)
    .all<ImportRow>();
  return results;
}

export async function getImport(db: D1Database, id: string): Promise<ImportRow | null> {
  return db
    .prepare(`SELECT ${IMPORT_COLUMNS} FROM reconcile_imports WHERE id = ?`)
    .bind(id)
    .first<ImportRow>();
}

/** Invites in imports not yet settled: in flight (sending, accepted) and held (unknown). */
export async function importedBacklog(
  db: D1Database,
): Promise<{ inFlight: number; onHold: number }> {
  const row = await db
    .prepare(
      `SELECT SUM(CASE WHEN status IN ('reserving', 'sending', 'accepted') THEN contacts ELSE 0 END)
                AS in_flight,
              SUM(CASE WHEN status = 'unknown' THEN contacts ELSE 0 END) AS on_hold
       FROM reconcile_imports WHERE status IN ('reserving', 'sending', 'accepted', 'unknown')`,
    )
    .first<{ in_flight: number | null; on_hold: number | null }>();
  return { inFlight: row?.in_flight ?? 0, onHold: row?.on_hold ?? 0 };
}
