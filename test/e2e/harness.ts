/**
 * End-to-end harness (runs in Node, not workerd): starts the service the way an adopter does,
 * `npm start` (scripts/start.js: the local shards migrated, then `wrangler dev`), on a free
 * loopback port with its own local KV/D1 state; the browser comes from ./chromium.ts.
 * Everything started here is stopped by process id when the test ends.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The D1 binding of ledger shard `index` (wrangler.toml: DB, DB_1, DB_2, …), as the Worker names it. */
export { shardBinding } from "../../src/config/config";
export { launchChromium } from "./chromium";

export const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const START = join(ROOT, "scripts/start.js");
export const OUTPUT_DIR = join(ROOT, "test-output");

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface DevServer {
  url: string;
  port: number;
  persistDir: string;
  /** The `npm start` process (scripts/start.js); its process group holds wrangler and workerd. */
  pid: number;
  /** SIGTERM to the group, as Ctrl-C; `forced` when something was left and had to be killed. */
  stop(): Promise<{ forced: boolean }>;
}

/** True while any process of group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm start` with `--var NAME:value` for each of `vars` (surveys pointing at a loopback
 * stand-in, LEDGER_SHARDS, …), ready once `/healthz` answers 200: configuration parsed, every
 * shard migrated.
 */
export async function startDevServer(vars: Record<string, string> = {}): Promise<DevServer> {
  const port = await freePort();
  const persistDir = mkdtempSync(join(tmpdir(), "invite-edge-e2e-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      START,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persistDir,
      "--inspector-port",
      String(await freePort()),
      ...varArgs,
    ],
    // Its own process group: start.js, the migrations, wrangler and workerd are stopped together.
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("npm start did not start");
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    let forced = false;
    try {
      process.kill(-pid, "SIGTERM"); // the whole process group: start.js, wrangler, workerd
    } catch {}
    const stopBy = Date.now() + 10_000;
    while (groupAlive(pid) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(pid)) {
      forced = true;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
    rmSync(persistDir, { recursive: true, force: true });
    return { forced };
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, persistDir, pid, stop };
}

/**
 * One SQL statement against one shard's local D1 of a running dev server, with `wrangler d1
 * execute`: the rows it returns. The dev server may be writing to the same file at that moment
 * (a tap's background work): a statement that finds the database locked is tried again.
 */
export function queryLocalD1<T>(server: DevServer, binding: string, sql: string): T[] {
  const args = ["d1", "execute", binding, "--local", "--persist-to", server.persistDir];
  const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };
  for (let attempt = 1; ; attempt++) {
    const result = spawnSync(WRANGLER, [...args, "--json", "--command", sql], {
      cwd: ROOT,
      env,
      encoding: "utf8",
    });
    if (result.status === 0) {
      const parsed = JSON.parse(result.stdout) as { results: T[] }[];
      return parsed[0]?.results ?? [];
    }
    if (attempt === 5 || !/SQLITE_BUSY|database is locked/.test(result.stderr)) {
      throw new Error(`wrangler d1 execute failed: ${result.stderr}`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500 * attempt);
  }
}

export function screenshotPath(name: string): string {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return join(OUTPUT_DIR, `${name}.png`);
}

/** A phone's user agent: customers tap links on phones, and headless Chromium's own UA is a bot. */
export const PHONE_UA =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Mobile Safari/537.36";
