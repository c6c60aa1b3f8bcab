// @ts-check
/**
 * Benchmark settings, read once from the environment. Every knob has a default
 * that keeps `npm run bench` under 10 minutes on 2 cores.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The repository root (bench/lib/../..). */
export const REPO_ROOT = path.resolve(here, "..", "..");

/** All phases, in the order they run. */
export const PHASES = /** @type {const} */ ([
  "ceiling",
  "floors",
  "tap",
  "refused",
  "issue",
  "batch",
  "rules",
  "latency",
  "cost",
  "stats",
  "qualtrics",
]);

/**
 * @param {string} name
 * @param {number} fallback
 * @param {{ min?: number; integer?: boolean }} [options]
 */
function numberFromEnv(name, fallback, { min = 0, integer = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a ${integer ? "whole " : ""}number >= ${min}, got "${raw}"`);
  }
  return value;
}

/**
 * @typedef {typeof PHASES[number]} Phase
 * @typedef {ReturnType<typeof readConfig>} BenchConfig
 */

export function readConfig() {
  const duration = numberFromEnv("BENCH_DURATION", 10, { min: 1 });
  const phasesRaw = process.env.BENCH_PHASES?.trim();
  /** @type {Set<Phase>} */
  const phases = new Set(
    phasesRaw ? /** @type {Phase[]} */ (phasesRaw.split(/[\s,]+/).filter(Boolean)) : PHASES,
  );
  for (const phase of phases) {
    if (!PHASES.includes(phase)) {
      throw new Error(`BENCH_PHASES: unknown phase "${phase}" (known: ${PHASES.join(", ")})`);
    }
  }
  const loadgen = process.env.BENCH_LOADGEN ?? "auto";
  if (!["auto", "wrk", "hey", "node"].includes(loadgen)) {
    throw new Error(`BENCH_LOADGEN must be auto, wrk, hey or node`);
  }
  const out = process.env.BENCH_OUT ?? path.join(REPO_ROOT, "BENCHMARKS.md");
  return {
    /** seconds measured per phase */
    duration,
    /** seconds of warm-up before each measured run */
    warmup: numberFromEnv("BENCH_WARMUP", 3),
    /** open connections for the tap, refused, issue and ceiling runs */
    connections: numberFromEnv("BENCH_CONNECTIONS", 16, { min: 1 }),
    /** open connections for batch issue (each request carries 500 links) */
    batchConnections: numberFromEnv("BENCH_BATCH_CONNECTIONS", 2, { min: 1 }),
    /** links per batch call (the API's maximum) */
    batchSize: numberFromEnv("BENCH_BATCH_SIZE", 500, { min: 1 }),
    /** open connections for the stats queries */
    statsConnections: numberFromEnv("BENCH_STATS_CONNECTIONS", 2, { min: 1 }),
    /** storage calls one stats request may have in flight (production: 6 per invocation) */
    statsConnectionsCap: numberFromEnv("BENCH_STATS_MAX_CONNECTIONS", 6, { min: 1, integer: true }),
    /** ms each storage round trip of the stats phase is delayed by (production's network) */
    statsLatencyMs: numberFromEnv("BENCH_STATS_LATENCY_MS", 10, { min: 0 }),
    /** seconds measured per stats query */
    statsDuration: numberFromEnv("BENCH_STATS_DURATION", duration, { min: 1 }),
    /** invites seeded for the stats phase */
    statsRows: numberFromEnv("BENCH_STATS_ROWS", 1_000_000, { min: 1 }),
    /** ledger shards the stats service runs on (LEDGER_SHARDS; bindings generated beyond DB_7) */
    statsShards: numberFromEnv("BENCH_STATS_SHARDS", 32, { min: 1, integer: true }),
    /** ms each KV or D1 round trip is delayed by in the latency phase's second runs */
    latencyMs: numberFromEnv("BENCH_LATENCY_MS", 20, { min: 1 }),
    /** open connections for the latency runs (low, so that queueing does not dominate) */
    latencyConnections: numberFromEnv("BENCH_LATENCY_CONNECTIONS", 1, { min: 1, integer: true }),
    /** seconds measured per latency run */
    latencyDuration: numberFromEnv("BENCH_LATENCY_DURATION", duration, { min: 1 }),
    /** operations of each kind whose storage use the cost phase counts and averages */
    costOps: numberFromEnv("BENCH_COST_OPS", 200, { min: 1, integer: true }),
    /** wrk threads (1 leaves the second core to workerd) */
    threads: numberFromEnv("BENCH_THREADS", 1, { min: 1 }),
    /** auto: wrk, else hey for fixed paths and the built-in Node client */
    loadgen,
    phases,
    /** directory holding the service's wrangler.toml (the repo root) */
    serviceDir: path.resolve(process.env.BENCH_SERVICE_DIR ?? REPO_ROOT),
    /** wrangler's log level for every dev server (same for all, see BENCHMARKS.md) */
    wranglerLogLevel: process.env.BENCH_WRANGLER_LOG_LEVEL ?? "warn",
    /** where the report goes; "-" writes none */
    out: out === "-" ? null : path.resolve(out),
    keepTmp: process.env.BENCH_KEEP_TMP === "1",
    /** seconds to wait for a dev server to answer */
    readyTimeout: numberFromEnv("BENCH_READY_TIMEOUT", 90, { min: 1 }),
  };
}
