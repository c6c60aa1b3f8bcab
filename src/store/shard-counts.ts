/**
 * The history of ledger shard counts, in the control database (migration 0015): every
 * LEDGER_SHARDS value applied by `provision-shards` or served by a Worker, when it was first and
 * last served, and when it retired. It answers three questions, for any feature that places
 * records by a hash over the shards (issue, and contact rules):
 *
 * - Is this Worker configured with fewer shards than were ever served? Then links and data on
 *   the missing shards would silently disappear: `shardCountProblem` says so, and the Worker
 *   answers as it does for any configuration error.
 * - Under which earlier counts may a record placed before a raise still sit? `earlierShardCounts`:
 *   every served count not retired, plus the LEDGER_SHARDS_PREVIOUS override.
 * - When can an earlier count be forgotten? Once no link issued under it can still be retried or
 *   tapped: the longest link lifetime and a day after it was last served (`retireAfterMs`).
 *
 * A count is served once a Worker runs with it: its first request (recorded in the background,
 * never on the tap's path) or its first scheduled run; every scheduled run refreshes it. Counts
 * that provision-shards applied but no Worker served yet do not count as served, so the Worker
 * still running the old count keeps serving until the deploy.
 *
 * Reads are cached per isolate (`shardCountsFor`, a minute): requests compare the configured
 * count with the cached history, and the tap only ever reads the cache.
 *
 * @example
 * const counts = await shardCountsFor(store);
 * const earlier = earlierShardCounts(counts, config.ledgerShards, config.previousLedgerShards);
 * const { shard } = await placeTransaction(survey, transactionId, config.ledgerShards, earlier);
 */
import type { Config } from "../config/config";
import { controlDb, type Store } from "./store";

/** One count of the history; times are Unix ms. */
interface ShardCountRecord {
  shards: number;
  /** When provision-shards applied it; null when it did not (a count set by hand). */
  appliedAt: number | null;
  /** When a Worker first and last served with it; null while none has. */
  firstSeen: number | null;
  lastSeen: number | null;
  /** When it retired: its links can no longer be retried or tapped. */
  retiredAt: number | null;
}

export interface ShardCounts {
  /** Every count recorded, lowest first. */
  records: readonly ShardCountRecord[];
  /** The highest count a Worker ever served; 0 before any did. */
  highestServed: number;
}

const DAY_MS = 86_400_000;
/** How long a Worker trusts the history it read: a minute, per isolate. */
const CACHE_MS = 60_000;
/** Link lifetime when no survey says (config.ts's default maxTtlSeconds). */
const DEFAULT_MAX_LINK_LIFETIME_MS = 30 * DAY_MS;

interface Row {
  shards: number;
  applied_at: number | null;
  first_seen: number | null;
  last_seen: number | null;
  retired_at: number | null;
}

const SELECT_HISTORY =
  "SELECT shards, applied_at, first_seen, last_seen, retired_at FROM ledger_shard_counts ORDER BY shards";

function fromRows(rows: readonly Row[]): ShardCounts {
  const records = rows.map((r) => ({
    shards: r.shards,
    appliedAt: r.applied_at,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    retiredAt: r.retired_at,
  }));
  const served = records.filter((r) => r.firstSeen !== null).map((r) => r.shards);
  return { records, highestServed: Math.max(0, ...served) };
}

/** Per isolate (keyed by the control database), the history as last read and when. */
const cache = new WeakMap<object, { counts: ShardCounts; at: number }>();

function remember(store: Store, counts: ShardCounts, at: number): ShardCounts {
  const key = store.shardKey(0);
  if (key) cache.set(key, { counts, at });
  return counts;
}

/** The history as the control database holds it now (one query); the cache is refreshed too. */
export async function readShardCounts(store: Store, now = Date.now()): Promise<ShardCounts> {
  const { results } = await controlDb(store).prepare(SELECT_HISTORY).all<Row>();
  return remember(store, fromRows(results), now);
}

/** The history this isolate read last, and whether it is still fresh; undefined before any. */
export function cachedShardCounts(
  store: Store,
  now = Date.now(),
): { counts: ShardCounts; fresh: boolean } | undefined {
  const key = store.shardKey(0);
  const entry = key && cache.get(key);
  return entry ? { counts: entry.counts, fresh: now - entry.at < CACHE_MS } : undefined;
}

/**
 * The history, from this isolate's cache while it is fresh, else read again. A read that fails
 * falls back on the history read before, if any (and throws when there is none).
 */
export async function shardCountsFor(store: Store, now = Date.now()): Promise<ShardCounts> {
  const cached = cachedShardCounts(store, now);
  if (cached?.fresh) return cached.counts;
  try {
    return await readShardCounts(store, now);
  } catch (error) {
    if (cached) return cached.counts;
    throw error;
  }
}

/**
 * Records that this Worker serves `count` now, and retires the other counts last served more
 * than `retireAfter` ms ago; one round trip, returning the history after it. A count lower than
 * the highest served is not recorded (see `shardCountProblem`).
 */
export async function recordServedShardCount(
  store: Store,
  count: number,
  now: number,
  retireAfter: number,
): Promise<ShardCounts> {
  const db = controlDb(store);
  const notLowered = `?1 >= (SELECT ifnull(max(shards), 0) FROM ledger_shard_counts
    WHERE first_seen IS NOT NULL)`;
  const [, , history] = await db.batch<Row>([
    db
      .prepare(
        `INSERT INTO ledger_shard_counts (shards, first_seen, last_seen)
         SELECT ?1, ?2, ?2 WHERE ${notLowered}
         ON CONFLICT (shards) DO UPDATE SET first_seen = ifnull(first_seen, excluded.first_seen),
           last_seen = max(ifnull(last_seen, 0), excluded.last_seen), retired_at = NULL`,
      )
      .bind(count, now),
    db
      .prepare(
        `UPDATE ledger_shard_counts SET retired_at = ?2
         WHERE shards != ?1 AND retired_at IS NULL AND first_seen IS NOT NULL
           AND last_seen < ?3 AND ${notLowered}`,
      )
      .bind(count, now, now - retireAfter),
    db.prepare(SELECT_HISTORY),
  ]);
  return remember(store, fromRows(history?.results ?? []), now);
}

/** How long after a count was last served it retires: the longest link lifetime and a day. */
export function retireAfterMs(config: Config): number {
  const lifetimes = [...config.surveys.values()].map((s) => s.maxTtlSeconds * 1000);
  return Math.max(DEFAULT_MAX_LINK_LIFETIME_MS, ...lifetimes) + DAY_MS;
}

/** True when `configured` was never served (its Worker should record it, once). */
export const unservedShardCount = (counts: ShardCounts, configured: number): boolean =>
  !counts.records.some((r) => r.shards === configured && r.firstSeen !== null);

/** Why `configured` must not serve (fewer shards than ever served), or null when it may. */
export function shardCountProblem(counts: ShardCounts, configured: number): string | null {
  if (configured >= counts.highestServed) return null;
  return (
    `LEDGER_SHARDS is ${configured} but ${counts.highestServed} shards were served: ` +
    `links and data on shards ${configured}…${counts.highestServed - 1} would not be found. ` +
    `Set LEDGER_SHARDS back to ${counts.highestServed}; a shard count is never lowered`
  );
}

/**
 * The earlier shard counts a record placed by hash may still sit under: every count served and
 * not retired, below `configured`, with the operator's `override` (LEDGER_SHARDS_PREVIOUS).
 */
function earlierShardCounts(
  counts: ShardCounts,
  configured: number,
  override: readonly number[] = [],
): number[] {
  const served = counts.records
    .filter((r) => r.firstSeen !== null && r.retiredAt === null)
    .map((r) => r.shards);
  return [...new Set([...served, ...override])].filter((n) => n < configured).sort((a, b) => a - b);
}

/**
 * Every count ever served below `configured` (retired ones too), with the override: where records
 * placed by a customer may still sit. Unlike links, a customer's contact history and opt-out
 * outlive any link lifetime (the longest rule window; an opt-out for good), so no count is ever
 * forgotten for them; a count that moved nobody costs nothing (the shard is the same).
 */
export function everServedShardCounts(
  counts: ShardCounts,
  configured: number,
  override: readonly number[] = [],
): number[] {
  const served = counts.records.filter((r) => r.firstSeen !== null).map((r) => r.shards);
  return [...new Set([...served, ...override])].filter((n) => n < configured).sort((a, b) => a - b);
}

/**
 * For a request placing records by hash: the counts links may sit under (`earlier`) and the ones
 * customers' records may (`everServed`), from this isolate's cached history.
 */
export async function placementCounts(
  store: Store,
  config: Pick<Config, "ledgerShards" | "previousLedgerShards">,
): Promise<{ earlier: number[]; everServed: number[] }> {
  const counts = await shardCountsFor(store);
  const { ledgerShards, previousLedgerShards } = config;
  return {
    earlier: earlierShardCounts(counts, ledgerShards, previousLedgerShards),
    everServed: everServedShardCounts(counts, ledgerShards, previousLedgerShards),
  };
}
