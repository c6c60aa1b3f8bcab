/**
 * Rate limits under floods (Workers Rate Limiting bindings, simulated locally by Miniflare with
 * the same fixed windows aligned to the clock; the policy is docs/rate-limits.md). A venue's
 * crowd behind one address is served in full; one client hammering one link, walking unknown
 * ids, or going past the per-address ceiling gets `429` with `Retry-After`, and refused taps
 * never reach the ledger. The issue API is limited per API key. Each attempt uses client
 * addresses and API keys of its own, so tests and files cannot interfere; an attempt that
 * straddles a window boundary is made again with fresh ones rather than waiting for a window.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { api, cookieFrom, issue, linkRequest, ORIGIN } from "../helpers/api";
import {
  callWorker,
  clickOutcomes,
  ledgerRow,
  sha256Hex,
  sleep,
  type TestEnv,
  tapRequest,
} from "./helpers";

/** The limits in wrangler.toml. */
const LINK_LIMIT = 10; // per address and link, per 10 s
const SMALL_ADDRESS_LIMIT = 200; // SMALL_ADDRESS_LIMITER (vitest.config.ts), per 60 s
const MISS_LIMIT = 100; // unknown or malformed ids per address, per 60 s
const SMALL_ISSUE_LIMIT = 100; // SMALL_ISSUE_LIMITER (vitest.config.ts), per API key, per 10 s

const window = (periodMs: number) => Math.floor(Date.now() / periodMs);

/**
 * Runs `attempt` until one run of it starts and ends inside the same window of `periodMs`: the
 * local limiter's windows are aligned to the clock, and a run across a boundary sees two budgets.
 * Each run must use keys of its own (addresses, links, API keys), so a retry starts from zero.
 */
async function inOneWindow<T>(periodMs: number, attempt: () => Promise<T>): Promise<T> {
  for (let run = 0; run < 3; run++) {
    const started = window(periodMs);
    const result = await attempt();
    if (window(periodMs) === started) return result;
  }
  throw new Error(`three runs in a row crossed a ${periodMs / 1000} s window boundary`);
}

const unique = () => crypto.randomUUID().slice(0, 8);
const randomIp = () => `10.${Array.from(crypto.getRandomValues(new Uint8Array(3))).join(".")}`;
const unknownId = () => `unknown${unique()}${unique()}`.slice(0, 22);

/** Sends `requests` with `concurrency` in flight; returns the responses in order. */
async function flood(requests: (() => Promise<Response>)[], concurrency: number) {
  const responses: Response[] = new Array(requests.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const index = next++;
        const send = requests[index];
        if (send) responses[index] = await send();
      }
    }),
  );
  return responses;
}

const statusCounts = (responses: Response[]) =>
  responses.reduce<Record<number, number>>((counts, r) => {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  }, {});

/** Issues `count` links in batches of 500. */
async function issueMany(count: number): Promise<{ id: string }[]> {
  const links: { id: string }[] = [];
  for (let start = 0; start < count; start += 500) {
    const size = Math.min(500, count - start);
    const res = await api("/v1/links/batch", {
      method: "POST",
      json: { links: Array.from({ length: size }, () => linkRequest()) },
    });
    const { results } = (await res.json()) as { results: { link: { id: string } }[] };
    links.push(...results.map((r) => r.link));
  }
  return links;
}

async function expectRateLimitedPage(res: Response, retryAfter: string) {
  expect(res.status).toBe(429);
  expect(res.headers.get("Retry-After")).toBe(retryAfter);
  expect(res.headers.get("Content-Type")).toContain("text/html");
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(await res.text()).toContain("Please wait a moment");
}

/**
 * A client limited as the file starts, for the last test ("after Retry-After …"): the other tests
 * run while its window turns, so that test rarely has anything left to wait for.
 */
let limitedEarly: { linkId: string; ip: string; limited: Response; windowEnds: number };

beforeAll(async () => {
  const early = await inOneWindow(10_000, async () => {
    const link = await issue();
    const ip = randomIp();
    const responses = await flood(
      Array.from(
        { length: LINK_LIMIT + 1 },
        () => () => callWorker(tapRequest(link.id, { ip, method: "HEAD" })),
      ),
      4,
    );
    return { linkId: link.id, ip, responses, windowEnds: (window(10_000) + 1) * 10_000 };
  });
  const limited = early.responses.filter((r) => r.status === 429);
  expect(limited).toHaveLength(1);
  limitedEarly = { ...early, limited: limited[0] as Response };
}, 60_000);

describe("a venue: thousands of customers behind one address", () => {
  it("2,000 customers tapping their own links from one address in one burst are all served", async () => {
    const links = await issueMany(2_000);
    const venue = randomIp();
    const started = performance.now();
    const responses = await flood(
      links.map((link) => () => callWorker(tapRequest(link.id, { ip: venue }))),
      32,
    );
    const seconds = (performance.now() - started) / 1000;
    // As fast as the local ledger takes claims; the old limit (100 per 10 s per address) refused
    // all but a few hundred of them.
    console.info(`venue: 2,000 first taps from one address in ${seconds.toFixed(1)} s`);
    expect(statusCounts(responses)).toEqual({ 302: 2_000 });
    // Each customer can come back (cookie) from the same address.
    const again = await callWorker(
      tapRequest(links[0]?.id ?? "", { ip: venue, cookie: cookieFrom(responses[0] as Response) }),
    );
    expect(again.status).toBe(302);
  }, 120_000);
});

describe("abuse from one address", () => {
  it(`hammering one link: ${LINK_LIMIT} answered, then 429 with Retry-After; refused taps never reach the ledger`, async () => {
    const { link, ip, responses, seconds } = await inOneWindow(10_000, async () => {
      const link = await issue();
      const ip = randomIp();
      const started = performance.now();
      const responses = await flood(
        Array.from({ length: 300 }, () => () => callWorker(tapRequest(link.id, { ip }))),
        32,
      );
      return { link, ip, responses, seconds: (performance.now() - started) / 1000 };
    });
    const rate = Math.round(300 / seconds);
    console.info(`tap flood: 300 taps on one link in ${seconds.toFixed(2)} s (${rate} taps/s)`);

    expect(statusCounts(responses)).toEqual({ 302: 1, 410: LINK_LIMIT - 1, 429: 300 - LINK_LIMIT });
    for (const res of responses.filter((r) => r.status === 429)) {
      await expectRateLimitedPage(res, "10");
    }
    // Refused taps never reached the ledger: one open, the other answered taps blocked.
    expect((await ledgerRow(link.id))?.blocked_count).toBe(LINK_LIMIT - 1);
    const outcomes = await clickOutcomes(link.id);
    expect(outcomes.filter((o) => o === "opened")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "blocked")).toHaveLength(LINK_LIMIT - 1);

    // Another client is not limited: the first browser re-opens from its own network, and the
    // flooding address still opens its other links.
    const first = responses.find((r) => r.status === 302);
    if (!first) throw new Error("no 302 in the flood");
    const other = await callWorker(
      tapRequest(link.id, { ip: randomIp(), cookie: cookieFrom(first) }),
    );
    expect(other.status).toBe(302);
    const otherLink = await issue();
    expect((await callWorker(tapRequest(otherLink.id, { ip }))).status).toBe(302);
  }, 60_000);

  it(`walking ids: ${MISS_LIMIT} misses get 404, then 429 with Retry-After; malformed ids count and never reach storage; real links still open`, async () => {
    const untouchable = new Proxy(
      {},
      {
        get() {
          throw new Error("storage read for a malformed id");
        },
      },
    );
    const { ip, misses, malformed, unknown } = await inOneWindow(60_000, async () => {
      const ip = randomIp();
      const misses = await flood(
        Array.from(
          { length: MISS_LIMIT },
          (_, i) => () => callWorker(tapRequest(i % 2 ? unknownId() : `bad-${i}`, { ip })),
        ),
        16,
      );
      const malformed = await callWorker(tapRequest("bad-id", { ip }), {
        DB: untouchable as D1Database,
        LINKS: untouchable as KVNamespace,
      });
      const unknown = await callWorker(tapRequest(unknownId(), { ip }));
      return { ip, misses, malformed, unknown };
    });
    expect(statusCounts(misses)).toEqual({ 404: MISS_LIMIT });
    await expectRateLimitedPage(malformed, "60");
    await expectRateLimitedPage(unknown, "60");
    // Misses do not count against the customers behind the same address.
    const link = await issue();
    expect((await callWorker(tapRequest(link.id, { ip }))).status).toBe(302);
    // Another address walks on.
    expect((await callWorker(tapRequest(unknownId(), { ip: randomIp() }))).status).toBe(404);
  }, 90_000);

  it("an IPv6 client is one client across its /64", async () => {
    const statuses = await inOneWindow(60_000, () => {
      const prefix = `2001:db8:${unique().slice(0, 4)}:${unique().slice(0, 4)}`;
      return flood(
        Array.from(
          { length: MISS_LIMIT + 5 },
          (_, i) => () =>
            callWorker(tapRequest(unknownId(), { ip: `${prefix}::${(i + 1).toString(16)}` })),
        ),
        16,
      );
    });
    expect(statusCounts(statuses)).toEqual({ 404: MISS_LIMIT, 429: 5 });
  }, 90_000);

  it("past the per-address ceiling in a minute, the address gets 429 with Retry-After for every link; others are unaffected", async () => {
    // TAP_ADDRESS_LIMITER is 6,000 a minute (wrangler.toml); the same kind of limiter at 200 a
    // minute stands in for it, so the test does not depend on the machine's speed.
    const small: Partial<TestEnv> = { TAP_ADDRESS_LIMITER: env.SMALL_ADDRESS_LIMITER };
    const { statuses, freshTap } = await inOneWindow(60_000, async () => {
      const [link, fresh] = [await issue(), await issue()];
      const ip = randomIp();
      const statuses: (string | null)[] = [];
      for (let i = 0; i < SMALL_ADDRESS_LIMIT + 20; i++) {
        const res = await callWorker(tapRequest(link.id, { ip }), small);
        statuses.push(res.headers.get("Retry-After"));
      }
      return { ip, statuses, freshTap: await callWorker(tapRequest(fresh.id, { ip }), small) };
    });
    // The link limit answers first (Retry-After 10), then past the ceiling the address's (60).
    expect(statuses.indexOf("60")).toBe(SMALL_ADDRESS_LIMIT);
    await expectRateLimitedPage(freshTap, "60");
    const fresh = await issue();
    expect((await callWorker(tapRequest(fresh.id, { ip: randomIp() }), small)).status).toBe(302);
  }, 120_000);
});

describe("issue API: per API key", () => {
  it("a flood over the per-key limit in 10 s gets 429 with Retry-After; another key is unaffected; batches share the budget", async () => {
    // ISSUE_LIMITER is 1,000 calls per 10 s (wrangler.toml); the same kind of limiter at 100 stands
    // in for it, so that the flood fits in one window however busy the machine is.
    // An empty object is a cheap call (400 after auth and the limiter) that still counts.
    const call = (overrides: Partial<TestEnv>, key: string, body: unknown, path = "/v1/links") =>
      callWorker(
        new Request(`${ORIGIN}${path}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${key}-secret`, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        }),
        overrides,
      );

    const { responses, seconds, issued, blocked, batch } = await inOneWindow(10_000, async () => {
      const [flooder, bystander] = [`flood-${unique()}`, `bystander-${unique()}`];
      const keys = [
        { id: flooder, sha256: await sha256Hex(`${flooder}-secret`), scopes: ["links:write"] },
        { id: bystander, sha256: await sha256Hex(`${bystander}-secret`), scopes: ["links:write"] },
      ];
      const overrides: Partial<TestEnv> = {
        API_KEYS: JSON.stringify(keys),
        ISSUE_LIMITER: env.SMALL_ISSUE_LIMITER,
      };
      const started = performance.now();
      const responses = await flood(
        Array.from({ length: SMALL_ISSUE_LIMIT + 10 }, () => () => call(overrides, flooder, {})),
        50,
      );
      const seconds = (performance.now() - started) / 1000;
      return {
        responses,
        seconds,
        issued: await call(overrides, bystander, linkRequest()),
        blocked: await call(overrides, flooder, linkRequest()),
        // The batch API shares the key's budget (one call, whatever its size).
        batch: await call(overrides, flooder, { links: [linkRequest()] }, "/v1/links/batch"),
      };
    });
    console.info(`issue flood: ${SMALL_ISSUE_LIMIT + 10} calls in ${seconds.toFixed(2)} s`);
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(SMALL_ISSUE_LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const limited = responses.find((r) => r.status === 429);
    expect(limited?.headers.get("Retry-After")).toBe("10");
    expect(await limited?.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect(issued.status).toBe(201);
    expect(blocked.status).toBe(429);
    expect(batch.status).toBe(429);
  }, 60_000);
});

describe("the same address after Retry-After", () => {
  it("after Retry-After the same address is served again", async () => {
    const { linkId, ip, limited, windowEnds } = limitedEarly;
    expect(limited.headers.get("Retry-After")).toBe("10"); // a HEAD: the page has no body
    // A fixed window ends within Retry-After of any answer in it: the tests above usually
    // outlasted it, else this waits for what is left of it.
    if (Date.now() < windowEnds) await sleep(windowEnds - Date.now() + 50);
    const later = await callWorker(tapRequest(linkId, { ip }));
    expect(later.status).toBe(302);
  }, 30_000);
});
