#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench`: the numbers of issues 5 and 10, measured side by side in one run.
 *
 * Starts every `wrangler dev` it needs (bare 302 ceiling, naive storage floors,
 * the service, and their metered entries for latency and cost), runs each phase
 * (warm-up, then a fixed time at a fixed concurrency), stops everything by
 * process id, prints the table, writes BENCHMARKS.md, and prints the summary
 * line last. A phase whose endpoint does not exist yet (404) or cannot run is
 * reported as `na`, never fatal.
 *
 * Settings: see bench/README.md (BENCH_DURATION, BENCH_WARMUP, BENCH_PHASES, …).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT, readConfig } from "./lib/config.js";
import { countFloorCosts, countServiceCosts } from "./lib/cost-counts.js";
import { seedFloor } from "./lib/floors.js";
import { tapRoundTrips } from "./lib/latency.js";
import { runLoad, stopLoadGenerators } from "./lib/load.js";
import {
  perOperation,
  readCounters,
  resetCounters,
  setConnections,
  setDelay,
} from "./lib/meter-client.js";
import { isStopping, stopAll, stopEverythingOnExit } from "./lib/processes.js";
import { measureQualtricsCallsPerInvite } from "./lib/qualtrics-cost.js";
import { fmt, renderTable, summaryLine, writeBenchmarksMd } from "./lib/report.js";
import {
  benchLink,
  call,
  issueBatch,
  issueMany,
  issueOne,
  KEYS,
  pool,
  restartRetries,
  tap,
} from "./lib/service.js";
import { migrateShards, shardSql, writeStatsConfig } from "./lib/stats-config.js";
import {
  ROLLUP_CHECK_SQL,
  seedStatements,
  shardBinding,
  shardPrefix,
  shardRows,
  timeFormatOf,
} from "./lib/stats-seed.js";
import { costMarkdown, inviteCosts, usdPerMillion } from "./lib/storage-cost.js";
import { applyMigrations, d1Execute, hasWranglerConfig, startDevServer } from "./lib/wrangler.js";

/** @typedef {import("./lib/load.js").Workload} Workload */
/** @typedef {import("./lib/load.js").LoadResult} LoadResult */
/** @typedef {import("./lib/report.js").Row} Row */
/** @typedef {import("./lib/wrangler.js").DevServer} DevServer */
/**
 * A measured phase: expected answers per second and per-request latency.
 * @typedef {{ rps: number; p50Ms: number; p99Ms: number; notes: string[]; result: LoadResult }} Measured
 */

const config = readConfig();
const startedAt = new Date();
const runTag = startedAt.getTime().toString(36);
const tmpDir = mkdtempSync(path.join(os.tmpdir(), "invite-edge-bench-"));
const WORKERS = path.join(REPO_ROOT, "bench", "workers");
/** The service with its storage metered (bench only): latency, cost and reconcile share. */
const METERED_SERVICE_ENTRY = path.join(WORKERS, "service-metered", "index.ts");
/** The same, each request its own invocation for the meter, with ledger setup routes (stats). */
const STATS_SERVICE_ENTRY = path.join(WORKERS, "service-metered", "stats.ts");
/** Links the refused-tap phase cycles through. */
const REFUSED_POOL = 500;
/** Upper bound on links issued for one tap run (keeps pre-issuing bounded). */
const MAX_POOL = 200_000;

/** @param {string} message */
const say = (message) => {
  if (!isStopping()) process.stdout.write(`bench: ${message}\n`);
};
/** First line of an error, for the table. @param {unknown} error */
const brief = (error) => String(error instanceof Error ? error.message : error).split("\n")[0];

/** Table rows by key, filled as phases finish; `na` until then. */
/** @type {Map<string, Row>} */
const rows = new Map();
/** @type {string[]} */
const runNotes = [];

/** Every query shape the dashboard offers, with filters by survey, trigger and channel. */
const STATS_SHAPES = [
  ["stats-day", "6a stats 30 d by day", "groupBy=day"],
  ["stats-survey", "6b stats 30 d by survey", "groupBy=survey"],
  ["stats-trigger", "6c stats 30 d by trigger", "groupBy=trigger"],
  ["stats-channel", "6d stats 30 d by channel", "groupBy=channel"],
  ["stats-one-survey", "6e stats 30 d by day, one survey", "groupBy=day&survey=demo"],
  ["stats-one-trigger", "6f stats 30 d by day, one trigger", "groupBy=day&trigger=app_open"],
  ["stats-one-channel", "6g stats 30 d by survey, one channel", "groupBy=survey&channel=sms"],
  ["stats-csv", "6h stats 30 d by day, CSV", "groupBy=day&format=csv"],
];
const STATS_KEYS = STATS_SHAPES.map(([key]) => key);
/** The floor of a stats answer: one round of trivial batches over every shard, same meter. */
const STATS_FLOOR = "stats-floor";

/** @param {string} key @param {string} label @param {string} bound */
function declare(key, label, bound) {
  rows.set(key, { key, label, na: "not run", notes: [], bound });
}
declare("ceiling", "1  ceiling: bare 302", "workerd");
declare("floor-tap", "2a floor: tap", "KV+D1");
declare("floor-refused", "2b floor: refused tap", "KV+D1");
declare("floor-issue", "2c floor: issue", "KV+D1");
declare("tap", "3  tap (fresh link)", "service");
declare("refused", "4  refused tap (used, no cookie)", "service");
declare("issue", "5a issue POST /v1/links", "service");
declare("batch", `5b batch issue (${config.batchSize}/call)`, "service");
/** Shard counts the rules phase compares issue with and without contact rules on. */
const RULES_SHARDS = [1, 4];
/** Two rules, as a deployment would have them: every call is checked against both. */
const BENCH_RULES = JSON.stringify([
  { id: "monthly", max: 1, days: 30 },
  { id: "opened-weekly", max: 2, days: 7, count: "opened" },
]);
for (const shards of RULES_SHARDS) {
  declare(`rules-plain-${shards}`, `5c issue, no rules, ${shards} shard(s)`, "service");
  declare(`rules-on-${shards}`, `5d issue, two rules, ${shards} shard(s)`, "service");
}
for (const [key, label] of STATS_SHAPES) declare(key, label, "D1 query");
declare(STATS_FLOOR, "6z floor: one round over the shards, nothing read", "D1 round");
declare("qualtrics", "7  Qualtrics calls/invite", "reconcile");
declare("latency-floor", "8a floor: tap, storage as is", "KV+D1");
declare("latency-floor-delayed", `8b floor: tap, +${config.latencyMs} ms per round trip`, "KV+D1");
declare("latency-service", "8c tap (fresh link), storage as is", "service");
declare(
  "latency-service-delayed",
  `8d tap (fresh link), +${config.latencyMs} ms per round trip`,
  "service",
);
declare("cost", "9  cost per invite (list prices)", "KV+D1+requests");

/** @type {Map<string, Measured>} */
const measured = new Map();
/** @type {number | null} */
let qualtricsCallsPerInvite = null;
/**
 * Storage round trips before a fresh tap's answer (phase 8).
 * @type {{ service: number | null; floor: number | null }}
 */
const roundTrips = { service: null, floor: null };
/** Storage use per operation (phase 9; phase 7 adds the reconcile share). */
/** @type {import("./lib/storage-cost.js").CostLine[]} */
const costLines = [];
/** Ledger shards the stats phase ran on (phase 6). */
/** @type {number | null} */
let statsShards = null;
/** The most storage calls one stats request had in flight (phase 6). */
/** @type {number | null} */
let statsMaxInFlight = null;

/** @param {string} key @param {string} reason */
function markNa(key, reason) {
  const row = /** @type {Row} */ (rows.get(key));
  row.na = reason;
  say(`${row.label.trim()}: na (${reason})`);
}

/**
 * Warm-up, then the measured run. Only answers with an expected status count
 * towards req/s; anything else is reported in the notes.
 * @param {string} key
 * @param {{ url: string; warm?: Workload; run: Workload; auth?: string; connections?: number;
 *   seconds?: number; expect: (status: number) => boolean }} options
 */
async function measure(key, options) {
  const connections = options.connections ?? config.connections;
  const common = {
    url: options.url,
    auth: options.auth,
    connections,
    threads: Math.min(config.threads, connections),
    tmpDir,
    loadgen: config.loadgen,
  };
  /** @type {LoadResult | undefined} */
  let warm;
  if (config.warmup > 0 && options.warm) {
    warm = await runLoad({
      ...common,
      workload: options.warm,
      tag: `${runTag}-${key}-w`,
      seconds: config.warmup,
    });
  }
  const result = await runLoad({
    ...common,
    workload: options.run,
    tag: `${runTag}-${key}-m`,
    seconds: options.seconds ?? config.duration,
  });
  if (result.requests === 0) {
    throw new Error(`no answer within ${options.seconds ?? config.duration} s`);
  }
  let good = 0;
  /** @type {string[]} */
  const unexpected = [];
  for (const [status, count] of Object.entries(result.statuses)) {
    if (options.expect(Number(status))) good += count;
    else unexpected.push(`${count}×${status}`);
  }
  /** @type {string[]} */
  const notes = [];
  if (unexpected.length > 0) notes.push(`unexpected: ${unexpected.join(", ")}`);
  if (result.socketErrors > 0) notes.push(`${result.socketErrors} socket errors/timeouts`);
  if (result.reused > 0) notes.push(`pool ran out: ${result.reused} links tapped twice`);
  if (result.tool !== "wrk") notes.push(`via ${result.tool}`);
  /** @type {Measured} */
  const m = {
    rps: good / result.seconds,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    notes,
    result,
  };
  measured.set(key, m);
  const row = /** @type {Row} */ (rows.get(key));
  row.na = undefined;
  row.rps = m.rps;
  row.p50Ms = m.p50Ms;
  row.p99Ms = m.p99Ms;
  row.notes.push(...notes);
  say(
    `${row.label.trim()}: ${m.rps.toFixed(1)} req/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms` +
      (warm ? ` (warm-up ${(warm.requests / warm.seconds).toFixed(1)} req/s)` : "") +
      (notes.length > 0 ? ` [${notes.join("; ")}]` : ""),
  );
  return m;
}

// ---------------------------------------------------------------- servers

/**
 * Starts a dev server, or marks `keys` na and returns null when it cannot.
 * @param {Parameters<typeof startDevServer>[0]} options @param {string[]} keys
 * @param {() => Promise<void>} [prepare]
 * @returns {Promise<DevServer | null>}
 */
async function tryStart(options, keys, prepare) {
  try {
    if (prepare) await prepare();
    say(`starting ${options.name} (wrangler dev, log ${options.logFile})`);
    const t0 = Date.now();
    const server = await startDevServer(options);
    say(
      `${options.name} ready on ${server.url} (pid ${server.pid}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    return server;
  } catch (error) {
    say(`${options.name}: ${error instanceof Error ? error.message : error}`);
    for (const key of keys) if (rows.get(key)?.na === "not run") markNa(key, brief(error));
    return null;
  }
}

/** @param {DevServer | null} server */
async function stopServer(server) {
  if (!server) return;
  await server.stop();
  say(`${server.name} stopped`);
}

/** @param {string} name */
const devOptions = (name, /** @type {string} */ cwd, extra = {}) => ({
  name,
  cwd,
  persistTo: path.join(tmpDir, `${name}-state`),
  logFile: path.join(tmpDir, `${name}.log`),
  readyTimeout: config.readyTimeout,
  logLevel: config.wranglerLogLevel,
  ...extra,
});

/** @param {string} name @param {string} persistTo */
function serviceOptions(name, persistTo) {
  return {
    ...devOptions(name, config.serviceDir),
    persistTo,
    vars: { RATE_LIMITS: "off" },
    readyPath: "/healthz",
  };
}

/** Applies the service's migrations (if it has any) to a fresh local state (one shard, DB). */
async function prepareServiceState(/** @type {string} */ persistTo) {
  if (!existsSync(path.join(config.serviceDir, "migrations"))) return;
  await applyMigrations({ cwd: config.serviceDir, persistTo, database: shardBinding(0) });
}

/** How many fresh links a tap run of `seconds` at `rps` needs, with a margin. */
const poolFor = (/** @type {number} */ rps, /** @type {number} */ seconds, factor = 1.5) =>
  Math.min(MAX_POOL, Math.ceil(rps * seconds * factor) + 500);

/**
 * A warm-up run on its own (fresh ids, so the measured ids stay fresh); returns
 * the rate of `status` answers.
 * @param {string} url @param {Workload} workload @param {string} tag @param {number} status
 */
async function warmUp(url, workload, tag, status, connections = config.connections) {
  if (config.warmup <= 0) return null;
  const warm = await runLoad({
    url,
    workload,
    tag: `${runTag}-${tag}-w`,
    connections,
    seconds: config.warmup,
    threads: Math.min(config.threads, connections),
    tmpDir,
    loadgen: config.loadgen,
  });
  return (warm.statuses[String(status)] ?? 0) / warm.seconds;
}

// ---------------------------------------------------------------- phase 1

/** @param {DevServer} server */
async function runCeiling(server) {
  await measure("ceiling", {
    url: server.url,
    warm: { kind: "fixed", path: "/" },
    run: { kind: "fixed", path: "/" },
    expect: (s) => s === 302,
  });
}

// ---------------------------------------------------------------- phase 2

/** @param {DevServer} floors */
async function runFloorTap(floors) {
  // Warm up on ids of its own, then size the measured pool from the warm-up rate.
  const warmIds = await seedFloor(floors.url, "tap", "fw", Math.max(500, 600 * config.warmup));
  const warmRps = await warmUp(
    floors.url,
    { kind: "ids", prefix: "/tap/", ids: warmIds },
    "ftap",
    302,
  );
  const ids = await seedFloor(floors.url, "tap", "fm", poolFor(warmRps ?? 400, config.duration, 2));
  await measure("floor-tap", {
    url: floors.url,
    run: { kind: "ids", prefix: "/tap/", ids },
    expect: (s) => s === 302,
  });
}

/** @param {DevServer} floors */
async function runFloorRefused(floors) {
  const ids = await seedFloor(floors.url, "refused", "fr", REFUSED_POOL);
  await measure("floor-refused", {
    url: floors.url,
    warm: { kind: "cycle", prefix: "/refused/", ids },
    run: { kind: "cycle", prefix: "/refused/", ids },
    expect: (s) => s === 410,
  });
}

/** @param {DevServer} floors */
async function runFloorIssue(floors) {
  await measure("floor-issue", {
    url: floors.url,
    warm: { kind: "issue", path: "/issue" },
    run: { kind: "issue", path: "/issue" },
    expect: (s) => s === 201,
  });
}

// ---------------------------------------------------------------- phases 3–5

const SERVICE_KEYS = ["tap", "refused", "issue", "batch"];

/** What the first service instance learns, for the later phases. */
const serviceFacts = {
  /** POST /v1/links issues a link */
  singleOk: false,
  /** POST /v1/links/batch issues links */
  batchOk: false,
  /** @type {boolean | null} null = not probed */
  statsAvailable: null,
  /** @type {{ type: string; value: unknown } | undefined} */
  timeSample: undefined,
};

/**
 * Which issue endpoints answer; marks the phases that cannot run as na.
 * @param {DevServer} service
 */
async function probeService(service) {
  const base = service.url;
  const single = await issueOne(base, benchLink(`${runTag}-probe1`, 0));
  const batch = await issueBatch(base, [
    benchLink(`${runTag}-probe2`, 0),
    benchLink(`${runTag}-probe2`, 1),
  ]);
  serviceFacts.singleOk = single.status === 201 && single.id !== undefined;
  serviceFacts.batchOk = batch.status < 300 && batch.ids.length === 2;
  say(`probe: POST /v1/links ${single.status}, POST /v1/links/batch ${batch.status}`);
  /** @param {string} what @param {{ status: number; text: string }} r */
  const why = (what, r) =>
    r.status === 404
      ? `${what} answers 404`
      : `${what} answered ${r.status}: ${r.text.slice(0, 80)}`;
  if (!serviceFacts.singleOk) markNaIfWanted("issue", why("POST /v1/links", single));
  if (!serviceFacts.batchOk) markNaIfWanted("batch", why("POST /v1/links/batch", batch));
  if (!serviceFacts.singleOk && !serviceFacts.batchOk) {
    const reason = `cannot issue links (${why("POST /v1/links", single)})`;
    markNaIfWanted("tap", reason);
    markNaIfWanted("refused", reason);
  }
}

/** @param {string} key @param {string} reason */
function markNaIfWanted(key, reason) {
  if (pending(key)) markNa(key, reason);
}

/** The BENCH_PHASES name a row belongs to. @param {string} key */
const phaseOf = (key) =>
  /** @type {import("./lib/config.js").Phase} */ (
    key.startsWith("floor-") ? "floors" : key.split("-")[0]
  );

/** @param {string} key */
const pending = (key) => config.phases.has(phaseOf(key)) && rows.get(key)?.na === "not run";

/**
 * Issues fresh links on the service (batch calls when they work).
 * @param {DevServer} service @param {number} count @param {string} tag
 */
const issueFresh = (service, count, tag) =>
  issueMany({
    base: service.url,
    count,
    tag: `${runTag}-${tag}`,
    batchSize: config.batchSize,
    useBatch: serviceFacts.batchOk,
  });

/**
 * Sanity first (a fresh link redirects once, then is refused), then the tap run
 * on links issued in bulk beforehand, each tapped once.
 * @param {DevServer} service
 */
async function runTap(service) {
  const base = service.url;
  const probe = await issueFresh(service, 1, "probe3");
  if (probe.ids.length === 0) throw new Error("could not issue a link to tap");
  const first = await tap(base, probe.ids[0]);
  if (first !== 302) throw new Error(`GET /s/:id on a fresh link answered ${first}, not 302`);
  const second = await tap(base, probe.ids[0]);
  if (second !== 410) runNotes.push(`a second tap without cookie answered ${second}, not 410`);

  const floorRps = measured.get("floor-tap")?.rps ?? 400;
  const warmPool = await issueFresh(service, poolFor(floorRps, config.warmup, 2), "tapw");
  const warmRps = await warmUp(base, { kind: "ids", prefix: "/s/", ids: warmPool.ids }, "tap", 302);
  const t0 = Date.now();
  const pool = await issueFresh(
    service,
    poolFor(Math.max(warmRps ?? 0, floorRps), config.duration),
    "tapm",
  );
  const seconds = (Date.now() - t0) / 1000;
  say(
    `issued ${pool.ids.length} links for the tap run in ${seconds.toFixed(1)} s` +
      ` (${(pool.ids.length / seconds).toFixed(0)} links/s, ${serviceFacts.batchOk ? "batch" : "single"} calls` +
      `${pool.failed ? `, ${pool.failed} failed` : ""})`,
  );
  // No second warm-up: the run on warmPool above was it.
  await measure("tap", {
    url: base,
    run: { kind: "ids", prefix: "/s/", ids: pool.ids },
    expect: (s) => s === 302,
  });
}

/**
 * Links used once (302), so that every later tap without the cookie is refused.
 * @param {DevServer} service
 */
async function prepareRefused(service) {
  const fresh = await issueFresh(service, REFUSED_POOL, "refused");
  const statuses = await pool(fresh.ids, 8, (id) => tap(service.url, id));
  const used = fresh.ids.filter((_, i) => statuses[i] === 302);
  if (used.length === 0) throw new Error("no link could be used before the refused run");
  return used;
}

/** @param {DevServer} service @param {string[]} used */
async function runRefused(service, used) {
  await measure("refused", {
    url: service.url,
    warm: { kind: "cycle", prefix: "/s/", ids: used },
    run: { kind: "cycle", prefix: "/s/", ids: used },
    expect: (s) => s === 410,
  });
}

/** @param {DevServer} service */
async function runIssue(service) {
  await measure("issue", {
    url: service.url,
    auth: KEYS.issuer,
    warm: { kind: "issue", path: "/v1/links" },
    run: { kind: "issue", path: "/v1/links" },
    expect: (s) => s === 201,
  });
}

/** @param {DevServer} service */
async function runBatch(service) {
  const m = await measure("batch", {
    url: service.url,
    auth: KEYS.issuer,
    connections: config.batchConnections,
    warm: { kind: "batch", path: "/v1/links/batch", size: config.batchSize },
    run: { kind: "batch", path: "/v1/links/batch", size: config.batchSize },
    expect: (s) => s >= 200 && s < 300,
  });
  const row = /** @type {Row} */ (rows.get("batch"));
  row.rps = m.rps * config.batchSize;
  row.rpsUnit = "links/s";
  row.notes.unshift(`${m.rps.toFixed(2)} calls/s; latency per call`);
}

/**
 * Issue with and without two contact rules, side by side on `shards` shards: two services, each
 * on a fresh state of its own (every shard migrated), measured one after the other. Customers
 * are unique per call, so the rules check every call and suppress none.
 * @param {number} shards
 */
async function runRules(shards) {
  /** @type {(DevServer | null)[]} */
  const servers = [];
  try {
    for (const [kind, rules] of /** @type {const} */ ([
      ["plain", undefined],
      ["on", BENCH_RULES],
    ])) {
      const key = `rules-${kind}-${shards}`;
      const persistTo = path.join(tmpDir, `${key}-state`);
      const base = serviceOptions(key, persistTo);
      /** @type {Record<string, string>} */
      const vars = { ...base.vars, LEDGER_SHARDS: String(shards) };
      if (rules) vars.CONTACT_RULES = rules;
      const options = { ...base, vars };
      servers.push(
        await tryStart(options, [key], async () => {
          for (let shard = 0; shard < shards; shard++) {
            await applyMigrations({
              cwd: config.serviceDir,
              persistTo,
              database: shardBinding(shard),
            });
          }
        }),
      );
    }
    for (const [i, kind] of ["plain", "on"].entries()) {
      const server = servers[i];
      const key = `rules-${kind}-${shards}`;
      if (!server) continue;
      await attempt(key, () =>
        measure(key, {
          url: server.url,
          auth: KEYS.issuer,
          warm: { kind: "issue", path: "/v1/links" },
          run: { kind: "issue", path: "/v1/links" },
          expect: (s) => s === 201,
        }),
      );
    }
  } finally {
    for (const server of servers.reverse()) await stopServer(server);
  }
}

/**
 * Runs `run` for `key` if it is still pending; a failure makes it na.
 * @param {string} key @param {() => Promise<unknown>} run
 */
async function attempt(key, run) {
  if (!pending(key)) return;
  try {
    await run();
  } catch (error) {
    say(`${key}: ${error instanceof Error ? error.message : error}`);
    markNaIfWanted(key, brief(error));
  }
}

/**
 * Phases 1–5 (and 7's hook): all three Workers run side by side and each
 * service phase runs right after its floor, so that both see the same
 * background load on a shared machine.
 */
async function phasesLive() {
  const wantFloors = config.phases.has("floors");
  const wantService =
    SERVICE_KEYS.some((k) => config.phases.has(phaseOf(k))) || config.phases.has("stats");
  const floorsDir = path.join(WORKERS, "floors");
  const floorsOptions = devOptions("floors", floorsDir);
  const servicePersist = path.join(tmpDir, "service-state");
  const hasService = hasWranglerConfig(config.serviceDir);
  if (wantService && !hasService) {
    for (const key of SERVICE_KEYS)
      markNaIfWanted(key, `no wrangler config in ${config.serviceDir} yet`);
    serviceFacts.statsAvailable = false;
  }
  /** @type {(DevServer | null)[]} */
  const servers = [];
  try {
    const ceiling = config.phases.has("ceiling")
      ? await tryStart(devOptions("ceiling", path.join(WORKERS, "ceiling")), ["ceiling"])
      : null;
    servers.push(ceiling);
    const floors = wantFloors
      ? await tryStart(floorsOptions, ["floor-tap", "floor-refused", "floor-issue"], () =>
          applyMigrations({ cwd: floorsDir, persistTo: floorsOptions.persistTo }),
        )
      : null;
    servers.push(floors);
    const service =
      wantService && hasService
        ? await tryStart(serviceOptions("service", servicePersist), SERVICE_KEYS, () =>
            prepareServiceState(servicePersist),
          )
        : null;
    servers.push(service);
    if (service) await probeService(service);

    if (ceiling) await attempt("ceiling", () => runCeiling(ceiling));
    if (floors) await attempt("floor-tap", () => runFloorTap(floors));
    if (service) await attempt("tap", () => runTap(service));
    /** @type {string[]} */
    let used = [];
    if (service && pending("refused")) {
      await attempt("refused", async () => {
        used = await prepareRefused(service);
      });
    }
    if (floors) await attempt("floor-refused", () => runFloorRefused(floors));
    if (service && used.length > 0) await attempt("refused", () => runRefused(service, used));
    if (floors) await attempt("floor-issue", () => runFloorIssue(floors));
    if (service) await attempt("issue", () => runIssue(service));
    if (service) await attempt("batch", () => runBatch(service));
    if (hasService && config.phases.has("rules")) {
      for (const shards of RULES_SHARDS) await runRules(shards);
    }
    if (service && config.phases.has("stats")) {
      const probe = await call(service.url, "/v1/stats", { auth: KEYS.analyst });
      serviceFacts.statsAvailable = probe.status !== 404;
    }
  } finally {
    for (const server of servers.reverse()) await stopServer(server);
  }
  if (hasService && config.phases.has("stats") && existsSync(servicePersist)) {
    // How the ledger stores times, from a row the service wrote itself.
    const sample = await d1Execute({
      cwd: config.serviceDir,
      persistTo: servicePersist,
      command: "SELECT typeof(issued_at) AS type, issued_at AS value FROM invites LIMIT 1",
    }).catch(() => []);
    const first = sample[0];
    if (first) serviceFacts.timeSample = { type: String(first.type), value: first.value };
  }
}

// ---------------------------------------------------------------- phases 8–9

const LATENCY_KEYS = [
  "latency-floor",
  "latency-floor-delayed",
  "latency-service",
  "latency-service-delayed",
];

/**
 * Phase 8 for one Worker (metered entry): p50 of fresh taps without and with the delay.
 * @param {DevServer} server @param {"floor" | "service"} target
 */
async function runLatency(server, target) {
  const base = server.url;
  const key = `latency-${target}`;
  const prefix = target === "floor" ? "/tap/" : "/s/";
  /** @param {string[]} ids @returns {Workload} */
  const workload = (ids) => ({ kind: "ids", prefix, ids });
  const connections = config.latencyConnections;
  const result = await tapRoundTrips({
    base,
    delayMs: config.latencyMs,
    connections,
    seconds: config.latencyDuration,
    warmupSeconds: config.warmup,
    // The throughput run of the same tap had more connections: its rate bounds this one.
    expectedRps: measured.get(target === "floor" ? "floor-tap" : "tap")?.rps ?? 500,
    freshIds:
      target === "floor"
        ? (count, tag) => seedFloor(base, "tap", `l${tag}`, count)
        : async (count, tag) =>
            (
              await issueMany({
                base,
                count,
                tag: `${runTag}-lat${tag}`,
                batchSize: config.batchSize,
                useBatch: true,
              })
            ).ids,
    warmUp: (ids) => warmUp(base, workload(ids), key, 302, connections),
    run: (delayed, ids) =>
      measure(delayed ? `${key}-delayed` : key, {
        url: base,
        run: workload(ids),
        connections,
        seconds: config.latencyDuration,
        expect: (s) => s === 302,
      }),
  });
  roundTrips[target] = result.roundTrips;
  /** @type {Row} */ (rows.get(`${key}-delayed`)).notes.unshift(
    `${fmt(result.roundTrips)} round trips before the answer = (p50 − ${fmt(result.plain.p50Ms)} ms) ÷ ${config.latencyMs} ms`,
  );
  say(`${target}: ${fmt(result.roundTrips)} storage round trips before a fresh tap's answer`);
}

/** Phase 9: storage use per operation, service and floor (metered entries, no delay). */
async function runCost(/** @type {DevServer} */ floors, /** @type {DevServer} */ service) {
  const ops = config.costOps;
  const floor = await countFloorCosts({ base: floors.url, ops, tag: runTag });
  const ours = await countServiceCosts({
    base: service.url,
    ops,
    tag: runTag,
    batchSize: config.batchSize,
  });
  costLines.push(...ours, ...floor);
  for (const line of [...ours, ...floor]) {
    say(
      `cost: ${line.label}: ${fmt(usdPerMillion(line.perOp))} USD per million` +
        (line.note ? ` [${line.note}]` : ""),
    );
  }
}

/**
 * Phases 8 and 9 run on the metered entries of the floors and the service (bench only: the
 * Worker's own configuration with a metering entry as `main`), started after the throughput
 * phases so that nothing else loads the machine.
 */
async function phasesMetered() {
  const keys = [...LATENCY_KEYS, "cost"].filter((k) => pending(k));
  if (keys.length === 0) return;
  if (!hasWranglerConfig(config.serviceDir)) {
    for (const key of keys) markNa(key, `no wrangler config in ${config.serviceDir}`);
    return;
  }
  const floorsDir = path.join(WORKERS, "floors");
  const floorsOptions = { ...devOptions("floors-metered", floorsDir), script: "metered.js" };
  const servicePersist = path.join(tmpDir, "service-metered-state");
  /** @type {(DevServer | null)[]} */
  const servers = [];
  try {
    const floors = await tryStart(floorsOptions, keys, () =>
      applyMigrations({ cwd: floorsDir, persistTo: floorsOptions.persistTo }),
    );
    servers.push(floors);
    const service = await tryStart(
      { ...serviceOptions("service-metered", servicePersist), script: METERED_SERVICE_ENTRY },
      keys,
      () => prepareServiceState(servicePersist),
    );
    servers.push(service);
    if (!floors || !service) return;
    if (pending("latency-floor")) {
      await guarded(["latency-floor", "latency-floor-delayed"], () => runLatency(floors, "floor"));
    }
    if (pending("latency-service")) {
      await guarded(["latency-service", "latency-service-delayed"], () =>
        runLatency(service, "service"),
      );
    }
    if (pending("cost")) await guarded(["cost"], () => runCost(floors, service));
  } finally {
    for (const server of servers.reverse()) await stopServer(server);
  }
}

// ---------------------------------------------------------------- phase 6

/**
 * Phase 6: the stats answers over `BENCH_STATS_ROWS` invites on `BENCH_STATS_SHARDS` local
 * shards (32), on the stats entry: six storage calls in flight at most per request and
 * `BENCH_STATS_LATENCY_MS` added to each round trip, as production's network would, while the
 * meter counts the most calls one request ever had in flight.
 */
async function phaseStats() {
  const naAll = (/** @type {string} */ reason) => {
    for (const key of [...STATS_KEYS, STATS_FLOOR]) markNa(key, reason);
  };
  if (!hasWranglerConfig(config.serviceDir))
    return naAll(`no wrangler config in ${config.serviceDir} yet`);
  if (serviceFacts.statsAvailable === false) return naAll("GET /v1/stats answers 404");
  const shards = config.statsShards;
  const configFile = path.join(tmpDir, "stats-wrangler.toml");
  writeStatsConfig({ serviceDir: config.serviceDir, file: configFile, shards });
  const options = serviceOptions("stats-service", path.join(tmpDir, "stats-state"));
  const server = await tryStart(
    {
      ...options,
      config: configFile,
      script: STATS_SERVICE_ENTRY,
      vars: { ...options.vars, LEDGER_SHARDS: String(shards) },
    },
    [...STATS_KEYS, STATS_FLOOR],
  );
  if (!server) return;
  try {
    const base = server.url;
    const t0 = Date.now();
    await migrateShards({ base, serviceDir: config.serviceDir, shards });
    say(`${shards} shards migrated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const table = /** @type {import("./lib/stats-seed.js").TableColumn[]} */ (
      /** @type {unknown} */ (await shardSql(base, "DB", ["PRAGMA table_info(invites)"]))
    );
    if (table.length === 0) return naAll("the service's D1 has no invites table");
    const timeFormat = timeFormatOf(serviceFacts.timeSample, table);
    say(
      `seeding ${config.statsRows} invites over ${shards} ledger shard(s) (times as ${timeFormat})`,
    );
    const now = Date.now();
    const t1 = Date.now();
    let windowStart = new Date(now);
    /** @type {string[]} */
    const firstIds = [];
    for (let shard = 0; shard < shards; shard++) {
      const { first, last } = shardRows(config.statsRows, shards, shard);
      if (last < first) continue;
      const seed = seedStatements({
        first,
        last,
        idPrefix: shardPrefix(shard),
        now,
        timeFormat,
        table,
      });
      if (shard === 0) for (const note of seed.notes) runNotes.push(`stats seed: ${note}`);
      windowStart = seed.windowStart;
      firstIds.push(seed.firstId);
      const binding = shardBinding(shard);
      for (const statement of seed.statements) await shardSql(base, binding, [statement]);
      await checkRollups(base, binding);
    }
    say(
      `seeded ${config.statsRows} invites in ${((Date.now() - t1) / 1000).toFixed(1)} s` +
        " (stats rollups filled by the invites triggers, checked per shard)",
    );
    const day = (/** @type {Date} */ d) => d.toISOString().slice(0, 10);
    const range = `from=${day(windowStart)}&to=${day(new Date())}`;
    const probe = await call(base, `/v1/stats?${range}`, { auth: KEYS.analyst });
    if (probe.status === 404) return naAll("GET /v1/stats answers 404");
    if (probe.status >= 300) {
      return naAll(`GET /v1/stats answered ${probe.status}: ${probe.text.slice(0, 80)}`);
    }
    statsShards = shards;
    await checkSeedServed(server, probe.text, firstIds);
    // Production's shape: six connections per invocation, and the network's time per round trip.
    await setConnections(base, config.statsConnectionsCap);
    await setDelay(base, config.statsLatencyMs);
    await resetCounters(base);
    for (const [key, , query] of STATS_SHAPES) {
      const target = `/v1/stats?${range}&${query}`;
      const check = await call(base, target, { auth: KEYS.analyst });
      if (check.status >= 300) {
        markNa(key, `${target} answered ${check.status}`);
        continue;
      }
      await measure(key, {
        url: base,
        auth: KEYS.analyst,
        connections: config.statsConnections,
        seconds: config.statsDuration,
        warm: { kind: "fixed", path: target },
        run: { kind: "fixed", path: target },
        expect: (s) => s >= 200 && s < 300,
      }).catch((error) => markNa(key, brief(error)));
    }
    await measure(STATS_FLOOR, {
      url: base,
      connections: config.statsConnections,
      seconds: config.statsDuration,
      warm: { kind: "fixed", path: "/__bench/round" },
      run: { kind: "fixed", path: "/__bench/round" },
      expect: (s) => s === 200,
    }).catch((error) => markNa(STATS_FLOOR, brief(error)));
    statsMaxInFlight = (await readCounters(base)).maxInFlight;
    say(`stats: at most ${statsMaxInFlight} storage calls in flight in one request`);
  } finally {
    await stopServer(server);
  }
}

/**
 * The shard's rollups count what its invites hold (else a note).
 * @param {string} base @param {string} binding
 */
async function checkRollups(base, binding) {
  const [count] = await shardSql(base, binding, [ROLLUP_CHECK_SQL]);
  say(`${binding}: ${count?.invites} invites, rollups count ${count?.rolled}`);
  if (count?.rolled !== count?.invites || count?.rolledOpened !== count?.opened) {
    runNotes.push(
      `stats seed, ${binding}: rollups count ${count?.rolled} invites (${count?.rolledOpened} opened), ` +
        `the ledger ${count?.invites} (${count?.opened} opened)`,
    );
  }
}

/**
 * The stats service sees every seeded invite (all shards added up), and finds a seeded link of
 * each shard where its id says it is; else notes.
 * @param {DevServer} server @param {string} statsText @param {string[]} firstIds
 */
async function checkSeedServed(server, statsText, firstIds) {
  /** @type {unknown} */
  let issued;
  try {
    issued = JSON.parse(statsText)?.totals?.issued;
  } catch {
    // not JSON
  }
  if (issued !== config.statsRows) {
    runNotes.push(`stats: totals.issued is ${issued}, ${config.statsRows} invites were seeded`);
  }
  for (const id of firstIds) {
    const { status } = await call(server.url, `/v1/links/${id}`, { auth: KEYS.issuer });
    if (status !== 200) runNotes.push(`stats seed: GET /v1/links/${id} answered ${status}`);
  }
}

// ---------------------------------------------------------------- phase 7

/**
 * Phase 7 runs its own service (the metered entry, so that the reconcile share of an invite's
 * storage cost is counted too), pointed at the fake Qualtrics server, after the load phases.
 */
async function phaseQualtrics() {
  if (!hasWranglerConfig(config.serviceDir)) {
    return markNa("qualtrics", `no wrangler config in ${config.serviceDir}`);
  }
  const persistTo = path.join(tmpDir, "qualtrics-service-state");
  const cost = await measureQualtricsCallsPerInvite({
    startService: async (vars) => {
      await prepareServiceState(persistTo);
      const options = serviceOptions("qualtrics-service", persistTo);
      return startDevServer({
        ...options,
        script: METERED_SERVICE_ENTRY,
        vars: { ...options.vars, ...vars },
      });
    },
  });
  const row = /** @type {Row} */ (rows.get("qualtrics"));
  if (cost.callsPerInvite === null) return markNa("qualtrics", cost.note);
  if (cost.storage && cost.invites) {
    costLines.push({
      label: "service: reconcile share, per invite pushed",
      count: cost.invites,
      part: "service",
      perOp: perOperation(cost.storage, cost.invites),
    });
  }
  qualtricsCallsPerInvite = cost.callsPerInvite;
  row.na = undefined;
  row.rps = cost.callsPerInvite;
  row.rpsUnit = "calls/invite";
  row.vsFloor = 5 / cost.callsPerInvite;
  row.notes.push(
    `${cost.calls} calls for ${cost.invites} invites` +
      (cost.wallSeconds ? `, ${cost.wallSeconds.toFixed(1)} s` : "") +
      "; × floor = times fewer than 5 calls/invite",
    cost.note,
  );
}

// ---------------------------------------------------------------- main

/**
 * Runs a phase; if it throws, its rows that have no result yet become `na`.
 * @param {string[]} keys @param {() => Promise<unknown>} run
 */
async function guarded(keys, run) {
  try {
    await run();
  } catch (error) {
    say(`${keys.join(", ")}: ${error instanceof Error ? error.message : error}`);
    for (const key of keys) if (rows.get(key)?.na === "not run") markNa(key, brief(error));
  }
}

function summarize() {
  const rps = (/** @type {string} */ key) => measured.get(key)?.rps ?? null;
  const ratio = (/** @type {number | null} */ a, /** @type {number | null} */ b) =>
    a !== null && b !== null && b > 0 ? a / b : null;
  const ceiling = rps("ceiling");
  const floorOf = /** @type {Record<string, string>} */ ({
    tap: "floor-tap",
    refused: "floor-refused",
    issue: "floor-issue",
    batch: "floor-issue",
  });
  for (const row of rows.values()) {
    if (row.na || !["ceiling", "floors", ...SERVICE_KEYS].includes(phaseOf(row.key))) continue;
    const value = row.key === "batch" ? (row.rps ?? null) : rps(row.key);
    row.vsCeiling = ratio(value, ceiling) ?? undefined;
    if (floorOf[row.key]) row.vsFloor = ratio(value, rps(floorOf[row.key])) ?? undefined;
  }
  // Stats against the floor of one round over the same shards (throughput, as the others).
  for (const key of STATS_KEYS) {
    const row = rows.get(key);
    if (row && !row.na) row.vsFloor = ratio(rps(key), rps(STATS_FLOOR)) ?? undefined;
  }
  // The worst of the stats queries (all must stay under the goal).
  const statsP99 = STATS_KEYS.map((k) => measured.get(k)?.p99Ms).filter((v) => v !== undefined);
  const invite = summarizeCost();
  return {
    tap_vs_floor: ratio(rps("tap"), rps("floor-tap")),
    issue_vs_floor: ratio(rps("issue"), rps("floor-issue")),
    refused_vs_floor: ratio(rps("refused"), rps("floor-refused")),
    tap_vs_ceiling: ratio(rps("tap"), ceiling),
    stats_p99_ms: statsP99.length > 0 ? Math.max(...statsP99) : null,
    stats_shards: statsShards,
    max_inflight: statsMaxInFlight,
    qualtrics_calls_per_invite: qualtricsCallsPerInvite,
    tap_roundtrips: roundTrips.service,
    cost_vs_floor: invite.complete ? ratio(invite.service, invite.floor) : null,
    usd_per_million_invites: invite.complete ? invite.service : null,
    rules_vs_plain: ratio(rps("rules-on-1"), rps("rules-plain-1")),
    rules_vs_plain_4shards: ratio(rps("rules-on-4"), rps("rules-plain-4")),
  };
}

/** The cost row from the counted lines: complete only with issue, tap and reconcile share. */
function summarizeCost() {
  const invite = inviteCosts(costLines);
  const row = /** @type {Row} */ (rows.get("cost"));
  if (row.na !== "not run") return invite;
  if (!invite.complete) {
    const missing = costLines.some((l) => l.label.includes("reconcile"))
      ? "issue and tap counts (phase cost)"
      : "reconcile share (phase qualtrics)";
    row.na = `incomplete: ${missing} not measured`;
    return invite;
  }
  row.na = undefined;
  row.rps = invite.service ?? undefined;
  row.rpsUnit = "USD/M invites";
  row.notes.push(
    `floor ${fmt(invite.floor)} USD/M invites; cost_vs_floor ${fmt(
      invite.service !== null && invite.floor ? invite.service / invite.floor : null,
    )}; see "Cost per invite"`,
  );
  return invite;
}

async function main() {
  const removeTmp = () => {
    if (!config.keepTmp) rmSync(tmpDir, { recursive: true, force: true });
  };
  stopEverythingOnExit(stopLoadGenerators, removeTmp);
  process.on("exit", stopLoadGenerators);
  say(
    `${config.duration} s per phase after ${config.warmup} s warm-up, ${config.connections} connections, phases: ${[...config.phases].join(", ")}`,
  );
  say(`temp dir ${tmpDir}`);
  try {
    const live = ["ceiling", "floor-tap", "floor-refused", "floor-issue", ...SERVICE_KEYS];
    await guarded(live, phasesLive);
    await guarded([...LATENCY_KEYS, "cost"], phasesMetered);
    if (config.phases.has("stats")) await guarded([...STATS_KEYS, STATS_FLOOR], phaseStats);
    if (config.phases.has("qualtrics")) await guarded(["qualtrics"], phaseQualtrics);
  } finally {
    await stopAll();
  }
  for (const row of rows.values()) {
    if (row.na === "not run" && !config.phases.has(phaseOf(row.key))) {
      row.na = "skipped (BENCH_PHASES)";
    }
  }
  if (restartRetries.count > 0) {
    runNotes.push(
      `${restartRetries.count} untimed POST(s) sent again after wrangler dev reloaded the Worker under them`,
    );
  }
  const summary = summarize();
  const cost =
    costLines.length > 0
      ? costMarkdown({
          lines: costLines,
          servicePerInvite: summary.usd_per_million_invites,
          floorPerInvite: inviteCosts(costLines).floor,
        })
      : null;
  const elapsed = (Date.now() - startedAt.getTime()) / 1000;
  const table = [...rows.values()];
  process.stdout.write(`\n${renderTable(table)}\n\n`);
  for (const note of runNotes) say(`note: ${note}`);
  if (config.out) {
    writeBenchmarksMd({
      file: config.out,
      rows: table,
      summary,
      startedAt,
      elapsedSeconds: elapsed,
      notes: runNotes,
      sections: cost ? [cost] : [],
      settings: {
        BENCH_DURATION: config.duration,
        BENCH_WARMUP: config.warmup,
        BENCH_CONNECTIONS: config.connections,
        BENCH_BATCH_CONNECTIONS: config.batchConnections,
        BENCH_BATCH_SIZE: config.batchSize,
        BENCH_STATS_CONNECTIONS: config.statsConnections,
        BENCH_STATS_DURATION: config.statsDuration,
        BENCH_STATS_ROWS: config.statsRows,
        BENCH_STATS_SHARDS: config.statsShards,
        BENCH_STATS_LATENCY_MS: config.statsLatencyMs,
        BENCH_STATS_MAX_CONNECTIONS: config.statsConnectionsCap,
        BENCH_LATENCY_MS: config.latencyMs,
        BENCH_LATENCY_CONNECTIONS: config.latencyConnections,
        BENCH_LATENCY_DURATION: config.latencyDuration,
        BENCH_COST_OPS: config.costOps,
        BENCH_THREADS: config.threads,
        BENCH_WRANGLER_LOG_LEVEL: config.wranglerLogLevel,
      },
    });
    say(
      `wrote ${path.relative(process.cwd(), config.out) || config.out} (${elapsed.toFixed(0)} s in all)`,
    );
  }
  if (config.keepTmp) say(`kept ${tmpDir}`);
  removeTmp();
  process.stdout.write(`${summaryLine(summary)}\n`);
}

await main();
