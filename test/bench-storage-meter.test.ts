/**
 * The bench's storage meter (bench/workers/lib/storage-meter.ts) against real local KV and D1:
 * what it counts is what the stores report, a round trip is delayed once (a D1 batch is one),
 * D1's first() keeps its answers, each env object gets one metered copy, and the control routes
 * answer without being counted. The service itself never loads the meter: the Worker that
 * wrangler.toml runs has no /__bench/ routes (and test/unit/structure.test.ts keeps bench/ out
 * of src/'s imports).
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  meteredEnvFactory,
  meterWorker,
  newInvocation,
  StorageMeter,
} from "../bench/workers/lib/storage-meter";
import type { Env } from "../src/config/env";
import service from "../src/index";
import { type IssuedLink, linkRequest, ORIGIN, PHONE_UA, uniqueTxn } from "./helpers/api";

const TABLE = "bench_meter_probe";

beforeAll(async () => {
  await env.DB.prepare(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`,
  ).run();
});

/** A fresh meter and the metered copy of this project's env. */
function metered() {
  const meter = new StorageMeter();
  return { meter, menv: meteredEnvFactory(meter)(env) };
}

/** Milliseconds `work` takes. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await work();
  return Date.now() - t0;
}

describe("counting", () => {
  it("counts KV reads, writes, deletes and lists, one round trip each", async () => {
    const { meter, menv } = metered();
    const key = uniqueTxn("meter-kv");
    await menv.LINKS.put(key, "v");
    expect(await menv.LINKS.get(key)).toBe("v");
    expect((await menv.LINKS.getWithMetadata(key)).value).toBe("v");
    await menv.LINKS.list({ prefix: key });
    await menv.LINKS.delete(key);
    expect(meter.counters).toMatchObject({
      kvReads: 2,
      kvWrites: 1,
      kvDeletes: 1,
      kvLists: 1,
      kvRoundTrips: 5,
      d1RoundTrips: 0,
    });
  });

  it("takes D1's rows from each result's meta, a batch being one round trip", async () => {
    const { meter, menv } = metered();
    const [a, b] = [uniqueTxn("meter-a"), uniqueTxn("meter-b")];
    const insert = menv.DB.prepare(`INSERT INTO ${TABLE} (k, v) VALUES (?, ?)`);
    const results = await menv.DB.batch([insert.bind(a, 1), insert.bind(b, 2)]);
    const reported = results.reduce((sum, r) => sum + r.meta.rows_written, 0);
    expect(reported).toBeGreaterThanOrEqual(2); // local D1 reports rows (the table and its key)
    expect(meter.counters).toMatchObject({
      d1RoundTrips: 1,
      d1Statements: 2,
      d1RowsWritten: reported,
    });

    const read = await menv.DB.prepare(`SELECT v FROM ${TABLE} WHERE k IN (?, ?)`).bind(a, b).all();
    expect(read.results).toHaveLength(2);
    expect(meter.counters.d1RowsRead).toBe(read.meta.rows_read);
    expect(read.meta.rows_read).toBeGreaterThan(0);
    expect(meter.counters.d1RoundTrips).toBe(2);
  });

  it("answers first() as D1 does, with the rows counted", async () => {
    const { meter, menv } = metered();
    const k = uniqueTxn("meter-first");
    await env.DB.prepare(`INSERT INTO ${TABLE} (k, v) VALUES (?, 7)`).bind(k).run();
    const select = menv.DB.prepare(`SELECT k, v FROM ${TABLE} WHERE k = ?`);
    const plain = env.DB.prepare(`SELECT k, v FROM ${TABLE} WHERE k = ?`);
    expect(await select.bind(k).first()).toEqual(await plain.bind(k).first());
    expect(await select.bind(k).first("v")).toBe(7);
    expect(await select.bind("missing").first()).toBeNull();
    expect(await select.bind("missing").first("v")).toBeNull();
    await expect(select.bind(k).first("nope")).rejects.toThrow(/D1_COLUMN_NOTFOUND/);
    expect(meter.counters.d1RoundTrips).toBe(5);
    expect(meter.counters.d1RowsRead).toBeGreaterThanOrEqual(3);
  });
});

describe("delay", () => {
  it("delays every round trip once: a batch once, two statements twice", async () => {
    const { meter, menv } = metered();
    meter.delayMs = 150;
    const k = uniqueTxn("meter-delay");
    const insert = menv.DB.prepare(`INSERT INTO ${TABLE} (k, v) VALUES (?, ?)`);
    const batch = await timed(() =>
      menv.DB.batch([insert.bind(`${k}-1`, 1), insert.bind(`${k}-2`, 2)]),
    );
    expect(batch).toBeGreaterThanOrEqual(150);
    expect(batch).toBeLessThan(300);
    const twoInARow = await timed(async () => {
      await menv.DB.prepare(`SELECT v FROM ${TABLE} WHERE k = ?`).bind(`${k}-1`).first();
      await menv.LINKS.get(k);
    });
    expect(twoInARow).toBeGreaterThanOrEqual(300);
    const sideBySide = await timed(() =>
      Promise.all([menv.LINKS.get(k), menv.DB.prepare("SELECT 1 AS one").first("one")]),
    );
    expect(sideBySide).toBeGreaterThanOrEqual(150);
    expect(sideBySide).toBeLessThan(300);
  });
});

describe("connections", () => {
  /** Round trips that stay in flight until released; the meter's own bookkeeping around them. */
  function held(meter: StorageMeter, count: number) {
    const releases: (() => void)[] = [];
    let started = 0;
    const calls = Array.from({ length: count }, () =>
      meter.roundTrip(
        () =>
          new Promise<void>((resolve) => {
            started += 1;
            releases.push(resolve);
          }),
      ),
    );
    return {
      calls,
      started: () => started,
      releaseAll: () => {
        for (const release of releases.splice(0)) release();
      },
    };
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("queues round trips beyond the cap and counts the most in flight at once", async () => {
    const meter = new StorageMeter();
    meter.maxConnections = 6;
    const batch = held(meter, 10);
    await settle();
    expect(batch.started()).toBe(6);
    while (batch.started() < 10) {
      batch.releaseAll();
      await settle();
    }
    batch.releaseAll();
    await Promise.all(batch.calls);
    expect(meter.counters.maxInFlight).toBe(6);
  });

  it("per invocation when the entry tells invocations apart", async () => {
    const meter = new StorageMeter();
    meter.maxConnections = 4;
    let current = newInvocation();
    meter.scopes = { run: (handle) => handle(), current: () => current };
    const first = held(meter, 4);
    current = newInvocation();
    const second = held(meter, 4);
    await settle();
    expect(first.started() + second.started()).toBe(8);
    expect(meter.counters.maxInFlight).toBe(4);
    first.releaseAll();
    second.releaseAll();
    await Promise.all([...first.calls, ...second.calls]);
  });
});

describe("the metered env", () => {
  it("is one copy per env object, with settings and other bindings as they were", () => {
    const { menv } = metered();
    const factory = meteredEnvFactory(new StorageMeter());
    expect(factory(env)).toBe(factory(env));
    expect(factory({ ...env })).not.toBe(factory(env));
    expect(menv.LINKS).not.toBe(env.LINKS);
    expect(menv.DB).not.toBe(env.DB);
    expect(menv.TOKEN_ISSUER).toBe(env.TOKEN_ISSUER);
    expect(menv.SURVEYS).toBe(env.SURVEYS);
    expect(menv.TAP_LINK_LIMITER).toBe(env.TAP_LINK_LIMITER);
  });
});

describe("the service itself", () => {
  it("never loads the meter: /__bench/ is an unknown page, the delay cannot be set", async () => {
    for (const [path, method] of [
      ["/__bench/counters", "GET"],
      ["/__bench/counters?reset=1", "GET"],
      ["/__bench/delay?ms=25", "PUT"],
    ] as const) {
      const res = await SELF.fetch(`${ORIGIN}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      expect(await res.text()).not.toContain("counters");
    }
  });
});

describe("the metered service", () => {
  const meter = new StorageMeter();
  const worker = meterWorker<Env, ExecutionContext, ScheduledController>(service, meter);
  const call = async (request: Request) => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(request, env, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
  const counters = async (reset = false) => {
    const response = await call(
      new Request(`${ORIGIN}/__bench/counters${reset ? "?reset=1" : ""}`),
    );
    return ((await response.json()) as { counters: StorageMeter["counters"] }).counters;
  };

  it("serves the API with its storage counted, control routes not counted", async () => {
    await counters(true);
    const issued = await call(
      new Request(`${ORIGIN}/v1/links`, {
        method: "POST",
        headers: { Authorization: "Bearer dev-issuer-key", "Content-Type": "application/json" },
        body: JSON.stringify(linkRequest()),
      }),
    );
    expect(issued.status).toBe(201);
    const { id } = (await issued.json()) as IssuedLink;
    const afterIssue = await counters(true);
    expect(afterIssue.requests).toBe(1);
    expect(afterIssue.kvWrites + afterIssue.d1RowsWritten).toBeGreaterThan(0);

    const tapped = await call(
      new Request(`${ORIGIN}/s/${id}`, { headers: { "User-Agent": PHONE_UA }, redirect: "manual" }),
    );
    expect(tapped.status).toBe(302);
    const afterTap = await counters();
    expect(afterTap.requests).toBe(1);
    expect(afterTap.d1RowsWritten).toBeGreaterThan(0);
    expect((await counters()).requests).toBe(1);
  });

  it("sets the delay through PUT /__bench/delay, naming the same meter instance", async () => {
    const set = await call(new Request(`${ORIGIN}/__bench/delay?ms=25`, { method: "PUT" }));
    expect(set.status).toBe(200);
    expect(meter.delayMs).toBe(25);
    const read = await call(new Request(`${ORIGIN}/__bench/counters`));
    const { instance } = (await set.json()) as { instance: string };
    expect(instance).toMatch(/^[a-z0-9]+$/);
    expect(((await read.json()) as { instance: string }).instance).toBe(instance);
    const bad = await call(new Request(`${ORIGIN}/__bench/delay?ms=-1`, { method: "PUT" }));
    expect(bad.status).toBe(400);
    meter.delayMs = 0;
  });
});
