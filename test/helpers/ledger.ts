/**
 * Direct access to the ledger's shards for assertions and setup: which shard holds an invite,
 * every shard at once, and an `env` whose shards are wrapped (faults, recorders). The suite runs
 * once per shard count (vitest.config.ts), so tests read the shards through these helpers.
 */
import { applyD1Migrations, env } from "cloudflare:test";
import { shardBinding } from "../../src/config/config";
import type { Env } from "../../src/config/env";
import { readShardCounts } from "../../src/store/shard-counts";
import { openStore } from "../../src/store/store";
import { inviteIdShard } from "../../src/tokens/ids";

/** LEDGER_SHARDS of this test project. */
export const SHARDS = Number(env.LEDGER_SHARDS ?? "1");

/** Every shard's D1 binding, shard i at index i (shard 0 also holds the control tables). */
export function allShards(source: Env = env): D1Database[] {
  return Array.from({ length: SHARDS }, (_, i) => {
    const db = source[shardBinding(i)];
    if (!db) throw new Error(`${shardBinding(i)} is not bound`);
    return db;
  });
}

/**
 * Applies the migrations to shards 0 to `count` - 1, each that is bound, one after another: for
 * tests that issue with more shards than this project's LEDGER_SHARDS.
 */
export async function migrateShards(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const db = env[shardBinding(i)];
    if (db) await applyD1Migrations(db, env.TEST_MIGRATIONS);
  }
}

/** The shard holding invite `id` (any bound shard: tests may issue with another count). */
export function ledgerOf(id: string): D1Database {
  const db = env[shardBinding(inviteIdShard(id))];
  if (!db) throw new Error(`invite ${id} names shard ${inviteIdShard(id)}, which is not bound`);
  return db;
}

/** Every shard binding replaced by `wrap(db, index)`, as overrides to merge into an `env`. */
export function wrapShards(wrap: (db: D1Database, shard: number) => D1Database): Partial<Env> {
  const wrapped: Partial<Env> = {};
  allShards().forEach((db, i) => {
    wrapped[shardBinding(i)] = wrap(db, i);
  });
  return wrapped;
}

/** Overrides whose shards fail every batch (a claim) with `message`: an outage, or a bug. */
export function failingBatches(message: string): Partial<Env> {
  return wrapShards(
    (db) =>
      new Proxy(db, {
        get: (target, property) =>
          property === "batch"
            ? () => Promise.reject(new Error(message))
            : Reflect.get(target, property).bind(target),
      }),
  );
}

/** Runs one D1 call (`d1.first`, `d1.all`, `d1.run`, `d1.raw`, `d1.batch`) for a tracing wrapper. */
type AroundCall = <T>(what: string, call: () => Promise<T>) => Promise<T>;

/**
 * Every shard binding wrapped so that each call leaving the Worker (a statement's first, all, run
 * or raw; a batch) runs through `around`: to record, count or hold it. Overrides for an `env`.
 */
export function aroundShardCalls(around: AroundCall): Partial<Env> {
  const real = new WeakMap<object, D1PreparedStatement>();
  const runs = new Set<PropertyKey>(["first", "all", "run", "raw"]);
  const statement = (s: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(s, {
      get(target, property) {
        if (property === "bind") {
          return (...values: unknown[]) => statement(target.bind(...values));
        }
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (!runs.has(property)) return value.bind(target);
        return (...args: unknown[]) =>
          around(`d1.${String(property)}`, () =>
            (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
          );
      },
    });
    real.set(proxy, s);
    return proxy;
  };
  return wrapShards(
    (db) =>
      new Proxy(db, {
        get(target, property) {
          if (property === "prepare") return (sql: string) => statement(target.prepare(sql));
          if (property === "batch") {
            return (statements: D1PreparedStatement[]) =>
              around("d1.batch", () => target.batch(statements.map((s) => real.get(s) ?? s)));
          }
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
  );
}

/** Rows of `sql` from every shard, concatenated in shard order. */
export async function fromEveryShard<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  const results = await Promise.all(
    allShards().map(
      async (db) =>
        (
          await db
            .prepare(sql)
            .bind(...params)
            .all<T>()
        ).results,
    ),
  );
  return results.flat();
}

/** Runs a write statement on every shard. */
export async function onEveryShard(sql: string, ...params: unknown[]): Promise<void> {
  await Promise.all(
    allShards().map((db) =>
      db
        .prepare(sql)
        .bind(...params)
        .run(),
    ),
  );
}

/**
 * Empties the shard-count history, and this isolate's cached copy of it: test files share both
 * (one runtime per worker), so a count a file served must not refuse the next file's requests.
 */
export async function clearShardCounts(): Promise<void> {
  await env.DB.prepare("DELETE FROM ledger_shard_counts").run();
  await readShardCounts(openStore(env));
}
