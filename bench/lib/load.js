// @ts-check
/**
 * Load generation: a fixed concurrency for a fixed time, with wrk (preferred,
 * scripted by load.lua so each request can have its own path or body), hey
 * (fixed paths only: it cannot vary a request) or a small built-in Node client
 * as the last resort. All three return the same result shape.
 */
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./processes.js";

const LUA = path.join(path.dirname(fileURLToPath(import.meta.url)), "load.lua");

/** A phone's browser: the service must treat the load as human taps, not previews. */
export const USER_AGENT =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 " +
  "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/**
 * What each request of a run is.
 * @typedef {{ kind: "fixed"; path: string }
 *   | { kind: "ids"; prefix: string; ids: string[] }
 *   | { kind: "cycle"; prefix: string; ids: string[] }
 *   | { kind: "issue"; path: string }
 *   | { kind: "batch"; path: string; size: number }} Workload
 *
 * @typedef {{ tool: string; requests: number; seconds: number; rps: number;
 *   p50Ms: number; p99Ms: number; statuses: Record<string, number>;
 *   socketErrors: number; reused: number }} LoadResult
 *
 * @typedef {{ url: string; workload: Workload; auth?: string; tag: string;
 *   connections: number; seconds: number; threads: number; tmpDir: string;
 *   loadgen: string }} LoadOptions
 */

/** @param {string} command */
function hasCommand(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** The generator to use for a workload, given BENCH_LOADGEN. */
export function pickTool(/** @type {string} */ loadgen, /** @type {Workload} */ workload) {
  if (loadgen === "wrk" || loadgen === "hey" || loadgen === "node") {
    if (loadgen === "hey" && workload.kind !== "fixed") return "node";
    return loadgen;
  }
  if (hasCommand("wrk")) return "wrk";
  if (workload.kind === "fixed" && hasCommand("hey")) return "hey";
  return "node";
}

/** @type {Set<import("node:child_process").ChildProcess>} */
const running = new Set();

/** Stops load generators still running (called on the way out). */
export function stopLoadGenerators() {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }
}

/**
 * @param {string} command @param {string[]} args @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<{ code: number | null; stdout: string; stderr: string }>}
 */
function capture(command, args, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
    child.on("error", (error) => {
      running.delete(child);
      resolve({ code: -1, stdout, stderr: String(error) });
    });
  });
}

/** @param {LoadOptions} options @returns {Promise<LoadResult>} */
async function runWrk(options) {
  const { workload } = options;
  const threads = Math.min(options.threads, options.connections);
  /** @type {string[]} */
  let scriptArgs;
  switch (workload.kind) {
    case "fixed":
    case "issue":
      scriptArgs = [workload.kind, workload.path];
      break;
    case "batch":
      scriptArgs = ["batch", `${workload.path}|${workload.size}`];
      break;
    default: {
      const file = path.join(options.tmpDir, `ids-${options.tag}.txt`);
      writeFileSync(file, `${workload.ids.join("\n")}\n`);
      scriptArgs = [workload.kind, `${workload.prefix}|${file}`];
    }
  }
  scriptArgs.push(options.auth ?? "-", options.tag);
  const args = ["-t", String(threads), "-c", String(options.connections)];
  args.push("-d", `${options.seconds}s`, "--timeout", "30s", "-s", LUA, options.url);
  const { code, stdout, stderr } = await capture("wrk", [...args, "--", ...scriptArgs], {
    BENCH_WRK_THREADS: String(threads),
  });
  const line = stdout.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (code !== 0 || !line) {
    throw new Error(`wrk failed (${code}): ${(stderr || stdout).trim().slice(-500)}`);
  }
  const raw = JSON.parse(line.slice("BENCH_JSON ".length));
  const seconds = raw.duration_us / 1e6;
  const e = raw.errors;
  return {
    tool: "wrk",
    requests: raw.requests,
    seconds,
    rps: raw.requests / seconds,
    p50Ms: raw.p50_us / 1000,
    p99Ms: raw.p99_us / 1000,
    statuses: raw.statuses,
    socketErrors: e.connect + e.read + e.write + e.timeout,
    reused: raw.reused,
  };
}

/** @param {LoadOptions} options @returns {Promise<LoadResult>} */
async function runHey(options) {
  if (options.workload.kind !== "fixed") throw new Error("hey runs fixed paths only");
  const args = ["-z", `${options.seconds}s`, "-c", String(options.connections)];
  args.push("-t", "30", "-disable-redirects", "-H", `User-Agent: ${USER_AGENT}`);
  if (options.auth) args.push("-H", `Authorization: Bearer ${options.auth}`);
  args.push(options.url + options.workload.path);
  const { code, stdout, stderr } = await capture("hey", args);
  if (code !== 0) throw new Error(`hey failed (${code}): ${stderr.trim().slice(-500)}`);
  const seconds = Number(/Total:\s+([\d.]+) secs/.exec(stdout)?.[1] ?? options.seconds);
  /** @param {string} p */
  const percentile = (p) =>
    Number(new RegExp(`${p}%+ in ([\\d.]+) secs`).exec(stdout)?.[1] ?? Number.NaN) * 1000;
  /** @type {Record<string, number>} */
  const statuses = {};
  let requests = 0;
  for (const match of stdout.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) {
    statuses[match[1] ?? "?"] = Number(match[2]);
    requests += Number(match[2]);
  }
  let socketErrors = 0;
  const errorBlock = stdout.split("Error distribution:")[1] ?? "";
  for (const match of errorBlock.matchAll(/\[(\d+)\]/g)) socketErrors += Number(match[1]);
  return {
    tool: "hey",
    requests,
    seconds,
    rps: requests / seconds,
    p50Ms: percentile("50"),
    p99Ms: percentile("99"),
    statuses,
    socketErrors,
    reused: 0,
  };
}

/**
 * The built-in client: `connections` keep-alive loops on one event loop.
 * Slower than wrk (it shares Node's single thread), so numbers from it are
 * only comparable with each other, which is how the report uses them.
 * @param {LoadOptions} options @returns {Promise<LoadResult>}
 */
async function runNode(options) {
  const { workload } = options;
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  /** @type {Record<string, string>} */
  const headers = { "User-Agent": USER_AGENT };
  if (options.auth) headers.Authorization = `Bearer ${options.auth}`;
  let cursor = 0;
  let counter = 0;
  let reused = 0;
  /** @param {number} n */
  const link = (n) =>
    JSON.stringify({
      survey: "demo",
      customerId: `bench-${options.tag}-${n}`,
      transactionId: `bench-${options.tag}-${n}`,
      trigger: "bench",
      channel: "in_app",
      embeddedData: { venue: "A", event: "E1", seat: String(n % 500) },
    });
  /** @returns {{ method: string; path: string; body?: string }} */
  const next = () => {
    switch (workload.kind) {
      case "fixed":
        return { method: "GET", path: workload.path };
      case "ids":
      case "cycle": {
        if (cursor >= workload.ids.length && workload.kind === "ids") reused++;
        const id = workload.ids[cursor++ % Math.max(1, workload.ids.length)];
        return { method: "GET", path: workload.prefix + id };
      }
      case "issue":
        return { method: "POST", path: workload.path, body: link(++counter) };
      case "batch": {
        const items = Array.from({ length: workload.size }, () => link(++counter));
        return { method: "POST", path: workload.path, body: `{"links":[${items.join(",")}]}` };
      }
    }
  };
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const statuses = {};
  let socketErrors = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  /** @param {{ method: string; path: string; body?: string }} req */
  const send = (req) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const request = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.path,
          agent,
          timeout: 30_000,
          headers: req.body ? { ...headers, "Content-Type": "application/json" } : headers,
        },
        (response) => {
          response.resume();
          response.on("end", () => {
            latencies.push(performance.now() - t0);
            const code = String(response.statusCode);
            statuses[code] = (statuses[code] ?? 0) + 1;
            resolve(undefined);
          });
        },
      );
      request.on("error", () => {
        socketErrors++;
        resolve(undefined);
      });
      request.end(req.body);
    });
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < deadline) await send(next());
    }),
  );
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  /** @param {number} p */
  const percentile = (p) =>
    latencies.length === 0
      ? Number.NaN
      : (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ??
        Number.NaN);
  return {
    tool: "node",
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    statuses,
    socketErrors,
    reused,
  };
}

/**
 * Runs one load (warm-up or measured) and returns its numbers.
 * @param {LoadOptions} options
 * @returns {Promise<LoadResult>}
 */
export async function runLoad(options) {
  const tool = pickTool(options.loadgen, options.workload);
  const result =
    tool === "wrk"
      ? await runWrk(options)
      : tool === "hey"
        ? await runHey(options)
        : await runNode(options);
  // Let the server drain queued work (waitUntil, logs) before the next run.
  await sleep(500);
  return result;
}
