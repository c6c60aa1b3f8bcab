/**
 * A customer's contact records for the privacy API and the retention purge: their contact history
 * (in their shard and the shards a raise moved them from), their suppression records (by customer
 * id, on every shard) and their opt-out. Erasure removes the history and the suppressions and
 * keeps the opt-out (a keyed hash only: the person stays not surveyed). Retention deletes history
 * older than the longest rule window, and clears the customer id of suppressions past
 * RETENTION_DAYS.
 */
import type { Config } from "../config/config";
import { onEveryShard, onShardsHolding, type Store } from "../store/store";
import { customerHashes, placeCustomer } from "./customer";
import { longestWindowMs, type SuppressionReason } from "./evaluate";
import { lookUpOptOut } from "./opt-outs";
import type { OptOutStatus } from "./schema";

const HASHES = "(SELECT value FROM json_each(?1))";

interface ContactRecords {
  history: {
    survey: string;
    transactionId: string;
    trigger: string;
    outcome: "issued" | "suppressed";
    decidedAt: string;
    openedAt: string | null;
    completedAt: string | null;
  }[];
  suppressions: {
    survey: string;
    transactionId: string;
    trigger: string;
    reason: SuppressionReason;
    rule: string | null;
    decidedAt: string;
  }[];
  optOut: OptOutStatus | null;
}

interface Customer {
  hashes: string[];
  shards: number[];
}

async function locate(
  config: Config,
  earlierCounts: readonly number[],
  customerId: string,
): Promise<Customer | null> {
  if (config.contact.hashKeys.length === 0) return null;
  const placement = await placeCustomer(customerId, config.ledgerShards, earlierCounts);
  return {
    hashes: await customerHashes(config.contact.hashKeys, customerId),
    shards: [placement.shard, ...placement.earlier],
  };
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What invite-edge holds about the customer's contacts (one round over the shards). */
export async function findContactRecords(
  store: Store,
  config: Config,
  earlierCounts: readonly number[],
  customerId: string,
): Promise<ContactRecords> {
  const customer = await locate(config, earlierCounts, customerId);
  const [history, suppressions, optOut] = await Promise.all([
    customer
      ? onShardsHolding(
          store,
          customer.shards,
          (s) => s,
          async (db) => {
            const { results } = await db
              .prepare(
                `SELECT survey, transaction_id, trigger, outcome, decided_at, opened_at, completed_at
               FROM contact_history WHERE customer_hash IN ${HASHES} ORDER BY decided_at`,
              )
              .bind(JSON.stringify(customer.hashes))
              .all<Record<string, string | number | null>>();
            return results;
          },
        )
      : [],
    onEveryShard(store, async (db) => {
      const { results } = await db
        .prepare(
          `SELECT survey, transaction_id, trigger, reason, rule, decided_at FROM suppressions
           WHERE customer_ref = ?1 ORDER BY decided_at`,
        )
        .bind(customerId)
        .all<Record<string, string | number | null>>();
      return results;
    }),
    customer
      ? lookUpOptOut({ config, store, earlierShardCounts: earlierCounts }, customerId)
      : null,
  ]);
  return {
    history: history.flat().map((r) => ({
      survey: String(r.survey),
      transactionId: String(r.transaction_id),
      trigger: String(r.trigger),
      outcome: r.outcome as "issued" | "suppressed",
      decidedAt: new Date(Number(r.decided_at)).toISOString(),
      openedAt: isoOrNull(r.opened_at as number | null),
      completedAt: isoOrNull(r.completed_at as number | null),
    })),
    suppressions: suppressions.flat().map((r) => ({
      survey: String(r.survey),
      transactionId: String(r.transaction_id),
      trigger: String(r.trigger),
      reason: r.reason as SuppressionReason,
      rule: r.rule === null ? null : String(r.rule),
      decidedAt: new Date(Number(r.decided_at)).toISOString(),
    })),
    optOut,
  };
}

/** Deletes the customer's contact history and suppression records; keeps the opt-out. */
export async function eraseContactRecords(
  store: Store,
  config: Config,
  earlierCounts: readonly number[],
  customerId: string,
): Promise<void> {
  const customer = await locate(config, earlierCounts, customerId);
  await Promise.all([
    customer &&
      onShardsHolding(
        store,
        customer.shards,
        (s) => s,
        (db) =>
          db
            .prepare(`DELETE FROM contact_history WHERE customer_hash IN ${HASHES}`)
            .bind(JSON.stringify(customer.hashes))
            .run(),
      ),
    onEveryShard(store, (db) =>
      db.prepare("DELETE FROM suppressions WHERE customer_ref = ?1").bind(customerId).run(),
    ),
  ]);
}

/**
 * The retention of contact records: history older than the longest rule window goes (all of it
 * once no rule is left, since history is kept only while rules exist; nothing while the rules
 * are broken), and suppressions decided before `personalDataBefore` lose their customer id.
 */
export async function purgeContactRecords(
  store: Store,
  config: Config,
  now: number,
  personalDataBefore: number,
): Promise<void> {
  const historyBefore =
    config.contact.problems.length > 0 ? null : now - longestWindowMs(config.contact.rules);
  await onEveryShard(store, (db) =>
    db.batch([
      db
        .prepare(
          `DELETE FROM contact_history WHERE ?1 IS NOT NULL AND decided_at < ?1
             AND ifnull(opened_at, 0) < ?1 AND ifnull(completed_at, 0) < ?1`,
        )
        .bind(historyBefore),
      db
        .prepare(
          "UPDATE suppressions SET customer_ref = NULL WHERE customer_ref IS NOT NULL AND decided_at < ?1",
        )
        .bind(personalDataBefore),
    ]),
  );
}
