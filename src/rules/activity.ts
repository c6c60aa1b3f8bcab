/**
 * Opens and completions for the rules that count them (`count: "opened"`, `"completed"`): the
 * time is set on the invite's row of the customer's contact history, in the customer's shard.
 * The tap reports the first open after its redirect (in `waitUntil`, never on the customer's
 * path), reconcile each completion it records: an open is counted within seconds, a completion
 * at the reconcile run that reads it. Only while rules are configured (history is kept then).
 */
import type { Config } from "../config/config";
import { onShardsHolding, type Store } from "../store/store";
import { placeCustomer } from "./customer";

interface ContactActivity {
  customerId: string;
  inviteId: string;
  at: number;
}

const COLUMNS = { opened: "opened_at", completed: "completed_at" } as const;

/**
 * Sets `opened_at` or `completed_at` (once) on the history rows of these invites, in each
 * customer's shard and the shards a raise moved them from. One batch per shard involved.
 */
export async function recordContactActivity(
  store: Store,
  config: Config,
  earlierShardCounts: readonly number[],
  kind: keyof typeof COLUMNS,
  activity: readonly ContactActivity[],
): Promise<void> {
  if (config.contact.rules.length === 0 || activity.length === 0) return;
  const placed = await Promise.all(
    activity.map(async (a) => {
      const p = await placeCustomer(a.customerId, config.ledgerShards, earlierShardCounts);
      return [p.shard, ...p.earlier].map((shard) => ({ shard, id: a.inviteId, at: a.at }));
    }),
  );
  const column = COLUMNS[kind];
  await onShardsHolding(
    store,
    placed.flat(),
    (e) => e.shard,
    (db, entries) =>
      db
        .prepare(
          `UPDATE contact_history SET ${column} = e.value ->> '$.at'
           FROM json_each(?1) AS e
           WHERE contact_history.invite_id = e.value ->> '$.id' AND ${column} IS NULL`,
        )
        .bind(JSON.stringify(entries.map(({ id, at }) => ({ id, at }))))
        .run(),
  );
}
