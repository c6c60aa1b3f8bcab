#!/usr/bin/env node
// @ts-check
/**
 * `npm run check-config [-- --env production] [-- --secrets FILE]`: checks the configuration of an
 * environment before it is live, with the Worker's own parsers (src/config/check.ts, bundled for
 * Node by esbuild), and lists every problem at once. It reads wrangler.toml (the environment's
 * vars and bindings), `.dev.vars` (or `.dev.vars.<env>`) when present, and a secrets file when
 * given (a JSON object as `wrangler secret bulk` takes, or NAME=value lines). Secrets that are not
 * given are reported as "not checked". Exit code 1 when there is a problem, 0 otherwise.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseEnv } from "node:util";
import { parseFlags, refuse } from "./lib/cli.js";

const root = fileURLToPath(new URL("..", import.meta.url));

const USAGE = `usage: npm run check-config -- [--env NAME] [--secrets FILE] [--config FILE] [--quiet]
  --env NAME       the wrangler environment to check (default: the top level, development)
  --secrets FILE   secret values to check too: a JSON object, or NAME=value lines
  --config FILE    wrangler configuration (default wrangler.toml)
  --quiet          print only problems and warnings
  --help           this text`;

/** @param {string} file @returns {Record<string, string>} */
function readSecrets(file) {
  const text = readFileSync(file, "utf8");
  if (text.trim().startsWith("{")) {
    const parsed = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${file} must hold a JSON object of NAME: value`);
    }
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  return /** @type {Record<string, string>} */ (parseEnv(text));
}

/**
 * The environment as the Worker would see it: vars, a stand-in per bound D1 database and KV
 * namespace (the parsers only check that they are bound), `.dev.vars` and the secrets file.
 * @param {{ config: string; env: string | undefined; secrets: string | undefined }} options
 */
async function workerEnv({ config, env, secrets }) {
  process.env.WRANGLER_LOG ??= "error"; // its notes about [env] inheritance are docs/deploy.md's
  const { unstable_readConfig } = await import("wrangler");
  const read = unstable_readConfig({ config, env }, {});
  /** @type {Record<string, unknown>} */
  const values = { ...read.vars };
  for (const { binding } of read.d1_databases) values[binding] = { binding };
  for (const { binding } of read.kv_namespaces) values[binding] = { binding };
  const devVars = path.join(path.dirname(config), env ? `.dev.vars.${env}` : ".dev.vars");
  const sources = [existsSync(devVars) ? devVars : null, secrets ?? null].filter((f) => f !== null);
  for (const file of sources) Object.assign(values, readSecrets(file));
  return { values, sources };
}

/**
 * @typedef {(env: Record<string, unknown>, given: ReadonlySet<string>) =>
 *   { problems: string[]; notChecked: string[]; warnings: string[] }} CheckConfiguration
 */

/** src/config/check.ts, bundled for Node into a temporary directory and imported. */
async function loadCheck() {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(path.join(tmpdir(), "invite-edge-check-"));
  try {
    const outfile = path.join(dir, "check.mjs");
    await build({
      entryPoints: [path.join(root, "src/config/check.ts")],
      bundle: true,
      platform: "neutral",
      format: "esm",
      outfile,
      logLevel: "error",
    });
    /** @type {{ checkConfiguration: CheckConfiguration; SECRET_NAMES: readonly string[] }} */
    const check = await import(pathToFileURL(outfile).href);
    return check;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const flags = parseFlags(process.argv.slice(2), {
  usage: USAGE,
  options: {
    env: { type: "string" },
    secrets: { type: "string" },
    config: { type: "string", default: "wrangler.toml" },
    quiet: { type: "boolean", default: false },
  },
});
const config = path.resolve(root, flags.config);
if (!existsSync(config)) refuse(`${flags.config} does not exist`, USAGE);
if (flags.secrets && !existsSync(flags.secrets)) refuse(`${flags.secrets} does not exist`, USAGE);

const { checkConfiguration, SECRET_NAMES } = await loadCheck();
const { values, sources } = await workerEnv({ config, env: flags.env, secrets: flags.secrets });
const given = new Set(SECRET_NAMES.filter((name) => values[name] !== undefined));
const check = checkConfiguration(values, given);

const where = flags.env ? `[env.${flags.env}]` : "the development configuration";
const read = [path.relative(root, config), ...sources.map((f) => path.relative(root, f))];
const lines = [];
if (!flags.quiet) lines.push(`Checked ${where} (${read.join(", ")}).`);
for (const problem of check.problems) lines.push(`  problem: ${problem}`);
for (const warning of check.warnings) lines.push(`  warning: ${warning}`);
if (!flags.quiet && check.notChecked.length > 0) {
  lines.push(`  not checked (secrets not given): ${check.notChecked.join(", ")}`);
}
if (check.problems.length > 0) {
  lines.push(`${check.problems.length} problem(s).`);
} else if (!flags.quiet) {
  lines.push("No problems.");
}
if (lines.length > 0) (check.problems.length > 0 ? console.error : console.log)(lines.join("\n"));
process.exit(check.problems.length > 0 ? 1 : 0);
