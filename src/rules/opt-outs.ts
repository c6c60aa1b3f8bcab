/**
 * Opt-outs ("do not survey"): recorded, lifted and looked up by a versioned keyed hash of the
 * customer id, in the customer's home shard (`customer.ts`), and found under every key version and
 * on every shard a raise moved the customer from. A second opt-out adds its surveys to the
 * first; a removal lifts all. The hash alone is kept: an opt-out survives a privacy erasure.
 */
import type { Config } from "../config/config";
import { ConfigError } from "../config/config";
import { onShardsHolding, type Store } from "../store/store";
import { customerHashes, placeCustomer } from "./customer";
import type { OptOutRecord } from "./evaluate";
import { optOutRecord } from "./home-rows";
import type { OptOutStatus } from "./schema";

const HASHES = "(SELECT value FROM json_each(?1))";

export interface OptOutContext {
  config: Config;
  store: Store;
  /** Every shard count ever served below LEDGER_SHARDS. */
  earlierShardCounts: readonly number[];
}

async function customer(ctx: OptOutContext, customerId: string) {
  const keys = ctx.config.contact.hashKeys;
  if (keys.length === 0) {
    throw new ConfigError("CUSTOMER_HASH_KEY is not set (required to record opt-outs)");
  }
  const placement = await placeCustomer(
    customerId,
    ctx.config.ledgerShards,
    ctx.earlierShardCounts,
  );
  return {
    hashes: await customerHashes(keys, customerId),
    home: placement.shard,
    shards: [placement.shard, ...placement.earlier],
  };
}

async function readOptOuts(
  store: Store,
  shards: readonly number[],
  hashes: readonly string[],
): Promise<OptOutRecord[]> {
  const found = await onShardsHolding(
    store,
    shards,
    (s) => s,
    async (db) => {
      const { results } = await db
        .prepare(`SELECT surveys, since FROM opt_outs WHERE customer_hash IN ${HASHES}`)
        .bind(JSON.stringify(hashes))
        .all<{ surveys: string | null; since: number }>();
      return results.map((r) => optOutRecord(r.surveys, r.since));
    },
  );
  return found.flat();
}

/** Several records as one: every survey if any says so, else the union; the first `since`. */
function merged(records: readonly OptOutRecord[]): OptOutRecord | null {
  if (records.length === 0) return null;
  const since = Math.min(...records.map((r) => r.since));
  if (records.some((r) => r.surveys === null)) return { surveys: null, since };
  return { surveys: [...new Set(records.flatMap((r) => r.surveys ?? []))].sort(), since };
}

const status = (record: OptOutRecord | null): OptOutStatus =>
  record
    ? {
        optedOut: true,
        surveys: record.surveys ? [...record.surveys] : "all",
        since: new Date(record.since).toISOString(),
      }
    : { optedOut: false, surveys: null, since: null };

/**
 * Records an opt-out for `surveys` (null: every survey), added to any the customer has; answers
 * what is recorded now.
 */
export async function recordOptOut(
  ctx: OptOutContext,
  customerId: string,
  surveys: readonly string[] | null,
  now: number,
): Promise<OptOutStatus> {
  const c = await customer(ctx, customerId);
  const before = merged(await readOptOuts(ctx.store, c.shards, c.hashes));
  const wanted = merged([...(before ? [before] : []), { surveys, since: now }]);
  const db = ctx.store.shard(c.home);
  if (!db || !wanted) throw new Error("the customer's home shard is configured");
  // The union is taken again in SQL: a concurrent opt-out's surveys are not lost.
  const row = await db
    .prepare(
      `INSERT INTO opt_outs (customer_hash, surveys, since) VALUES (?1, ?2, ?3)
       ON CONFLICT (customer_hash) DO UPDATE SET
         surveys = CASE WHEN opt_outs.surveys IS NULL OR excluded.surveys IS NULL THEN NULL
           ELSE (SELECT json_group_array(value) FROM (SELECT value FROM json_each(opt_outs.surveys)
                 UNION SELECT value FROM json_each(excluded.surveys))) END,
         since = min(opt_outs.since, excluded.since)
       RETURNING surveys, since`,
    )
    .bind(
      c.hashes[0],
      wanted.surveys === null ? null : JSON.stringify(wanted.surveys),
      wanted.since,
    )
    .first<{ surveys: string | null; since: number }>();
  return status(row ? merged([optOutRecord(row.surveys, row.since), wanted]) : wanted);
}

/** Lifts every opt-out of the customer (every survey, every key version, every shard). */
export async function removeOptOut(ctx: OptOutContext, customerId: string): Promise<OptOutStatus> {
  const c = await customer(ctx, customerId);
  await onShardsHolding(
    ctx.store,
    c.shards,
    (s) => s,
    (db) =>
      db
        .prepare(`DELETE FROM opt_outs WHERE customer_hash IN ${HASHES}`)
        .bind(JSON.stringify(c.hashes))
        .run(),
  );
  return status(null);
}

/** What is recorded for the customer. */
export async function lookUpOptOut(ctx: OptOutContext, customerId: string): Promise<OptOutStatus> {
  const c = await customer(ctx, customerId);
  return status(merged(await readOptOuts(ctx.store, c.shards, c.hashes)));
}
