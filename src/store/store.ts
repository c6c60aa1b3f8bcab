/**
 * The shared invite core: the ledger's shards (D1) and the links namespace (KV), and the helpers
 * that run work on the shards. Features keep their own SQL (stats, privacy, retention, reconcile)
 * and reach shards through `getStore`; the invite row, the claim and the KV marks are this
 * folder's (`invite-rows.ts`, `links.ts`), so only it knows KV keys and metadata shapes.
 */
import { getConfig, shardBinding } from "../config/config";
import type { Env } from "../config/env";
import { inviteIdShard } from "../tokens/ids";

export interface Store {
  /** KV: signed tokens and consumed marks, by invite id. */
  readonly kv: KVNamespace;
  /** Ledger shard i at index i; shard 0 also holds the control tables (reconcile runs…). */
  readonly shards: readonly D1Database[];
}

const stores = new WeakMap<Env, Store>();

/** The store of this `env` (bindings resolved once per isolate and `env`). */
export function getStore(env: Env): Store {
  let store = stores.get(env);
  if (!store) {
    const { ledgerShards } = getConfig(env);
    const shards = Array.from({ length: ledgerShards }, (_, i) => {
      const db = env[shardBinding(i)];
      if (!db) throw new Error(`${shardBinding(i)} is not bound`); // config checked it
      return db;
    });
    store = { kv: env.LINKS, shards };
    stores.set(env, store);
  }
  return store;
}

/** The database of the control tables: reconcile runs, lease, imports, exports, stamp jobs. */
export const controlDb = (store: Store): D1Database => store.shards[0] as D1Database;

/** The same database straight from the bindings (binding DB), for when the config is broken. */
export const controlDbOf = (env: Env): D1Database => env.DB;

/** The shard holding invite `id`; undefined when the id names a shard that does not exist. */
export const shardOf = (store: Store, id: string): D1Database | undefined =>
  store.shards[inviteIdShard(id)];

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
    const db = store.shards[shard];
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
      const db = store.shards[shard];
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
