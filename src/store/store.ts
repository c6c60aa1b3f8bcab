/**
 * The shared invite core: the ledger's shards (D1) and the links namespace (KV), and the helpers
 * that run work on the shards. Features keep their own SQL (stats, privacy, retention, reconcile)
 * and reach shards only through a `Store`; the invite row, the claim and the KV marks are this
 * folder's (`invite-rows.ts`, `links.ts`), so only it knows KV keys and metadata shapes.
 *
 * A store is opened once per invocation (each request, each scheduled run) with that invocation's
 * limits (limits.ts): every binding it hands out goes through them, and the raw bindings are
 * reachable nowhere else, so no loop over shards can hold more than six connections or spend more
 * than the invocation's budget of storage calls.
 */
import { ConfigError, getConfig, shardBinding } from "../config/config";
import type { Env } from "../config/env";
import { inviteIdShard } from "../tokens/ids";
import { type LinkKv, limitedDatabase, limitedKv } from "./limited-bindings";
import { InvocationLimits } from "./limits";

export interface Store {
  /** KV: signed tokens and consumed marks, by invite id (links.ts). */
  readonly kv: LinkKv;
  /** Ledger shard i at index i; shard 0 also holds the control tables (reconcile runs…). */
  readonly shards: readonly D1Database[];
  /** The invocation's connections and storage budget, which every call above goes through. */
  readonly limits: InvocationLimits;
  /** Shard `shard` alone (wrapped on first use); undefined beyond the shard count. */
  shard(shard: number): D1Database | undefined;
  /**
   * A key for shard `shard` that is the same in every invocation of this isolate, for caches
   * that outlive a request (never a way to reach the shard). Undefined beyond the shard count.
   */
  shardKey(shard: number): object | undefined;
  /** The same store with only `budget` of this one's storage calls (one job of a run). */
  share(budget: number): Store;
}

/** Per binding, the key `shardKey` names it by: stable per isolate, useless for queries. */
const shardKeys = new WeakMap<D1Database, object>();

function keyOf(db: D1Database): object {
  let key = shardKeys.get(db);
  if (!key) {
    key = {};
    shardKeys.set(db, key);
  }
  return key;
}

/** LEDGER_SHARDS, or 1 (DB alone) while the configuration is broken: enough to report it. */
function configuredShards(env: Env): number {
  try {
    return getConfig(env).ledgerShards;
  } catch (error) {
    if (error instanceof ConfigError) return 1;
    throw error;
  }
}

/**
 * The store of one invocation: the configured shards (DB, DB_1, …) and KV, all through
 * `limits`. Shards are wrapped on first use, so a tap that touches one shard pays for one.
 *
 * @example
 * const store = openStore(env); // once per request or scheduled run
 */
export function openStore(env: Env, limits: InvocationLimits = new InvocationLimits()): Store {
  const shardCount = configuredShards(env);
  const raw = (shard: number): D1Database | undefined =>
    Number.isInteger(shard) && shard >= 0 && shard < shardCount
      ? env[shardBinding(shard)]
      : undefined;
  const wrapped: D1Database[] = [];
  const shard = (index: number): D1Database | undefined => {
    const cached = wrapped[index];
    if (cached) return cached;
    const db = raw(index);
    if (!db) return undefined;
    wrapped[index] = limitedDatabase(db, limits);
    return wrapped[index];
  };
  let all: D1Database[] | undefined;
  return {
    kv: limitedKv(env.LINKS, limits),
    get shards() {
      all ??= Array.from({ length: shardCount }, (_, i) => {
        const db = shard(i);
        if (!db) throw new Error(`${shardBinding(i)} is not bound`); // config checked it
        return db;
      });
      return all;
    },
    limits,
    shard,
    shardKey: (index) => {
      const db = raw(index);
      return db && keyOf(db);
    },
    share: (budget) => openStore(env, limits.share(budget)),
  };
}

/** The database of the control tables: reconcile runs, lease, imports, exports, stamp jobs. */
export const controlDb = (store: Store): D1Database => store.shards[0] as D1Database;

/** The shard holding invite `id`; undefined when the id names a shard that does not exist. */
export const shardOf = (store: Store, id: string): D1Database | undefined =>
  store.shard(inviteIdShard(id));

/**
 * Items grouped by shard, each with its index in `items`, so per-shard results can be put back
 * in input order.
 */
function groupByShard<T>(
  items: readonly T[],
  shardOfItem: (item: T) => number,
): Map<number, { index: number; item: T }[]> {
  const groups = new Map<number, { index: number; item: T }[]>();
  items.forEach((item, index) => {
    const shard = shardOfItem(item);
    const group = groups.get(shard) ?? [];
    group.push({ index, item });
    groups.set(shard, group);
  });
  return groups;
}

/**
 * Runs `work` in parallel on each shard that holds some of `items`, with those items (in input
 * order); items naming a shard that does not exist are left out. Results in no particular order.
 */
export function onShardsHolding<T, R>(
  store: Store,
  items: readonly T[],
  shardOfItem: (item: T) => number,
  work: (db: D1Database, items: T[]) => Promise<R>,
): Promise<R[]> {
  const jobs: Promise<R>[] = [];
  for (const [shard, group] of groupByShard(items, shardOfItem)) {
    const db = store.shard(shard);
    if (db)
      jobs.push(
        work(
          db,
          group.map((g) => g.item),
        ),
      );
  }
  return Promise.all(jobs);
}

/**
 * Runs `work` in parallel on each shard holding some of `items` (one call per shard, with its
 * items in input order) and puts the per-item results back in input order. Items naming a shard
 * that does not exist get `missing(shard)`, which may throw.
 */
export async function mapOnShards<T, R>(
  store: Store,
  items: readonly T[],
  shardOfItem: (item: T) => number,
  work: (db: D1Database, items: T[]) => Promise<readonly R[]>,
  missing: (shard: number) => R,
): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = items.map(() => undefined);
  await Promise.all(
    [...groupByShard(items, shardOfItem)].map(async ([shard, group]) => {
      const db = store.shard(shard);
      const found = db
        ? await work(
            db,
            group.map((g) => g.item),
          )
        : group.map(() => missing(shard));
      group.forEach((g, i) => {
        results[g.index] = found[i];
      });
    }),
  );
  return results;
}

/** Oldest first by issue time, then by id: the order shards' answers are merged in. */
export const byIssuedThenId = (
  a: { issued_at: number; id: string },
  b: { issued_at: number; id: string },
): number => a.issued_at - b.issued_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Runs `read` on every shard in parallel; results in shard order. */
export function onEveryShard<T>(
  store: Store,
  read: (db: D1Database, shard: number) => Promise<T>,
): Promise<T[]> {
  return Promise.all(store.shards.map((db, shard) => read(db, shard)));
}
