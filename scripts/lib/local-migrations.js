// @ts-check
/**
 * Applies the D1 migrations to local ledger shards the way `wrangler d1 migrations apply
 * --local` does (the same `d1_migrations` table and rows, wrangler's own SQL splitter, one
 * batch per migration with its row), but in one local runtime for every shard. Wrangler starts
 * a new runtime per migration, about 12 s for a fresh shard; this takes about 3 s for all of
 * them, which is most of the wait of a first `npm start`.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { getPlatformProxy, unstable_splitSqlQuery } from "wrangler";

// Wrangler's default table and its exact definition, so `wrangler d1 migrations` reads ours.
const TABLE = "d1_migrations";
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${TABLE}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`;

/**
 * What is used of a D1 binding (the Workers types are not in scope for scripts).
 * @typedef {{ run(): Promise<unknown>, all(): Promise<{ results: Record<string, unknown>[] }> }} Statement
 * @typedef {{ prepare(sql: string): Statement, batch(statements: Statement[]): Promise<unknown> }} LocalD1
 */

/** The migration files in wrangler's order: by their number prefix. @param {string} dir */
function migrationNames(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b));
}

/**
 * Migrates each of `bindings` and returns one line per shard ("DB: 15 migration(s) applied").
 * @param {{ bindings: string[], configPath: string, persistTo?: string, migrationsDir: string }} options
 * @returns {Promise<string[]>}
 */
export async function migrateLocalShards({ bindings, configPath, persistTo, migrationsDir }) {
  // `wrangler dev --persist-to DIR` keeps its state in DIR/v3, as the proxy's `path` does.
  const persist = persistTo ? { path: path.join(persistTo, "v3") } : true;
  const proxy = await getPlatformProxy({ configPath, persist });
  try {
    const names = migrationNames(migrationsDir);
    const lines = [];
    for (const binding of bindings) {
      const db = /** @type {LocalD1 | undefined} */ (proxy.env[binding]);
      if (!db) throw new Error(`${configPath} binds no D1 database named ${binding}`);
      await db.prepare(CREATE_TABLE).run();
      const { results } = await db.prepare(`SELECT name FROM ${TABLE}`).all();
      const applied = new Set(results.map((row) => row.name));
      let count = 0;
      for (const name of names.filter((n) => !applied.has(n))) {
        const sql = `${readFileSync(path.join(migrationsDir, name), "utf8")}
INSERT INTO ${TABLE} (name) values ('${name}');`;
        try {
          await db.batch(unstable_splitSqlQuery(sql).map((query) => db.prepare(query)));
        } catch (error) {
          const cause = error instanceof Error ? (error.cause ?? error) : error;
          throw new Error(`${binding}: ${name} failed: ${String(cause)}`);
        }
        count++;
      }
      lines.push(
        `${binding}: ${count > 0 ? `${count} migration(s) applied` : "migrations up to date"}`,
      );
    }
    return lines;
  } finally {
    await proxy.dispose();
  }
}
