#!/usr/bin/env node
// @ts-check
/**
 * `npm run provision-shards -- --shards N`: gives the production Worker N ledger shards.
 * For every shard not bound yet in [env.production] of wrangler.toml it creates a D1 database
 * (`wrangler d1 create`) and adds its binding (DB, DB_1, DB_2, …); then it applies the
 * migrations to every shard (`wrangler d1 migrations apply … --remote`), records the count it
 * applied in the shard-count history of DB (ledger_shard_counts, migration 0015) and sets
 * LEDGER_SHARDS. Run it again after a failure: what exists is kept, what is missing is done.
 * The count is recorded as applied, not served: the Worker still running the old count keeps
 * serving until the deploy, and the deployed Worker records it as served (src/store/shard-counts.ts).
 * Its flags are in USAGE (`--help`); an unknown flag is refused, so a misspelt `--dryrun` never
 * runs for real.
 * WRANGLER_BIN overrides the wrangler executable (tests use a stand-in).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, refuse } from "./lib/cli.js";
import { migrateLocalShards } from "./lib/local-migrations.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const MAX_SHARDS = 4096;

const USAGE = `usage: npm run provision-shards -- --shards <n> [options]
  --shards N          shards wanted (required; never lower than today's LEDGER_SHARDS)
  --env NAME          wrangler environment (default production)
  --dry-run           print the commands and the wrangler.toml changes; run and write nothing
  --local             local development: migrate local shards only (no create, no config edit)
  --persist-to DIR    with --local: where the local D1 state lives (as \`wrangler dev\`)
  --location HINT     passed to \`wrangler d1 create\` (weur, enam, …)
  --jurisdiction J    passed to \`wrangler d1 create\` (eu, fedramp)
  --config FILE       wrangler configuration (default wrangler.toml)
  --help              this text`;

/** @param {string[]} argv */
function parseOptions(argv) {
  const flags = parseFlags(argv, {
    usage: USAGE,
    options: {
      shards: { type: "string" },
      env: { type: "string", default: "production" },
      "dry-run": { type: "boolean", default: false },
      local: { type: "boolean", default: false },
      "persist-to": { type: "string" },
      location: { type: "string" },
      jurisdiction: { type: "string" },
      config: { type: "string", default: "wrangler.toml" },
    },
  });
  const shards = Number(flags.shards);
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    refuse(`--shards must be a whole number from 1 to ${MAX_SHARDS}`, USAGE);
  }
  return {
    shards,
    env: flags.env,
    dryRun: flags["dry-run"],
    local: flags.local,
    persistTo: flags["persist-to"],
    location: flags.location,
    jurisdiction: flags.jurisdiction,
    config: path.resolve(root, flags.config),
  };
}

/** @param {number} shard */
const binding = (shard) => (shard === 0 ? "DB" : `DB_${shard}`);
/** @param {number} shard */
const databaseName = (shard) => (shard === 0 ? "invite-edge" : `invite-edge-${shard}`);

/**
 * The shard bindings of an environment that name a real database (placeholders do not count),
 * from `[[env.<env>.d1_databases]]` tables.
 * @param {string} toml @param {string} env
 */
function boundShards(toml, env) {
  const bound = new Set();
  const header = `[[env.${env}.d1_databases]]`;
  for (const block of toml.split(header).slice(1)) {
    const body = block.split(/^\[/m)[0] ?? "";
    const name = /^binding\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    const id = /^database_id\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    if (name && id && !id.startsWith("REPLACE")) bound.add(name);
  }
  return bound;
}

/** @param {number} shard @param {string} env @param {string} id */
const bindingBlock = (shard, env, id) =>
  `\n[[env.${env}.d1_databases]]\nbinding = "${binding(shard)}"\ndatabase_name = "${databaseName(shard)}"\ndatabase_id = "${id}"\nmigrations_dir = "migrations"\n`;

/**
 * wrangler.toml with shard 0's placeholder id replaced or a new binding block added after the
 * environment's last one, and LEDGER_SHARDS set in its vars.
 * @param {string} toml @param {string} env @param {number} shard @param {string} id
 */
function withBinding(toml, env, shard, id) {
  const header = `[[env.${env}.d1_databases]]`;
  const placeholder = new RegExp(
    `(\\[\\[env\\.${env}\\.d1_databases\\]\\]\\s*\\nbinding = "${binding(shard)}"[^[]*?database_id = ")REPLACE[^"]*(")`,
  );
  if (placeholder.test(toml)) return toml.replace(placeholder, `$1${id}$2`);
  const last = toml.lastIndexOf(header);
  if (last < 0) throw new Error(`no ${header} table in the configuration`);
  const next = toml.slice(last + header.length).search(/^\[/m);
  const at = next < 0 ? toml.length : last + header.length + next;
  return `${toml.slice(0, at).trimEnd()}\n${bindingBlock(shard, env, id)}\n${toml.slice(at)}`;
}

/**
 * wrangler.toml with `name = "value"` set in the environment's vars (replaced, or added first).
 * @param {string} toml @param {string} env @param {string} name @param {string} value
 */
function withVar(toml, env, name, value) {
  const vars = `[env.${env}.vars]`;
  const start = toml.indexOf(vars);
  if (start < 0) throw new Error(`no ${vars} table in the configuration`);
  const bodyStart = start + vars.length;
  const next = toml.slice(bodyStart).search(/^\[/m);
  const bodyEnd = next < 0 ? toml.length : bodyStart + next;
  const line = `${name} = "${value}"`;
  const existing = new RegExp(`^${name}\\s*=.*$`, "m");
  const body = toml.slice(bodyStart, bodyEnd);
  const updated = existing.test(body) ? body.replace(existing, line) : `\n${line}${body}`;
  return toml.slice(0, bodyStart) + updated + toml.slice(bodyEnd);
}

/**
 * The statement that records `shards` as applied now in the shard-count history (the same row
 * src/store/shard-counts.ts reads; applying a count again only moves applied_at).
 * @param {number} shards @param {number} now
 */
const recordAppliedSql = (shards, now) =>
  `INSERT INTO ledger_shard_counts (shards, applied_at) VALUES (${shards}, ${now}) ` +
  "ON CONFLICT (shards) DO UPDATE SET applied_at = excluded.applied_at";

/** A string var of an environment, or undefined. @param {string} toml @param {string} env @param {string} name */
function readVar(toml, env, name) {
  const start = toml.indexOf(`[env.${env}.vars]`);
  if (start < 0) return undefined;
  const rest = toml.slice(start + `[env.${env}.vars]`.length);
  const next = rest.search(/^\[/m);
  const body = next < 0 ? rest : rest.slice(0, next);
  return new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(body)?.[1];
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const wrangler = process.env.WRANGLER_BIN ?? path.join(root, "node_modules/.bin/wrangler");
  const commandEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };
  const configArgs = ["--config", options.config];
  /** @param {string[]} args */
  const run = (args) => {
    console.log(`$ wrangler ${args.join(" ")}`);
    if (options.dryRun) return "";
    const result = spawnSync(wrangler, args, { cwd: root, env: commandEnv, encoding: "utf8" });
    process.stdout.write(result.stdout ?? "");
    process.stderr.write(result.stderr ?? "");
    if (result.status !== 0) throw new Error(`wrangler ${args[0]} ${args[1]} failed; see above`);
    return result.stdout ?? "";
  };

  if (options.local) {
    const lines = await migrateLocalShards({
      bindings: Array.from({ length: options.shards }, (_, shard) => binding(shard)),
      configPath: options.config,
      persistTo: options.persistTo,
      migrationsDir: path.join(root, "migrations"),
    });
    for (const line of lines) console.log(line);
    return;
  }

  let toml = readFileSync(options.config, "utf8");
  const current = Number(readVar(toml, options.env, "LEDGER_SHARDS") ?? "1");
  if (options.shards < current) {
    throw new Error(
      `--shards ${options.shards} is lower than LEDGER_SHARDS ${current}: links in the dropped shards would stop working`,
    );
  }
  const bound = boundShards(toml, options.env);
  for (let shard = 0; shard < options.shards; shard++) {
    if (bound.has(binding(shard))) continue;
    const created = run([
      "d1",
      "create",
      databaseName(shard),
      ...(options.location ? ["--location", options.location] : []),
      ...(options.jurisdiction ? ["--jurisdiction", options.jurisdiction] : []),
      ...configArgs,
    ]);
    const id = options.dryRun
      ? `<id of ${databaseName(shard)}>`
      : /database_id["\s=:]+"([0-9a-f-]{36})"/i.exec(created)?.[1];
    if (!id) throw new Error(`could not read the database_id of ${databaseName(shard)} above`);
    toml = withBinding(toml, options.env, shard, id);
    // Written after each database, so a failure later keeps what was created.
    if (!options.dryRun) writeFileSync(options.config, toml);
    else console.log(`+ wrangler.toml: ${binding(shard)} → ${databaseName(shard)}`);
  }
  for (let shard = 0; shard < options.shards; shard++) {
    run([
      "d1",
      "migrations",
      "apply",
      binding(shard),
      "--env",
      options.env,
      "--remote",
      ...configArgs,
    ]);
  }
  // Retried issue calls made before the raise are looked up under the counts the history holds.
  run([
    "d1",
    "execute",
    binding(0),
    "--env",
    options.env,
    "--remote",
    "--command",
    recordAppliedSql(options.shards, Date.now()),
    ...configArgs,
  ]);
  toml = withVar(toml, options.env, "LEDGER_SHARDS", String(options.shards));
  if (options.dryRun) {
    console.log(`+ wrangler.toml: [env.${options.env}.vars] LEDGER_SHARDS = "${options.shards}"`);
    console.log("Dry run: nothing was created, applied or written.");
    return;
  }
  writeFileSync(options.config, toml);
  console.log(
    `${options.shards} shard(s) bound and migrated; LEDGER_SHARDS = "${options.shards}" in [env.${options.env}.vars].`,
  );
  console.log(`Deploy to start using them: npx wrangler deploy --env ${options.env}`);
  // The new bindings change the generated Env type, which CI checks against wrangler.toml.
  console.log("Then commit wrangler.toml with its types: npm run types");
}

main().catch((error) => {
  console.error(`provision-shards: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
