/**
 * At 32 shards, no invocation holds more than six connections: every D1 statement or batch, KV
 * call and Qualtrics request is counted while in flight, and a request (or scheduled run) that
 * ever has a seventh fails the test. Stats make one round (one batch per shard) and do use all
 * six. Runs in its own project (vitest.config.ts: 32 local D1 databases); requests are sent one
 * at a time, so what is in flight belongs to one invocation.
 */
import { createScheduledController } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../src/config/env";
import worker from "../src/index";
import {
  ADMIN_KEY,
  ANALYST_KEY,
  apiRequest,
  fetchWorker,
  linkRequest,
  ORIGIN,
  randomIp,
} from "./helpers/api";
import { aroundShardCalls, SHARDS } from "./helpers/ledger";
import { type Fake, qualtricsEnv, startFake, stopFakes } from "./helpers/reconcile";
import { tapRequest } from "./security/helpers";

const CUSTOMER = "customer-of-32";
/** Connections a Worker invocation may hold at once (Cloudflare's platform limit). */
const MAX_IN_FLIGHT = 6;

/** Storage calls and Qualtrics requests: how many now, the most at once, how many in all. */
const meter = { now: 0, max: 0, calls: 0 };

function reset(): void {
  meter.max = 0;
  meter.calls = 0;
}

function counted<T>(call: () => Promise<T>): Promise<T> {
  meter.now += 1;
  meter.calls += 1;
  meter.max = Math.max(meter.max, meter.now);
  return call().finally(() => {
    meter.now -= 1;
  });
}

/** KV's calls counted while pending. */
function countingKv(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        counted(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

/** The test env with every shard's statements and batches, and KV, counted in flight. */
const countingEnv = (base: Env): Env => ({
  ...base,
  ...aroundShardCalls((_, call) => counted(call)),
  LINKS: countingKv(base.LINKS),
});

let fake: Fake;
let counting: Env;
const send = (request: Request) => fetchWorker(request, counting);

beforeAll(async () => {
  fake = await startFake();
  counting = countingEnv(qualtricsEnv(fake));
  // Qualtrics requests count too (the fake is reached with the global fetch).
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) =>
    counted(() => realFetch(input, init)),
  );
  // 500 links over every shard (one batch call), a third of them opened, several for one customer.
  const links = Array.from({ length: 500 }, (_, i) =>
    linkRequest({ channel: i % 2 ? "sms" : "in_app", ...(i % 50 ? {} : { customerId: CUSTOMER }) }),
  );
  const res = await send(apiRequest("/v1/links/batch", { method: "POST", json: { links } }));
  expect(res.status).toBe(200);
  const { results } = (await res.json()) as { results: { link: { id: string } }[] };
  expect(new Set(results.map((r) => r.link.id.slice(0, 2))).size).toBe(SHARDS);
  for (const { link } of results.filter((_, i) => i % 3 === 0)) {
    expect((await send(tapRequest(link.id, { ip: randomIp() }))).status).toBe(302);
  }
});

afterAll(async () => {
  vi.restoreAllMocks();
  await stopFakes();
});

describe(`${SHARDS} shards, six connections`, () => {
  it("every stats query shape: one round over the shards, six at a time", async () => {
    expect(SHARDS).toBe(32);
    const shapes = [
      "groupBy=day",
      "groupBy=survey",
      "groupBy=trigger",
      "groupBy=channel",
      "groupBy=day&survey=demo",
      "groupBy=day&trigger=ticket_scanned",
      "groupBy=survey&channel=sms",
      "groupBy=day&format=csv",
    ];
    // A fresh read of the shard-count history, so that no stats request below needs one.
    expect((await send(new Request(`${ORIGIN}/healthz`))).status).toBe(200);
    for (const shape of shapes) {
      reset();
      const res = await send(apiRequest(`/v1/stats?${shape}`, { key: ANALYST_KEY }));
      expect(res.status, shape).toBe(200);
      expect(meter.max, shape).toBe(MAX_IN_FLIGHT);
      // One batch per shard: counts and sketches in one round trip each, no narrowing rounds.
      expect(meter.calls, shape).toBe(SHARDS);
    }
  });

  it("health check, batch issue, privacy lookup and erasure never exceed six", async () => {
    const requests = [
      new Request(`${ORIGIN}/healthz`),
      apiRequest("/v1/links/batch", {
        method: "POST",
        json: { links: Array.from({ length: 300 }, () => linkRequest()) },
      }),
      apiRequest("/v1/privacy/lookup", {
        method: "POST",
        json: { customerId: CUSTOMER },
        key: ADMIN_KEY,
      }),
      apiRequest("/v1/privacy/erasures", {
        method: "POST",
        json: { customerId: CUSTOMER },
        key: ADMIN_KEY,
      }),
    ];
    for (const request of requests) {
      reset();
      const res = await send(request);
      expect(res.status, request.url).toBe(200);
      expect(meter.max, request.url).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      expect(meter.calls, request.url).toBeGreaterThanOrEqual(SHARDS);
    }
  });

  it("the scheduled run (reconcile against Qualtrics, retention) never exceeds six", async () => {
    reset();
    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), counting);
    expect(meter.calls).toBeGreaterThan(4 * SHARDS);
    expect(meter.max).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    const runs = await send(apiRequest("/v1/reconcile/runs", { key: ADMIN_KEY }));
    const [run] = ((await runs.json()) as { runs: { status: string; pushed: number }[] }).runs;
    expect(run).toMatchObject({ status: "ok", pushed: 800 - 10 });
  });
});
