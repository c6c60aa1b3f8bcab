/**
 * Rate limits under a flood (Workers Rate Limiting bindings, simulated locally by Miniflare with
 * the same fixed windows aligned to the clock): per client IP on the tap path (100 taps per 10 s
 * in development), per API key on the issue API (1,000 calls per 10 s); over the limit a `429`
 * with `Retry-After`. Other clients and other keys are unaffected, and refused taps never reach
 * the ledger. Each test uses its own client IPs and API keys, so test files cannot interfere.
 */
import { describe, expect, it } from "vitest";
import { cookieFrom, issue, linkRequest, ORIGIN } from "../helpers/api";
import {
  callWorker,
  clickOutcomes,
  ledgerRow,
  sha256Hex,
  sleep,
  type TestEnv,
  tapRequest,
} from "./helpers";

const WINDOW_MS = 10_000;
const TAP_LIMIT = 100;
const ISSUE_LIMIT = 1_000;

/** Waits for a fresh window if less than `needMs` remain in the current one. */
async function windowWithRoom(needMs: number): Promise<number> {
  const remaining = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (remaining < needMs) await sleep(remaining + 50);
  return Math.floor(Date.now() / WINDOW_MS);
}

const unique = () => crypto.randomUUID().slice(0, 8);
const randomIp = () => `10.${Array.from(crypto.getRandomValues(new Uint8Array(3))).join(".")}`;

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

describe("tap path: per client IP", () => {
  it("a flood of 300 taps from one IP: 100 answered, 200 get 429 with Retry-After", async () => {
    const link = await issue();
    const ip = randomIp();
    const window = await windowWithRoom(5_000);
    const started = performance.now();
    const responses = await flood(
      Array.from({ length: 300 }, () => () => callWorker(tapRequest(link.id, { ip }))),
      32,
    );
    const seconds = (performance.now() - started) / 1000;
    expect(Math.floor(Date.now() / WINDOW_MS)).toBe(window); // the flood fit in one window
    const rate = Math.round(300 / seconds);
    console.info(`tap flood: 300 taps in ${seconds.toFixed(2)} s (${rate} taps/s)`);
    expect(rate).toBeGreaterThan(100);

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 302)).toHaveLength(1);
    expect(statuses.filter((s) => s === 410)).toHaveLength(TAP_LIMIT - 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(300 - TAP_LIMIT);
    for (const res of responses.filter((r) => r.status === 429)) {
      expect(res.headers.get("Retry-After")).toBe("10");
      expect(res.headers.get("Content-Type")).toContain("text/html");
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(await res.text()).toContain("Please wait a moment");
    }
    // Refused taps never reached the ledger: one open, 99 blocked re-uses.
    const row = await ledgerRow(link.id);
    expect(row?.blocked_count).toBe(TAP_LIMIT - 1);
    const outcomes = await clickOutcomes(link.id);
    expect(outcomes.filter((o) => o === "opened")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "blocked")).toHaveLength(TAP_LIMIT - 1);

    // Another client is not limited: the first browser re-opens from its own network.
    const first = responses.find((r) => r.status === 302);
    if (!first) throw new Error("no 302 in the flood");
    const other = await callWorker(
      tapRequest(link.id, { ip: randomIp(), cookie: cookieFrom(first) }),
    );
    expect(other.status).toBe(302);
  }, 30_000);

  it("after Retry-After the same IP is served again", async () => {
    const link = await issue();
    const ip = randomIp();
    await windowWithRoom(3_000);
    const responses = await flood(
      Array.from(
        { length: TAP_LIMIT + 1 },
        () => () => callWorker(tapRequest(link.id, { ip, method: "HEAD" })),
      ),
      16,
    );
    const limited = responses.at(-1);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(1);
    await sleep(Number(limited?.headers.get("Retry-After")) * 1000);
    const later = await callWorker(tapRequest(link.id, { ip }));
    expect(later.status).toBe(302);
  }, 30_000);

  it("malformed ids are refused before the limiter and cost no storage", async () => {
    const ip = randomIp();
    const responses = await flood(
      Array.from({ length: 150 }, (_, i) => () => callWorker(tapRequest(`bad-${i}`, { ip }))),
      32,
    );
    expect(responses.every((r) => r.status === 404)).toBe(true);
  });
});

describe("issue API: per API key", () => {
  it("a flood over 1,000 calls per 10 s from one key gets 429 with Retry-After; another key is unaffected; batches share the budget", async () => {
    const [flooder, bystander] = [`flood-${unique()}`, `bystander-${unique()}`];
    const keys = [
      { id: flooder, sha256: await sha256Hex(`${flooder}-secret`), scopes: ["links:write"] },
      { id: bystander, sha256: await sha256Hex(`${bystander}-secret`), scopes: ["links:write"] },
    ];
    const overrides: Partial<TestEnv> = { API_KEYS: JSON.stringify(keys) };
    // An empty object is a cheap call (400 after auth and the limiter) that still counts.
    const call = (key: string, body: unknown) =>
      callWorker(
        new Request(`${ORIGIN}/v1/links`, {
          method: "POST",
          headers: { Authorization: `Bearer ${key}-secret`, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        }),
        overrides,
      );

    await windowWithRoom(7_000);
    const started = performance.now();
    const responses = await flood(
      Array.from({ length: ISSUE_LIMIT + 100 }, () => () => call(flooder, {})),
      50,
    );
    const seconds = (performance.now() - started) / 1000;
    console.info(`issue flood: ${ISSUE_LIMIT + 100} calls in ${seconds.toFixed(2)} s`);
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(ISSUE_LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(100);
    const limited = responses.find((r) => r.status === 429);
    expect(limited?.headers.get("Retry-After")).toBe("10");
    expect(await limited?.json()).toMatchObject({ error: { code: "rate_limited" } });

    const issued = await call(bystander, linkRequest());
    expect(issued.status).toBe(201);
    const blocked = await call(flooder, linkRequest());
    expect(blocked.status).toBe(429);
    // The batch API shares the key's budget (one call, whatever its size).
    const batch = await callWorker(
      new Request(`${ORIGIN}/v1/links/batch`, {
        method: "POST",
        headers: { Authorization: `Bearer ${flooder}-secret`, "Content-Type": "application/json" },
        body: JSON.stringify({ links: [linkRequest()] }),
      }),
      overrides,
    );
    expect(batch.status).toBe(429);
  }, 30_000);
});
