/**
 * Load against `wrangler dev` (RATE_LIMITS=off): issue LOAD_LINKS links through the batch API
 * (500 per call), tap each once with LOAD_CLIENTS concurrent clients while LOAD_REUSED more taps
 * hit links that were already used, on a ledger of LOAD_SHARDS shards (default 4). Then the ledger
 * (every shard's local D1, read with `wrangler d1 execute`) must show exactly one open per link and
 * one blocked event per re-use: no 5xx, no lost event.
 * Defaults are the issue's full numbers (10,000 / 1,000 / 16); set the variables to size it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../bench/lib/processes.js";
import {
  type DevServer,
  OUTPUT_DIR,
  PHONE_UA,
  ROOT,
  shardBinding,
  startDevServer,
} from "./harness";

const LINKS = Number(process.env.LOAD_LINKS ?? 10_000);
const REUSED = Number(process.env.LOAD_REUSED ?? 1_000);
const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 16);
const SHARDS = Number(process.env.LOAD_SHARDS ?? 4);
const BATCH = 500;

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ RATE_LIMITS: "off", LEDGER_SHARDS: String(SHARDS) });
});

afterAll(async () => {
  await server?.stop();
});

/**
 * SQL statements against every shard's local D1, all shards at once, one `wrangler d1 execute`
 * each (a wrangler run costs seconds; a statement, milliseconds): each statement's rows, the
 * shards' concatenated in shard order.
 */
async function queryLedger(statements: string[]): Promise<Row[][]> {
  const perShard = await Promise.all(
    Array.from({ length: SHARDS }, (_, shard) => queryShard(shardBinding(shard), statements)),
  );
  return statements.map((_, i) => perShard.flatMap((results) => results[i] ?? []));
}

type Row = Record<string, number | string>;

/** Adds up, per key, the numeric fields of rows from several shards. */
function addUp<T extends Row>(rows: T[], key?: keyof T): T[] {
  const sums = new Map<unknown, Row>();
  for (const row of rows) {
    const id = key === undefined ? "" : row[key];
    const into = sums.get(id);
    if (!into) {
      sums.set(id, { ...row });
      continue;
    }
    for (const [name, value] of Object.entries(row)) {
      if (typeof value === "number" && name !== key) into[name] = Number(into[name] ?? 0) + value;
    }
  }
  return [...sums.values()] as T[];
}

/**
 * Statements against one shard's local D1, as `wrangler d1 execute` returns them (one result per
 * statement). The dev server may be writing the taps' counters in the same file at that moment
 * (waitUntil): a run that finds the database locked is tried again.
 */
async function queryShard(binding: string, statements: string[]): Promise<Row[][]> {
  for (let attempt = 1; ; attempt++) {
    const result = await executeOnShard(binding, statements.join(";\n"));
    if (result.code === 0) {
      const parsed = JSON.parse(result.stdout) as { results: Row[] }[];
      return parsed.map((statement) => statement.results);
    }
    if (attempt === 5 || !/SQLITE_BUSY|database is locked/.test(result.stderr)) {
      throw new Error(`wrangler d1 execute failed: ${result.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}

/** One `wrangler d1 execute` on a shard's local D1 (bench/lib/processes.js runs and stops it). */
function executeOnShard(binding: string, sql: string) {
  return runCommand(
    join(ROOT, "node_modules/.bin/wrangler"),
    [
      "d1",
      "execute",
      binding,
      "--local",
      "--persist-to",
      server.persistDir,
      "--json",
      "--command",
      sql,
    ],
    { cwd: ROOT, env: { CI: "true", WRANGLER_SEND_METRICS: "false" } },
  );
}

/**
 * `wrangler dev`'s proxy answers a request its runtime dropped while restarting (on a loaded
 * machine) with this 503; GET and HEAD it retries itself, other methods are the client's to retry.
 * The service's own 503s never carry this text.
 */
const WRANGLER_RESTART =
  /^Your worker restarted mid-request\. Please try sending the request again\./;

async function isWranglerRestart(res: Response): Promise<boolean> {
  return res.status === 503 && WRANGLER_RESTART.test(await res.clone().text());
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** Runs `count` tasks with `concurrency` in flight. */
async function runConcurrently(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe(`load: ${LINKS} links, ${CLIENTS} clients, ${REUSED} re-used taps`, () => {
  const ids: string[] = [];
  const statuses = new Map<number, number>();
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const summary: Record<string, unknown> = { links: LINKS, reused: REUSED, clients: CLIENTS };

  it("issues the links through the batch API, 500 per call", async () => {
    const started = performance.now();
    let restartRetries = 0;
    const batches = Math.ceil(LINKS / BATCH);
    const results: string[][] = new Array(batches);
    await runConcurrently(batches, 2, async (b) => {
      const size = Math.min(BATCH, LINKS - b * BATCH);
      const links = Array.from({ length: size }, (_, i) => ({
        survey: "demo",
        customerId: `load-customer-${b * BATCH + i}`,
        transactionId: `load-${Date.now()}-${b}-${i}`,
        trigger: "load_test",
        channel: "in_app",
        embeddedData: { venue: "Load Arena", event: `batch ${b}`, seat: String(i) },
      }));
      // Only `wrangler dev`'s own restart answer is retried (issuing is idempotent per survey +
      // transactionId, so a retry answers 200 with the same links for those the first attempt
      // created). Any other answer, the service's own 503 included, is what the test reports.
      let res: Response | undefined;
      let attempt = 0;
      for (; attempt < 4; attempt++) {
        res = await fetch(`${server.url}/v1/links/batch`, {
          method: "POST",
          headers: { Authorization: "Bearer dev-issuer-key", "Content-Type": "application/json" },
          body: JSON.stringify({ links }),
        });
        if (!(await isWranglerRestart(res))) break;
        restartRetries += 1;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(res?.status, await res?.clone().text()).toBe(200);
      const body = (await res?.json()) as { results: { status: number; link?: { id: string } }[] };
      const expected = attempt === 0 ? [201] : [200, 201];
      expect(body.results.every((r) => expected.includes(r.status))).toBe(true);
      results[b] = body.results.map((r) => r.link?.id ?? "");
    });
    ids.push(...results.flat());
    expect(new Set(ids).size).toBe(LINKS);
    summary.issueSeconds = (performance.now() - started) / 1000;
    summary.restartRetries = restartRetries;
  }, 600_000);

  it(`taps each link once with ${CLIENTS} clients while ${REUSED} taps hit used links`, async () => {
    const opened: string[] = [];
    const latencies: number[] = [];
    const unexpected: string[] = [];
    // Re-uses are spread evenly: after the k-th open, k * REUSED / LINKS of them are due.
    let nextOpen = 0;
    let opensDone = 0;
    let reusedDue = 0;
    let reusedSent = 0;
    const started = performance.now();
    const client = async () => {
      for (;;) {
        let id: string;
        let expected: 302 | 410;
        if (reusedDue > reusedSent && opened.length > 0) {
          reusedSent++;
          id = opened[Math.floor(Math.random() * opened.length)] ?? "";
          expected = 410;
        } else if (nextOpen < LINKS) {
          id = ids[nextOpen++] ?? "";
          expected = 302;
        } else {
          return;
        }
        const t = performance.now();
        const res = await fetch(`${server.url}/s/${id}`, {
          redirect: "manual",
          headers: { "User-Agent": PHONE_UA },
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        count(res.status);
        if (res.status !== expected) unexpected.push(`${id}: ${res.status} (expected ${expected})`);
        if (res.status === 302) opened.push(id);
        if (expected === 302) reusedDue = Math.floor((++opensDone * REUSED) / LINKS);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    Object.assign(summary, {
      tapSeconds: seconds,
      tapsPerSecond: Math.round((LINKS + reusedSent) / seconds),
      latencyMs: {
        p50: Math.round(percentile(latencies, 50)),
        p95: Math.round(percentile(latencies, 95)),
        p99: Math.round(percentile(latencies, 99)),
        max: Math.round(latencies.at(-1) ?? 0),
      },
      statuses: Object.fromEntries(statuses),
    });
    console.info("load summary", JSON.stringify(summary));
    expect(nextOpen).toBe(LINKS);
    expect(reusedSent).toBe(REUSED);
    expect(unexpected.slice(0, 10)).toEqual([]);
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect(Object.fromEntries(statuses)).toEqual(
      REUSED > 0 ? { 302: LINKS, 410: REUSED } : { 302: LINKS },
    );
  }, 900_000);

  it("the ledger shows exactly one open per link and every blocked re-use: no lost event", async () => {
    // Blocked counters and events are written in waitUntil after the response: let them land.
    type Totals = { issued: number; opened: number; blocked: number; reopened: number };
    type Events = { outcome: string; n: number };
    type Mismatch = { opens: number; counters: number };
    let totals: Totals | undefined;
    let events: Events[] = [];
    let mismatch: Mismatch | undefined;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [totalRows = [], eventRows = [], mismatchRows = []] = await queryLedger([
        `SELECT COUNT(*) AS issued, SUM(consumed_at IS NOT NULL) AS opened,
                SUM(blocked_count) AS blocked, SUM(reopen_count) AS reopened
         FROM invites WHERE trigger = 'load_test'`,
        "SELECT outcome, COUNT(*) AS n FROM click_events GROUP BY outcome",
        // Per invite: exactly one opened event each, and its blocked counter matches its events.
        `SELECT
         (SELECT COUNT(*) FROM (SELECT invite_id FROM click_events WHERE outcome = 'opened'
            GROUP BY invite_id HAVING COUNT(*) <> 1)) AS opens,
         (SELECT COUNT(*) FROM invites i WHERE i.blocked_count <> (SELECT COUNT(*) FROM click_events c
            WHERE c.invite_id = i.id AND c.outcome = 'blocked')) AS counters`,
      ]);
      [totals] = addUp(totalRows as Totals[]);
      events = addUp(eventRows as Events[], "outcome").sort((a, b) =>
        a.outcome < b.outcome ? -1 : 1,
      );
      [mismatch] = addUp(mismatchRows as Mismatch[]);
      const blockedEvents = events.find((e) => e.outcome === "blocked")?.n ?? 0;
      if ((totals?.blocked === REUSED && blockedEvents === REUSED) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(totals).toEqual({ issued: LINKS, opened: LINKS, blocked: REUSED, reopened: 0 });
    expect(events).toEqual(
      [
        { outcome: "blocked", n: REUSED },
        { outcome: "opened", n: LINKS },
      ].filter((e) => e.n > 0),
    );
    expect(mismatch).toEqual({ opens: 0, counters: 0 });
    mkdirSync(OUTPUT_DIR, { recursive: true });
    writeFileSync(join(OUTPUT_DIR, "load-summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  }, 120_000);
});
