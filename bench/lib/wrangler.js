// @ts-check
/**
 * `wrangler dev` servers and `wrangler d1` commands for the benchmark, always
 * local (`--local --persist-to <tmp dir>`), always on loopback, never sending
 * metrics, and always the repository's own wrangler.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./config.js";
import { freePort, runCommand, sleep, startProcess } from "./processes.js";

export const WRANGLER = path.join(REPO_ROOT, "node_modules", ".bin", "wrangler");

const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  // Answer wrangler's prompts (migrations) with their defaults.
  CI: "1",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

/**
 * @typedef {{ name: string; url: string; port: number; pid: number | undefined;
 *   logFile: string; stop: () => Promise<void> }} DevServer
 */

/** @param {string} file @param {number} lines */
export function tail(file, lines = 20) {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Starts `wrangler dev` and waits until the Worker answers `readyPath` (any HTTP
 * status: a 404 means the Worker runs but lacks the route, which the phases
 * handle themselves).
 * `script` replaces the configuration's `main` (the bench's metered entries run with the
 * Worker's own configuration, bindings and vars).
 * @param {{ name: string; cwd: string; config?: string; script?: string; persistTo: string;
 *   vars?: Record<string, string>; logFile: string; readyPath?: string;
 *   readyTimeout: number; logLevel: string }} options
 * @returns {Promise<DevServer>}
 */
export async function startDevServer(options) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = ["dev", ...(options.script ? [options.script] : [])];
  args.push("--ip", "127.0.0.1", "--port", String(port));
  args.push("--inspector-port", String(inspectorPort));
  args.push("--local", "--persist-to", options.persistTo);
  args.push("--show-interactive-dev-session=false", "--log-level", options.logLevel);
  if (options.config) args.push("--config", options.config);
  for (const [name, value] of Object.entries(options.vars ?? {})) {
    args.push("--var", `${name}:${value}`);
  }
  const proc = startProcess(options.name, WRANGLER, args, {
    cwd: options.cwd,
    env: WRANGLER_ENV,
    logFile: options.logFile,
  });
  const url = `http://127.0.0.1:${port}`;
  const server = {
    name: options.name,
    url,
    port,
    pid: proc.pid,
    logFile: options.logFile,
    stop: proc.stop,
  };
  const deadline = Date.now() + options.readyTimeout * 1000;
  /** @type {number | undefined} */
  let firstAnswerAt;
  while (Date.now() < deadline) {
    if (!proc.isRunning()) {
      await proc.stop();
      throw new Error(
        `${options.name}: wrangler dev exited before it was ready; log ${options.logFile}:\n${tail(options.logFile)}`,
      );
    }
    try {
      const response = await fetch(url + (options.readyPath ?? "/"), {
        redirect: "manual",
        signal: AbortSignal.timeout(5000),
      });
      await response.arrayBuffer();
      if (response.status < 500) return server;
      // A 5xx right after start can be a Worker still loading; accept it after a few seconds.
      firstAnswerAt ??= Date.now();
      if (Date.now() - firstAnswerAt > 5000) return server;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  await proc.stop();
  throw new Error(
    `${options.name}: not ready after ${options.readyTimeout} s; log ${options.logFile}:\n${tail(options.logFile)}`,
  );
}

/**
 * Applies the D1 migrations of the Worker in `cwd` to a local persistence dir.
 * @param {{ cwd: string; config?: string; persistTo: string; database?: string }} options
 */
export async function applyMigrations({ cwd, config, persistTo, database = "DB" }) {
  const args = ["d1", "migrations", "apply", database, "--local", "--persist-to", persistTo];
  if (config) args.push("--config", config);
  const result = await runCommand(WRANGLER, args, { cwd, env: WRANGLER_ENV });
  if (result.code !== 0) {
    throw new Error(
      `wrangler d1 migrations apply failed (${result.code}):\n${(result.stdout + result.stderr).trim().split("\n").slice(-15).join("\n")}`,
    );
  }
}

/**
 * Runs SQL (a file or one command) on the local D1 and returns the result rows
 * of the last statement (with `--json`).
 * @param {{ cwd: string; config?: string; persistTo: string; database?: string;
 *   file?: string; command?: string; timeoutMs?: number }} options
 * @returns {Promise<Record<string, unknown>[]>}
 */
export async function d1Execute({
  cwd,
  config,
  persistTo,
  database = "DB",
  file,
  command,
  timeoutMs,
}) {
  const args = ["d1", "execute", database, "--local", "--persist-to", persistTo, "--json"];
  if (file) args.push("--file", file);
  if (command) args.push("--command", command);
  if (config) args.push("--config", config);
  const result = await runCommand(WRANGLER, args, { cwd, env: WRANGLER_ENV, timeoutMs });
  if (result.code !== 0) {
    const output = (result.stdout + result.stderr).trim();
    throw new Error(
      `wrangler d1 execute failed (${result.code}):\n${output.split("\n").slice(-15).join("\n")}`,
    );
  }
  try {
    const parsed = JSON.parse(result.stdout.slice(result.stdout.indexOf("[")));
    const last = Array.isArray(parsed) ? parsed[parsed.length - 1] : undefined;
    return Array.isArray(last?.results) ? last.results : [];
  } catch {
    return [];
  }
}

/** True when `dir` holds a wrangler configuration file. */
export function hasWranglerConfig(/** @type {string} */ dir) {
  return ["wrangler.toml", "wrangler.json", "wrangler.jsonc"].some((file) =>
    existsSync(path.join(dir, file)),
  );
}
