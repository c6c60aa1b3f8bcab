/**
 * Suppression records in the shard where survey + transactionId place them (where an invite for
 * the pair would have gone), so a retried call finds its decision there like an issued link; a
 * trigger (migrations/0016) keeps an invite and a suppression for one pair from both existing.
 */
import type { SuppressionReason } from "./evaluate";

export interface NewSuppression {
  shard: number;
  survey: string;
  transactionId: string;
  customerRef: string;
  trigger: string;
  channel: string | null;
  requestHash: string;
  reason: SuppressionReason;
  rule: string | null;
  eligibleAt: number | null;
  decidedAt: number;
}

export interface SuppressionRow {
  survey: string;
  transaction_id: string;
  customer_ref: string | null;
  trigger: string;
  channel: string | null;
  request_hash: string;
  reason: SuppressionReason;
  rule: string | null;
  eligible_at: number | null;
  decided_at: number;
}

/** Inserts suppressions into one shard; per input, whether it was inserted (no decision before). */
export async function insertSuppressionRows(
  db: D1Database,
  rows: readonly NewSuppression[],
): Promise<boolean[]> {
  const statement = db.prepare(
    `INSERT INTO suppressions (survey, transaction_id, customer_ref, trigger, channel,
       request_hash, reason, rule, eligible_at, decided_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (survey, transaction_id) DO NOTHING
     RETURNING survey`,
  );
  const results = await db.batch(
    rows.map((r) =>
      statement.bind(
        r.survey,
        r.transactionId,
        r.customerRef,
        r.trigger,
        r.channel,
        r.requestHash,
        r.reason,
        r.rule,
        r.eligibleAt,
        r.decidedAt,
      ),
    ),
  );
  return results.map((r) => r.results.length === 1);
}

/** The suppressions recorded for (survey, transactionId) pairs in one shard, in input order. */
export async function selectSuppressionRows(
  db: D1Database,
  keys: readonly { survey: string; transactionId: string }[],
): Promise<(SuppressionRow | null)[]> {
  const statement = db.prepare(
    "SELECT * FROM suppressions WHERE survey = ? AND transaction_id = ?",
  );
  const results = await db.batch<SuppressionRow>(
    keys.map((k) => statement.bind(k.survey, k.transactionId)),
  );
  return results.map((r) => r.results[0] ?? null);
}
