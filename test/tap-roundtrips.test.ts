/**
 * Storage round trips on the tap's hot path, recorded in the order the Worker makes them: every
 * KV and D1 call's start and end on one shared clock, and the moment the response is ready. The
 * response waited for the calls that ended before it; "one round trip" means each of those
 * started before any of them ended: none waited for another. The rest runs in the background.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/config/env";
import worker from "../src/index";
import { DEVICE_AGENTS } from "./fixtures/user-agents";
import {
  apiRequest,
  cookieFrom,
  fetchWorker,
  type IssuedLink,
  linkRequest,
  randomIp,
} from "./helpers/api";
import { aroundShardCalls } from "./helpers/ledger";
import { tapRequest } from "./security/helpers";

interface Call {
  what: string;
  start: number;
  end?: number;
}

/**
 * An env whose KV and shard bindings record their calls. `gate` holds D1 calls back, `writeGate`
 * KV writes: a response that waited for them would never come.
 */
function recordingEnv(
  gate?: Promise<void>,
  writeGate?: Promise<void>,
  overrides: Partial<Env> = {},
) {
  let clock = 0;
  const calls: Call[] = [];
  const track = <T>(what: string, run: () => Promise<T>): Promise<T> => {
    const call: Call = { what, start: ++clock };
    calls.push(call);
    return run().finally(() => {
      call.end = ++clock;
    });
  };
  const held = <T>(run: () => Promise<T>) => (gate ? gate.then(run) : run());
  const shards = aroundShardCalls((what, run) => track(what, () => held(run)));
  const kv = new Proxy(env.LINKS, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      const write = property === "put" || property === "delete";
      return (...args: unknown[]) =>
        track(`kv.${String(property)}`, async () => {
          if (write && writeGate) await writeGate;
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        });
    },
  });
  const recorded: Env = { ...env, ...shards, LINKS: kv, ...overrides };
  return { env: recorded, calls, now: () => ++clock };
}

/**
 * Calls the Worker; returns the response, the calls it waited for, and the rest. KV writes are
 * held until the response is ready, so one made in the background is never taken for one the
 * response waited for. The env has served a request before (its isolate's caches are warm: the
 * configuration, the shard-count history), as a Worker in production has.
 */
async function traced(request: Request, overrides: Partial<Env> = {}) {
  let release = () => {};
  const writes = new Promise<void>((resolve) => {
    release = resolve;
  });
  const recorder = recordingEnv(undefined, writes, overrides);
  await fetchWorker(apiRequest(`/v1/links/${"A".repeat(24)}`), recorder.env);
  recorder.calls.length = 0;
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    recorder.env,
    ctx,
  );
  const ready = recorder.now();
  release();
  await waitOnExecutionContext(ctx);
  const waited = (c: Call) => c.end !== undefined && c.end < ready;
  const before = recorder.calls.filter(waited);
  return {
    response,
    before: before.map((c) => c.what).sort(),
    after: recorder.calls
      .filter((c) => !waited(c))
      .map((c) => c.what)
      .sort(),
    roundTrips: roundTrips(before),
  };
}

/** The longest chain of calls where each started after the previous one ended. */
function roundTrips(calls: Call[]): number {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  const depth = new Map<Call, number>();
  for (const call of sorted) {
    const waitedFor = sorted.filter((p) => p.end !== undefined && p.end < call.start);
    depth.set(call, 1 + Math.max(0, ...waitedFor.map((p) => depth.get(p) ?? 0)));
  }
  return Math.max(0, ...depth.values());
}

/** A phone's tap (see the shared `tapRequest`) from a fresh address, so no rate limit applies. */
const tapFresh = (id: string, init: { method?: string; cookie?: string; ua?: string } = {}) =>
  tapRequest(id, { ...init, ip: randomIp() });

async function issued(overrides: Record<string, unknown> = {}, envOverrides: Partial<Env> = {}) {
  const res = await traced(
    apiRequest("/v1/links", { method: "POST", json: linkRequest(overrides) }),
    envOverrides,
  );
  expect(res.response.status).toBe(201);
  return { ...res, link: (await res.response.json()) as IssuedLink };
}

describe("storage round trips", () => {
  it("issuing: one D1 batch in the invite's shard, nothing in KV", async () => {
    // Without CUSTOMER_HASH_KEY (and so without contact rules) nothing else is asked.
    const noContactChecks = { CUSTOMER_HASH_KEY: undefined, CONTACT_RULES: "[]" } as Partial<Env>;
    const { before, after, roundTrips: trips } = await issued({}, noContactChecks);
    expect(before).toEqual(["d1.batch"]);
    expect(after).toEqual([]);
    expect(trips).toBe(1);
  });

  it("issuing with opt-outs and contact rules on: the customer's shard decides first, then the invite's shard", async () => {
    const { before, roundTrips: trips } = await issued();
    expect(before).toEqual(["d1.batch", "d1.batch"]);
    expect(trips).toBe(2);
  });

  it("a fresh tap: the claim and the KV mark read side by side, one round trip, no KV write", async () => {
    const { link } = await issued();
    const { response, before, after, roundTrips: trips } = await traced(tapFresh(link.id));
    expect(response.status).toBe(302);
    expect(before).toEqual(["d1.batch", "kv.getWithMetadata"]);
    expect(trips).toBe(1);
    expect(after).toEqual([]);
  });

  it("the first refused tap: one round trip, then the mark and the counters in the background", async () => {
    const { link } = await issued();
    expect((await traced(tapFresh(link.id))).response.status).toBe(302);
    const refused = await traced(tapFresh(link.id));
    expect(refused.response.status).toBe(410);
    expect(refused.before).toEqual(["d1.batch", "kv.getWithMetadata"]);
    expect(refused.roundTrips).toBe(1);
    expect(refused.after).toEqual(["d1.batch", "kv.put"]);
  });

  it("a marked link is refused from KV alone: the answer does not wait for the ledger", async () => {
    const { link } = await issued();
    expect((await traced(tapFresh(link.id))).response.status).toBe(302);
    expect((await traced(tapFresh(link.id))).response.status).toBe(410); // writes the mark
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const recorder = recordingEnv(gate);
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      tapFresh(link.id) as Request<unknown, IncomingRequestCfProperties>,
      recorder.env,
      ctx,
    );
    // Answered while every ledger call is still held back.
    expect(response.status).toBe(410);
    expect(recorder.calls.filter((c) => c.what.startsWith("d1.") && c.end !== undefined)).toEqual(
      [],
    );
    open();
    await waitOnExecutionContext(ctx);
  });

  it("previews, HEAD and re-opens: one read of the row, never a claim", async () => {
    const { link } = await issued();
    const head = await traced(tapFresh(link.id, { method: "HEAD" }));
    expect(head.response.status).toBe(200);
    expect(head.before).toEqual(["d1.first"]);
    const bot = await traced(tapFresh(link.id, { ua: "Slackbot-LinkExpanding 1.0" }));
    expect(bot.before).toEqual(["d1.first"]);

    const first = await traced(tapFresh(link.id));
    const reopened = await traced(tapFresh(link.id, { cookie: cookieFrom(first.response) }));
    expect(reopened.response.status).toBe(302);
    expect(reopened.before).toEqual(["d1.first"]);
    expect(reopened.roundTrips).toBe(1);
  });

  it("a survey with a same-device window: the first tap and the same phone's other browser, one round trip each; a refusal in the window writes no mark", async () => {
    const { link } = await issued({ survey: "demo-in-app" });
    const ip = randomIp();
    const phone = (ua: string) => tapRequest(link.id, { ip, ua });
    const first = await traced(phone(DEVICE_AGENTS.instagramIphone));
    expect(first.response.status).toBe(302);
    expect(first.before).toEqual(["d1.batch", "kv.getWithMetadata"]);
    expect(first.roundTrips).toBe(1);
    expect(first.after).toEqual(["d1.run"]); // the device, kept after the answer

    const other = await traced(phone(DEVICE_AGENTS.safariIphone));
    expect(other.response.status).toBe(302);
    expect(other.before).toEqual(["d1.batch", "kv.getWithMetadata"]);
    expect(other.roundTrips).toBe(1);
    expect(other.after).toEqual(["d1.batch"]); // its counters and event, in the background

    const stranger = await traced(tapFresh(link.id));
    expect(stranger.response.status).toBe(410);
    expect(stranger.roundTrips).toBe(1);
    expect(stranger.after).toEqual(["d1.batch"]); // no kv.put: the mark waits for the window's end
  });

  it("a confirm survey: the page without a claim, then the form's POST claims, one round trip each", async () => {
    const { link } = await issued({ survey: "demo-confirm" });
    const page = await traced(tapFresh(link.id));
    expect(page.response.status).toBe(200);
    expect(await page.response.text()).toContain(`action="/s/${link.id}"`);
    expect(page.roundTrips).toBe(1);
    const post = await traced(tapFresh(link.id, { method: "POST" }));
    expect(post.response.status).toBe(302);
    expect(post.roundTrips).toBe(1);
  });
});
