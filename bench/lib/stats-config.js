// @ts-check
/**
 * The stats phase's Worker configuration and ledger setup. The phase runs the service on 32
 * local shards, more than the service's wrangler.toml binds (DB … DB_7), so it writes a copy of
 * that file with the missing D1 bindings added (DB_8 …), the `nodejs_als` flag its entry needs
 * (bench/workers/service-metered/stats.ts) and absolute paths (the copy lives in the temp dir):
 * everything else is the service's own configuration, never a copy kept by hand.
 * The shards are migrated and seeded through the Worker's bench-only ledger routes
 * (bench/workers/service-metered/ledger-setup.ts), one request per shard and step.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { readD1Migrations } from "@cloudflare/vitest-plugin";
import { call } from "./service.js";
import { shardBinding } from "./stats-seed.js";

/**
 * Writes the stats configuration: the service's wrangler.toml with `shards` D1 shard bindings.
 * @param {{ serviceDir: string; file: string; shards: number }} options
 */
export function writeStatsConfig({ serviceDir, file, shards }) {
  let toml = readFileSync(path.join(serviceDir, "wrangler.toml"), "utf8");
  const absolute = (/** @type {string} */ p) => JSON.stringify(path.resolve(serviceDir, p));
  toml = toml.replace(/^main = "([^"]+)"/m, (_, main) => `main = ${absolute(main)}`);
  toml = toml.replaceAll(
    /migrations_dir = "([^"]+)"/g,
    (_, dir) => `migrations_dir = ${absolute(dir)}`,
  );
  toml = toml.replace(/^(compatibility_date = .*)$/m, '$1\ncompatibility_flags = ["nodejs_als"]');
  // Top-level [[d1_databases]] blocks (the environments' are [[env.<name>.d1_databases]]).
  const blocks = [...toml.matchAll(/^\[\[d1_databases\]\]\n(?:[^[\n].*\n|\n)*/gm)];
  const last = blocks.at(-1);
  if (!last || last.index === undefined) throw new Error("no [[d1_databases]] in wrangler.toml");
  const bound = new Set(blocks.map((b) => /binding = "([^"]+)"/.exec(b[0])?.[1]));
  const added = [];
  for (let shard = 0; shard < shards; shard++) {
    const binding = shardBinding(shard);
    if (bound.has(binding)) continue;
    added.push(
      `[[d1_databases]]\nbinding = "${binding}"\ndatabase_name = "invite-edge-${shard}"\n` +
        `database_id = "invite-edge-local-${shard}"\nmigrations_dir = ${absolute("migrations")}\n`,
    );
  }
  const at = last.index + last[0].length;
  writeFileSync(file, `${toml.slice(0, at)}${added.join("\n")}\n${toml.slice(at)}`);
}

/**
 * One POST to a ledger setup route; its JSON answer.
 * @param {string} base @param {string} route @param {Record<string, unknown>} body
 */
async function ledgerRoute(base, route, body) {
  const { status, text } = await call(base, `/__bench/ledger/${route}`, { method: "POST", body });
  if (status !== 200)
    throw new Error(`/__bench/ledger/${route} answered ${status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/**
 * Applies the service's migrations to shards 0 … `shards` − 1 of the Worker at `base`.
 * @param {{ base: string; serviceDir: string; shards: number }} options
 */
export async function migrateShards({ base, serviceDir, shards }) {
  const migrations = await readD1Migrations(path.join(serviceDir, "migrations"));
  for (let shard = 0; shard < shards; shard++) {
    await ledgerRoute(base, "migrate", { binding: shardBinding(shard), migrations });
  }
}

/**
 * Runs SQL statements in one batch on a shard of the Worker at `base`; the last one's rows.
 * @param {string} base @param {string} binding @param {string[]} statements
 * @returns {Promise<Record<string, unknown>[]>}
 */
export async function shardSql(base, binding, statements) {
  return (await ledgerRoute(base, "sql", { binding, statements })).rows;
}
