// @ts-check
/**
 * The benchmark's outputs: the console table, BENCHMARKS.md and the one-line
 * machine-readable summary that is always printed last.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "./config.js";

/**
 * One line of the table.
 * @typedef {{ key: string; label: string; na?: string; rps?: number; rpsUnit?: string;
 *   p50Ms?: number; p99Ms?: number; vsCeiling?: number; vsFloor?: number;
 *   notes: string[]; bound: string }} Row
 */

/**
 * A number with at least two decimals, and three significant digits when small.
 * @param {number | null | undefined} value
 */
export function fmt(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "na";
  if (value === 0 || Math.abs(value) >= 0.1) return value.toFixed(2);
  const decimals = Math.min(10, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.max(2, decimals));
}

/** @param {number | undefined} value */
const cell = (value) => (value === undefined ? "—" : fmt(value));

/** @param {Row} row */
function cells(row) {
  if (row.na) return [row.label, "na", "na", "na", "na", "na", row.na];
  const rps =
    row.rps === undefined ? "—" : `${fmt(row.rps)}${row.rpsUnit ? ` ${row.rpsUnit}` : ""}`;
  return [
    row.label,
    rps,
    cell(row.p50Ms),
    cell(row.p99Ms),
    cell(row.vsCeiling),
    cell(row.vsFloor),
    row.notes.join("; "),
  ];
}

const HEADER = ["phase", "req/s", "p50 ms", "p99 ms", "× ceiling", "× floor", "notes"];

/** The table as aligned plain text. @param {Row[]} rows */
export function renderTable(rows) {
  const lines = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) =>
    Math.max(...lines.slice(0, i === 6 ? 1 : undefined).map((l) => (l[i] ?? "").length)),
  );
  const render = (/** @type {string[]} */ l) =>
    l
      .map((c, i) => (i === 0 || i === 6 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [
    render(HEADER),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...lines.slice(1).map(render),
  ].join("\n");
}

/** The table in Markdown. @param {Row[]} rows */
function markdownTable(rows) {
  const escapePipes = (/** @type {string} */ c) => c.replaceAll("|", "\\|");
  return [
    `| ${HEADER.join(" | ")} |`,
    `|${HEADER.map((_, i) => (i === 0 || i === 6 ? "---" : "---:")).join("|")}|`,
    ...rows.map((row) => `| ${cells(row).map(escapePipes).join(" | ")} |`),
  ].join("\n");
}

/**
 * @typedef {{ tap_vs_floor: number | null; issue_vs_floor: number | null;
 *   refused_vs_floor: number | null; tap_vs_ceiling: number | null;
 *   stats_p99_ms: number | null; stats_shards: number | null; max_inflight: number | null;
 *   qualtrics_calls_per_invite: number | null; tap_roundtrips: number | null;
 *   cost_vs_floor: number | null; usd_per_million_invites: number | null;
 *   rules_vs_plain: number | null; rules_vs_plain_4shards: number | null }} Summary
 */

/** @param {number | null} n */
const whole = (n) => (n === null ? "na" : String(n));

/** The last line printed, exactly as issue 10 specifies. @param {Summary} s */
export function summaryLine(s) {
  return [
    "bench:",
    `tap_vs_floor=${fmt(s.tap_vs_floor)}`,
    `issue_vs_floor=${fmt(s.issue_vs_floor)}`,
    `refused_vs_floor=${fmt(s.refused_vs_floor)}`,
    `tap_vs_ceiling=${fmt(s.tap_vs_ceiling)}`,
    `stats_p99_ms=${fmt(s.stats_p99_ms)}`,
    `stats_shards=${whole(s.stats_shards)}`,
    `max_inflight=${whole(s.max_inflight)}`,
    `qualtrics_calls_per_invite=${fmt(s.qualtrics_calls_per_invite)}`,
    `tap_roundtrips=${fmt(s.tap_roundtrips)}`,
    `cost_vs_floor=${fmt(s.cost_vs_floor)}`,
    `usd_per_million_invites=${fmt(s.usd_per_million_invites)}`,
    `rules_vs_plain=${fmt(s.rules_vs_plain)}`,
    `rules_vs_plain_4shards=${fmt(s.rules_vs_plain_4shards)}`,
  ].join(" ");
}

/** @param {string} command @param {string[]} args */
function firstLine(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8" });
  const text = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
  return result.status === null || text === "" ? "not installed" : text.split("\n")[0];
}

/** What the numbers were measured on. */
export function machineInfo() {
  const cpus = os.cpus();
  let wrangler = "unknown";
  try {
    wrangler = JSON.parse(
      readFileSync(path.join(REPO_ROOT, "node_modules", "wrangler", "package.json"), "utf8"),
    ).version;
  } catch {
    // not installed
  }
  return {
    nproc: os.availableParallelism?.() ?? cpus.length,
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrangler,
    wrk: firstLine("wrk", ["-v"]).replace(/ Copyright.*/, ""),
    hey: existsSync("/usr/bin/hey") ? "installed" : firstLine("sh", ["-c", "command -v hey"]),
  };
}

/**
 * Goal verdicts of issues 5, 10 and 21.
 * @param {Summary} s @param {number} statsRows
 */
function goals(s, statsRows) {
  /** @param {number | null} v @param {(v: number) => boolean} ok */
  const verdict = (v, ok) => (v === null ? "not measured" : ok(v) ? "met" : "**missed**");
  return [
    ["tap ≥ 1.1 × its floor", fmt(s.tap_vs_floor), verdict(s.tap_vs_floor, (v) => v >= 1.1)],
    ["issue ≥ 1.0 × its floor", fmt(s.issue_vs_floor), verdict(s.issue_vs_floor, (v) => v >= 1)],
    [
      "refused tap ≥ 1.0 × its floor",
      fmt(s.refused_vs_floor),
      verdict(s.refused_vs_floor, (v) => v >= 1),
    ],
    [
      `stats p99 < 250 ms over 1,000,000 invites on 32 shards, every dashboard query, six storage calls in flight and 10 ms per round trip (this run: ${statsRows.toLocaleString("en")} on ${whole(s.stats_shards)} shard(s))`,
      fmt(s.stats_p99_ms),
      verdict(s.stats_p99_ms, (v) => v < 250),
    ],
    [
      "storage calls in flight in one stats request ≤ 6",
      whole(s.max_inflight),
      verdict(s.max_inflight, (v) => v <= 6),
    ],
    [
      "Qualtrics calls per invite ≤ 0.002",
      fmt(s.qualtrics_calls_per_invite),
      verdict(s.qualtrics_calls_per_invite, (v) => v <= 0.002),
    ],
    [
      "storage round trips before a fresh tap's answer ≤ 1.0",
      fmt(s.tap_roundtrips),
      verdict(s.tap_roundtrips, (v) => v <= 1),
    ],
    [
      "cost per invite ≤ 0.5 × its floor",
      fmt(s.cost_vs_floor),
      verdict(s.cost_vs_floor, (v) => v <= 0.5),
    ],
  ];
}

const ANALYSIS_START = "<!-- analysis:start -->";
const ANALYSIS_END = "<!-- analysis:end -->";

/** The hand-written analysis kept from the previous BENCHMARKS.md, if any. */
function previousAnalysis(/** @type {string} */ file) {
  try {
    const text = readFileSync(file, "utf8");
    const start = text.indexOf(ANALYSIS_START);
    const end = text.indexOf(ANALYSIS_END);
    if (start >= 0 && end > start) return text.slice(start + ANALYSIS_START.length, end).trim();
  } catch {
    // first run
  }
  return null;
}

/**
 * Writes BENCHMARKS.md: the run's table, the machine, the method and what
 * bounds each number. The section between the analysis markers is written by
 * people and survives reruns.
 * `sections` (Markdown, e.g. the cost per invite) follow the results table.
 * @param {{ file: string; rows: Row[]; summary: Summary; settings: Record<string, string | number>;
 *   startedAt: Date; elapsedSeconds: number; notes: string[]; sections: string[] }} report
 */
export function writeBenchmarksMd({
  file,
  rows,
  summary,
  settings,
  startedAt,
  elapsedSeconds,
  notes,
  sections,
}) {
  const machine = machineInfo();
  const analysis =
    previousAnalysis(file) ??
    "_Where a goal is missed: what was profiled, what was fixed, what is left and why. (Kept across reruns: edit between the markers.)_";
  const text = `# Benchmarks

Latest run of \`npm run bench\` (\`node bench/run.js\`), ${startedAt.toISOString()}, ${elapsedSeconds.toFixed(0)} s in all.
Every number comes from this one run: the machines are shared and noisy, so the ratios
(same run, same machine, same \`wrangler dev\`) are what to read, not the absolute times.

\`\`\`
${summaryLine(summary)}
\`\`\`

## Results

${markdownTable(rows)}

req/s counts only the expected answers (302 for taps, 410 for refused taps, 201 for issue,
2xx for batch and stats) over the measured window; p50/p99 are per request (per call for
batch issue). "× ceiling" divides by the bare-302 Worker's req/s; "× floor" divides by the
req/s of the naive storage floor for the same operation (batch issue: links/s over the
single-issue floor's req/s). Rows 8a–8d run at ${settings.BENCH_LATENCY_CONNECTIONS} connection(s) on the metered
entries: their p50 is a tap's own time, and 8b/8d note the storage round trips it waited for.
${sections.map((section) => `\n${section}\n`).join("")}
## Goals (issues 5, 10 and 21)

| goal | this run | verdict |
|---|---:|---|
${goals(summary, Number(settings.BENCH_STATS_ROWS))
  .map((g) => `| ${g.join(" | ")} |`)
  .join("\n")}

## Analysis

${ANALYSIS_START}
${analysis}
${ANALYSIS_END}

## Machine

| | |
|---|---|
| cores (\`nproc\`) | ${machine.nproc} |
| CPU | ${machine.cpu} |
| memory | ${machine.memoryGiB} GiB |
| OS | ${machine.os} |
| Node | ${machine.node} |
| wrangler | ${machine.wrangler} (\`wrangler dev --local\`, workerd + local KV/D1 in SQLite) |
| load generator | ${machine.wrk} (hey: ${machine.hey}) |

Settings: ${Object.entries(settings)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(", ")}.

## Method

Everything runs on loopback, started and stopped by \`bench/run.js\` by process id (each
\`wrangler dev\` in its own process group, the whole tree stopped at the end, on errors and
on signals), each server with its own \`--persist-to\` directory under the system temp dir,
\`WRANGLER_SEND_METRICS=false\`, the same \`--log-level\` for all, rate limits off
(\`--var RATE_LIMITS:off\`). The ceiling, the floors and the service run side by side (an
idle \`wrangler dev\` costs nothing) and each service phase runs right after its floor, so that
both see the same background load. Each phase warms up, then runs for a fixed time at a fixed
concurrency with wrk (a Lua script gives each request its own path or body: every fresh link
is tapped once, every issue call has a unique transaction id); hey or a built-in Node client
stand in when wrk is missing. Requests carry a phone browser's User-Agent so that the service
treats them as human taps, not link previews.

1. **Runtime ceiling**: \`bench/workers/ceiling\`, a bare Worker answering every request with a
   fixed 302. What \`wrangler dev\` and this machine can do at all.
2. **Naive storage floors**: \`bench/workers/floors\`, one bare Worker with its own KV namespace
   and D1 database (same invites / click_events shape as the service), doing only the storage
   operations the obvious design needs, awaited in order: tap = KV read, one D1 batch (claim
   UPDATE + click INSERT), KV write, 302; refused = KV read, one D1 write, 410; issue = KV write,
   D1 insert, 201. Ids and rows are seeded through an untimed route before each run.
3. **Tap**: \`GET /s/:id\` on fresh links issued beforehand through \`POST /v1/links/batch\`
   (500 per call), each tapped once, no cookie.
4. **Refused tap**: \`GET /s/:id\` on links already used, without the cookie (expect 410).
5. **Issue**: \`POST /v1/links\` with unique transactions (\`dev-issuer-key\`); **batch issue**:
   \`POST /v1/links/batch\` with 500 unique links per call (links/s = calls/s × 500).
6. **Stats**: ${"`"}GET /v1/stats${"`"} (\`dev-analyst-key\`) for the last 30 days by day, by survey, and as
   CSV, with the service on ${settings.BENCH_STATS_SHARDS} ledger shard(s) (\`--var LEDGER_SHARDS:${settings.BENCH_STATS_SHARDS}\`, every shard
   migrated), over invites seeded directly into the shards' local D1 databases by generated SQL
   files (\`wrangler d1 execute <DB_n> --file\`; the columns come from \`bench/lib/stats-seed.js\`),
   an equal share per shard, each with ids naming its shard. The stats rollups are filled by the
   invites triggers as the rows go in and checked against the invites, shard by shard; the
   bench also checks that the stats total counts every seeded invite and that a seeded link of
   each shard is found where its id says.
7. **Qualtrics cost**: calls per invite for 10,000 invites pushed through the fake Qualtrics
   server (\`bench/lib/qualtrics-cost.js\`), and the storage the reconcile runs use.
8. **Latency**: the floors and the service run on their metered entries
   (\`bench/workers/floors/metered.js\`, \`bench/workers/service-metered/index.ts\`: the same
   Worker and configuration, every KV and D1 call going through \`bench/workers/lib/storage-meter.ts\`).
   Fresh links are tapped at ${settings.BENCH_LATENCY_CONNECTIONS} connection(s), first as is, then with every KV and D1 round
   trip delayed by ${settings.BENCH_LATENCY_MS} ms (a KV get/put/delete/list, a D1 statement, a D1 batch: one each). A tap
   that waits for k round trips in a row answers k × ${settings.BENCH_LATENCY_MS} ms later, whatever runs side by side or
   in \`waitUntil\`: round trips = (p50 delayed − p50 as is) ÷ ${settings.BENCH_LATENCY_MS} ms (\`tap_roundtrips\` for the
   service; the floor waits for 3: KV read, D1 claim, KV write).
9. **Cost**: on the same metered entries without delay, ${settings.BENCH_COST_OPS} operations of each kind; the
   meter counts Workers requests, KV reads/writes/deletes/lists and D1 rows read and written
   (each D1 result's \`meta\`, what D1 bills; local D1 reports them), waitUntil work included.
   Priced at Cloudflare's list prices (see "Cost per invite"). The metered entries and their
   \`/__bench/\` routes exist only in \`bench/\`: \`npm start\` and a deploy use \`src/index.ts\`.

## What bounds each number

- **Ceiling**: workerd's HTTP handling and \`wrangler dev\`'s local plumbing, sharing the cores
  with the load generator. Nothing of ours.
- **Floors, tap, refused, issue**: local D1 and KV. Locally D1 and KV are simulated by
  Durable Objects inside the same workerd process (SQLite, blob files), so every storage
  operation costs CPU on the same cores as the Worker, whether it runs before the response or
  in \`waitUntil\`. What decides the rate is the total storage work per request, not only
  what is on the response path; the Worker's own CPU (JWT signing and verification,
  validation, pages) is small next to it. The floors use the service's own migrations, so a
  floor write pays for the same indexes and triggers as a service write.
- **Batch issue**: one D1 batch per call plus a KV write and a signature per link; bound by
  D1's write throughput and the CPU for 500 signatures.
- **Stats**: sums over the rollup tables the ledger's triggers keep (rows = days × groups),
  plus the invites expiring today and the opened invites in the medians' buckets; the
  connection count is low, so p99 is a query's own time.
- **Qualtrics cost**: the reconcile job's batching (contacts per import, polls), not the
  machine.
- **Latency (round trips)**: the order of the storage calls on the answer's path, not the
  machine: the delay is added per call, so the difference of the p50s counts the calls awaited
  in a row. Noise in either p50 (shared cores) shows up divided by the delay.
- **Cost**: the storage calls and rows per operation, exact counts (not timings); rows written
  include index entries and the stats rollups' trigger writes, as D1 bills them.
${notes.length > 0 ? `\n## Notes from this run\n\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
  writeFileSync(file, text);
}
