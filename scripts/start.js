// @ts-check
/**
 * `npm start`: check the configuration (check-config.js: every problem printed, loudly, before
 * wrangler's "Ready"), apply the D1 migrations to the local ledger shards (provision-shards.js
 * --local, one line per shard), then run `wrangler dev` with local KV and D1 and the development
 * configuration from wrangler.toml. Extra arguments go to
 * `wrangler dev` (`npm start -- --port 8788 --var NAME:value`); `--var LEDGER_SHARDS:4` serves
 * with four shards (DB, DB_1, DB_2, DB_3), each migrated first.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = fileURLToPath(new URL("../node_modules/.bin/wrangler", import.meta.url));
const provision = fileURLToPath(new URL("./provision-shards.js", import.meta.url));
const checkConfig = fileURLToPath(new URL("./check-config.js", import.meta.url));
const args = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

// The local databases must live where `wrangler dev` will look for them.
const persistIndex = args.indexOf("--persist-to");
const persist = persistIndex >= 0 ? ["--persist-to", String(args[persistIndex + 1])] : [];

/** LEDGER_SHARDS from `--var LEDGER_SHARDS:n` (or `--var=LEDGER_SHARDS:n`), else 1. */
function shardCount() {
  for (let i = 0; i < args.length; i++) {
    const value = args[i] === "--var" ? args[i + 1] : args[i]?.replace(/^--var=/, "");
    const match = /^LEDGER_SHARDS:(\d+)$/.exec(value ?? "");
    if (match) return Number(match[1]);
  }
  return 1;
}

// The service starts either way (its pages say "try again later" and the log names each
// problem), but the operator sees every problem here first. `--var` overrides are not seen.
const check = spawnSync(process.execPath, [checkConfig, "--quiet"], {
  cwd: root,
  env,
  encoding: "utf8",
});
const findings = `${check.stdout ?? ""}${check.stderr ?? ""}`.trim();
if (check.status !== 0) {
  const rule = "!".repeat(78);
  console.error(`${rule}\nThe configuration has problems; until they are fixed the API answers`);
  console.error(`config_error and taps get the "try again later" page:\n${findings}\n${rule}`);
} else {
  console.log(findings || "Configuration: no problems.");
}

const migrate = spawnSync(
  process.execPath,
  [provision, "--local", "--shards", String(shardCount()), ...persist],
  { cwd: root, env, stdio: "inherit" },
);
if (migrate.status !== 0) {
  console.error("Applying the D1 migrations failed; see above.");
  process.exit(migrate.status ?? 1);
}

const dev = spawn(wrangler, ["dev", "--local", ...args], { cwd: root, env, stdio: "inherit" });
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => dev.kill(signal));
}
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
