/**
 * The history of shard counts (src/store/shard-counts.ts) through the Worker: a raise from 1 to 4
 * keeps a retried issue call idempotent without LEDGER_SHARDS_PREVIOUS; the scheduled run records
 * the count it serves and retires one whose links are gone; a restart with a lower count is
 * refused everywhere (health check, API, taps, scheduled run); the override still adds counts the
 * history does not hold. Every test starts from an empty history, and each "deployment" is an env
 * whose shards are wrapped afresh: a new isolate, with nothing cached.
 * Runs once (the shards-1 project): it sets LEDGER_SHARDS itself.
 */
import { createScheduledController, env } from "cloudflare:test";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../src/config/env";
import worker from "../src/index";
import { placeTransaction } from "../src/store/placement";
import { inviteIdShard } from "../src/tokens/ids";
import {
  ADMIN_KEY,
  apiRequest,
  fetchWorker,
  type IssuedLink,
  linkRequest,
  ORIGIN,
  randomIp,
  uniqueTxn,
} from "./helpers/api";
import { clearShardCounts, migrateShards, wrapShards } from "./helpers/ledger";
import { tapRequest } from "./security/helpers";

const DAY_MS = 86_400_000;

beforeAll(() => migrateShards(4));
beforeEach(clearShardCounts);
afterAll(clearShardCounts);

/** A fresh deployment with `shards` (its own isolate: shards wrapped anew, nothing cached). */
function deployment(shards: number, extra: Partial<Env> = {}): Env {
  const passThrough = wrapShards((db) => new Proxy(db, {}));
  return { ...env, ...passThrough, LEDGER_SHARDS: String(shards), ...extra };
}

async function issueOn(workerEnv: Env, body: Record<string, unknown>) {
  const res = await fetchWorker(apiRequest("/v1/links", { method: "POST", json: body }), workerEnv);
  return { status: res.status, link: (await res.json()) as IssuedLink };
}

/** A transaction `from` shards place in shard 0 and `to` shards place elsewhere. */
async function movedTransaction(from: number, to: number): Promise<string> {
  for (;;) {
    const txn = uniqueTxn("moved");
    const [before, after] = await Promise.all([
      placeTransaction("demo", txn, from),
      placeTransaction("demo", txn, to),
    ]);
    if (before.shard !== after.shard) return txn;
  }
}

interface HistoryRow {
  shards: number;
  applied_at: number | null;
  first_seen: number | null;
  last_seen: number | null;
  retired_at: number | null;
}

async function history(): Promise<HistoryRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM ledger_shard_counts ORDER BY shards",
  ).all<HistoryRow>();
  return results;
}

async function runCron(workerEnv: Env): Promise<void> {
  await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), workerEnv);
}

describe("raising the shard count", () => {
  it("from 1 to 4: a retried issue call finds its link under the count it was issued with", async () => {
    const onOne = deployment(1);
    const body = linkRequest({ transactionId: await movedTransaction(1, 4) });
    const first = await issueOn(onOne, body);
    expect(first.status).toBe(201);
    expect(inviteIdShard(first.link.id)).toBe(0);
    // The first request of a deployment records its count as served (in the background).
    expect(await history()).toMatchObject([{ shards: 1, retired_at: null }]);
    expect((await history())[0]?.first_seen).toEqual(expect.any(Number));

    // Deployed with 4 shards, no LEDGER_SHARDS_PREVIOUS: the history knows 1 was served.
    const onFour = deployment(4);
    expect(onFour.LEDGER_SHARDS_PREVIOUS).toBeUndefined();
    const retry = await issueOn(onFour, body);
    expect(retry).toEqual({ status: 200, link: { ...first.link } });
    expect((await issueOn(onFour, { ...body, trigger: "other" })).status).toBe(409);
    expect((await history()).map((r) => r.shards)).toEqual([1, 4]);

    // The earlier link still taps under four shards; new links spread over all four.
    const tapped = await fetchWorker(tapRequest(first.link.id, { ip: randomIp() }), onFour);
    expect(tapped.status).toBe(302);
    const fresh = await Promise.all(
      Array.from({ length: 48 }, () => issueOn(onFour, linkRequest())),
    );
    expect(new Set(fresh.map((f) => inviteIdShard(f.link.id))).size).toBe(4);
  });

  it("the scheduled run records its count; a count last served a link lifetime and a day ago retires", async () => {
    const body = linkRequest({ transactionId: await movedTransaction(1, 4) });
    expect((await issueOn(deployment(1), body)).status).toBe(201);
    const onFour = deployment(4);
    await runCron(onFour);
    const recorded = await history();
    expect(recorded.map((r) => [r.shards, r.retired_at])).toEqual([
      [1, null],
      [4, null],
    ]);
    expect(recorded[1]?.last_seen).toBeGreaterThan(Date.now() - 60_000);

    // Count 1 last served 32 days ago (longest link lifetime: 30 days, + 1): the next run retires it.
    await env.DB.prepare("UPDATE ledger_shard_counts SET last_seen = ? WHERE shards = 1")
      .bind(Date.now() - 32 * DAY_MS)
      .run();
    const later = deployment(4);
    await runCron(later);
    expect((await history()).map((r) => r.retired_at === null)).toEqual([false, true]);
    // Retired: a retry is no longer looked up under it (no link issued then can still be retried).
    expect((await issueOn(later, body)).status).toBe(201);
  });
});

describe("a restart with a lower count", () => {
  it("is refused: health check 503, API config_error, taps the 503 page, no scheduled job", async () => {
    const onFour = deployment(4);
    const link = await issueOn(onFour, linkRequest());
    expect(link.status).toBe(201);
    await runCron(onFour);

    const onOne = deployment(1);
    const health = await fetchWorker(new Request(`${ORIGIN}/healthz`), onOne);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, config: "invalid", ledger: "ready" });

    const issued = await issueOn(deployment(1), linkRequest());
    expect(issued.status).toBe(500);
    expect(issued.link).toMatchObject({ error: { code: "config_error" } });
    const stats = await fetchWorker(apiRequest("/v1/stats", { key: ADMIN_KEY }), deployment(1));
    expect(stats.status).toBe(500);

    // The tap never waits for the history: the first tap of a cold isolate reads it behind its
    // answer; from then on every tap gets the "try again" page.
    const tapping = deployment(1);
    await fetchWorker(tapRequest(link.link.id, { ip: randomIp() }), tapping);
    const tap = await fetchWorker(tapRequest(link.link.id, { ip: randomIp() }), tapping);
    expect(tap.status).toBe(503);
    expect(tap.headers.get("Content-Type")).toContain("text/html");
    expect(tap.headers.get("Retry-After")).toBe("60");

    // The scheduled run refuses too, and the lower count is not recorded as served again.
    const before = await history();
    await expect(runCron(deployment(1))).rejects.toThrow(/LEDGER_SHARDS is 1 but 4 shards/);
    expect(await history()).toEqual(before);
    // Raised back, it serves again.
    expect((await fetchWorker(new Request(`${ORIGIN}/healthz`), deployment(4))).status).toBe(200);
  });

  it("a count provision-shards applied but no Worker served yet does not stop the old one", async () => {
    const onOne = deployment(1);
    expect((await issueOn(onOne, linkRequest())).status).toBe(201);
    await env.DB.prepare("INSERT INTO ledger_shard_counts (shards, applied_at) VALUES (4, ?)")
      .bind(Date.now())
      .run();
    const stillOne = deployment(1);
    expect((await fetchWorker(new Request(`${ORIGIN}/healthz`), stillOne)).status).toBe(200);
    expect((await issueOn(stillOne, linkRequest())).status).toBe(201);
  });
});

describe("LEDGER_SHARDS_PREVIOUS", () => {
  it("still adds earlier counts the history does not hold (served before it existed)", async () => {
    const body = linkRequest({ transactionId: await movedTransaction(1, 4) });
    expect((await issueOn(deployment(1), body)).status).toBe(201);
    // As if count 1 had been served before the history was kept.
    await env.DB.prepare("DELETE FROM ledger_shard_counts").run();
    const withOverride = deployment(4, { LEDGER_SHARDS_PREVIOUS: "1" });
    expect((await issueOn(withOverride, body)).status).toBe(200);
    await env.DB.prepare("DELETE FROM ledger_shard_counts").run();
    expect((await issueOn(deployment(4), body)).status).toBe(201);
  });
});
