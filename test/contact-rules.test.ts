/**
 * Who gets invited, through the issue API on 1 and 4 shards: frequency rules (every field),
 * sampling, the daily cap, opt-outs, the suppressed answer and its replay, batches, and the
 * 20-way race for one customer. Each test uses its own customers and an env of its own rules
 * (fetchWorker with a rules env; one env object per configuration, parsed once).
 */
import { env } from "cloudflare:test";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfig, shardBinding } from "../src/config/config";
import type { Env } from "../src/config/env";
import { customerHashes, placeCustomer } from "../src/rules/customer";
import { placeTransaction } from "../src/store/placement";
import {
  ADMIN_KEY,
  ANALYST_KEY,
  apiRequest,
  fetchWorker,
  linkRequest,
  randomIp,
  uniqueTxn,
} from "./helpers/api";
import { clearShardCounts, migrateShards, SHARDS, wrapShards } from "./helpers/ledger";
import { tapRequest } from "./security/helpers";

const DAY_MS = 86_400_000;

/** An env with these contact rules and survey settings on `demo` (and `demo-eed`). */
function withRules(rules: unknown[], demo: Record<string, unknown> = {}): Env {
  const surveys = env.SURVEYS as unknown as Record<string, Record<string, unknown>>;
  return {
    ...env,
    CONTACT_RULES: JSON.stringify(rules),
    SURVEYS: { ...surveys, demo: { ...surveys.demo, ...demo } } as never,
  };
}

const customer = (label = "c") => `${label}-${uniqueTxn("cust")}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function issueWith(workerEnv: Env, overrides: Record<string, unknown>): Promise<Answer> {
  const res = await fetchWorker(
    apiRequest("/v1/links", { method: "POST", json: linkRequest(overrides) }),
    workerEnv,
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function call(
  workerEnv: Env,
  path: string,
  json: unknown,
  key: string = ADMIN_KEY,
): Promise<Answer> {
  const res = await fetchWorker(apiRequest(path, { method: "POST", json, key }), workerEnv);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("frequency rules", () => {
  const monthly = withRules([{ id: "one-a-month", max: 1, days: 30 }]);

  it("suppresses a second invite within the window, naming the rule and when it lifts", async () => {
    const customerId = customer();
    const first = await issueWith(monthly, { customerId });
    expect(first.status).toBe(201);
    const transactionId = uniqueTxn();
    const second = await issueWith(monthly, { customerId, transactionId });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      status: "suppressed",
      reason: "frequency",
      rule: "one-a-month",
      survey: "demo",
      transactionId,
    });
    expect(second.body.url).toBeUndefined();
    const eligibleAt = Date.parse(String(second.body.eligibleAt));
    const issuedAt = Date.parse(String(first.body.expiresAt)) - 7 * DAY_MS;
    expect(Math.abs(eligibleAt - (issuedAt + 30 * DAY_MS))).toBeLessThan(60_000);
    // Another customer is not affected.
    expect((await issueWith(monthly, { customerId: customer() })).status).toBe(201);
  });

  it("replays both decisions on retry: the same link, the same suppression, 409 for another body", async () => {
    const customerId = customer();
    const issuedBody = linkRequest({ customerId });
    const issued = await issueWith(monthly, issuedBody);
    const again = await issueWith(monthly, issuedBody);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(issued.body.id);
    const suppressedBody = linkRequest({ customerId });
    const suppressed = await issueWith(monthly, suppressedBody);
    expect(suppressed.body.status).toBe("suppressed");
    // Sticky: even with the rule gone, the retry answers the same.
    const retry = await issueWith(withRules([]), suppressedBody);
    expect(retry).toEqual({ status: 200, body: suppressed.body });
    const other = await issueWith(monthly, { ...suppressedBody, trigger: "order_delivered" });
    expect(other.status).toBe(409);
  });

  it("scopes rules by survey and trigger, and exempt triggers are never suppressed but count", async () => {
    const rules = withRules([
      { id: "scans", max: 1, days: 7, triggers: ["ticket_scanned"], exemptTriggers: ["complaint"] },
      { id: "eed-only", max: 1, days: 7, surveys: ["demo-eed"] },
    ]);
    const customerId = customer();
    expect((await issueWith(rules, { customerId, trigger: "ticket_scanned" })).status).toBe(201);
    // Another trigger is out of the scan rule's scope; the eed rule is about another survey.
    expect((await issueWith(rules, { customerId, trigger: "order_delivered" })).status).toBe(201);
    const complaint = await issueWith(rules, { customerId, trigger: "complaint" });
    expect(complaint.status).toBe(201);
    const scan = await issueWith(rules, { customerId, trigger: "ticket_scanned" });
    expect(scan.body).toMatchObject({ status: "suppressed", rule: "scans" });
    const eed = { customerId, survey: "demo-eed", trigger: "order_delivered" };
    expect((await issueWith(rules, eed)).status).toBe(201);
    expect((await issueWith(rules, eed)).body).toMatchObject({ rule: "eed-only" });
  });

  it("counts opens: an unopened invite does not count, after a tap the next is suppressed", async () => {
    const rules = withRules([{ id: "opened", max: 1, days: 7, count: "opened" }]);
    const customerId = customer();
    const first = await issueWith(rules, { customerId });
    const second = await issueWith(rules, { customerId });
    expect(second.status).toBe(201);
    const tapped = await fetchWorker(tapRequest(String(first.body.id), { ip: randomIp() }), rules);
    expect(tapped.status).toBe(302);
    // Counted within seconds: the open reaches the customer's record after the redirect.
    await vi.waitFor(
      async () => {
        const third = await issueWith(rules, { customerId });
        expect(third.body).toMatchObject({ status: "suppressed", rule: "opened" });
      },
      { timeout: 5000, interval: 50 },
    );
  });

  it("names the first suppressing rule and the time every rule allows again", async () => {
    const rules = withRules([
      { id: "week", max: 1, days: 7 },
      { id: "quarter", max: 2, days: 90 },
    ]);
    const customerId = customer();
    expect((await issueWith(rules, { customerId })).status).toBe(201);
    const at = Date.now();
    const second = await issueWith(rules, { customerId });
    expect(second.body).toMatchObject({ reason: "frequency", rule: "week" });
    const eligibleAt = Date.parse(String(second.body.eligibleAt));
    expect(eligibleAt).toBeGreaterThan(at + 6 * DAY_MS);
    expect(eligibleAt).toBeLessThanOrEqual(at + 7 * DAY_MS);
  });
});

describe("exact under concurrency", () => {
  it("20 concurrent calls for one customer under max 1 give one link and nineteen suppressions", async () => {
    const rules = withRules([{ id: "once", max: 1, days: 1 }]);
    const customerId = customer("race");
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => issueWith(rules, { customerId })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    const suppressed = answers.filter((a) => a.body.status === "suppressed");
    expect(suppressed).toHaveLength(19);
    expect(suppressed.every((a) => a.body.reason === "frequency")).toBe(true);
  });

  it("a batch decides per item in order: one issued and one suppressed for one customer", async () => {
    const rules = withRules([{ id: "once", max: 1, days: 1 }]);
    const customerId = customer("batch");
    const repeated = linkRequest({ customerId: customer("other") });
    const res = await call(
      rules,
      "/v1/links/batch",
      {
        links: [linkRequest({ customerId }), linkRequest({ customerId }), repeated, repeated],
      },
      "dev-issuer-key",
    );
    const results = res.body.results as Record<string, unknown>[];
    expect(results.map((r) => r.status)).toEqual([201, 200, 201, 200]);
    expect(results[1]?.link).toBeUndefined();
    expect(results[1]?.suppressed).toMatchObject({ status: "suppressed", reason: "frequency" });
    // The same item twice is its own retry: the same link, never suppressed by itself.
    const ids = results.map((r) => (r.link as { id?: string } | undefined)?.id);
    expect(ids[3]).toBe(ids[2]);
    expect(ids[2]).toBeDefined();
  });
});

describe("a crash between the two writes", () => {
  it("a reservation whose invite never appeared is released by the next decision it meets", async () => {
    const rules = withRules([{ id: "once", max: 1, days: 1 }]);
    const customerId = customer("crash");
    const [hash] = await customerHashes(parseConfig(rules).contact.hashKeys, customerId);
    const home = env[shardBinding((await placeCustomer(customerId, SHARDS, [])).shard)];
    // What a call that reserved and then died leaves: an unconfirmed reservation, no invite.
    await home
      ?.prepare(
        `INSERT INTO contact_history (customer_hash, survey, transaction_id, trigger, outcome,
           invite_id, decided_at, confirmed) VALUES (?, 'demo', ?, 'ticket_scanned', 'issued', ?, ?, 0)`,
      )
      .bind(hash, uniqueTxn(), "AAnever-inserted-invite0", Date.now() - 60_000)
      .run();
    expect((await issueWith(rules, { customerId })).status).toBe(201);
    expect((await issueWith(rules, { customerId })).body).toMatchObject({ reason: "frequency" });
  });
});

describe("sampling and caps", () => {
  it("a customer outside the sample is sampled out, every time", async () => {
    // 1e-9 of customers: every customer of the test is out (the chance otherwise is negligible).
    const tiny = withRules([], { sample: 1e-9, sampleSeed: "test" });
    const customerId = customer();
    for (let i = 0; i < 2; i++) {
      const answer = await issueWith(tiny, { customerId });
      expect(answer.body).toMatchObject({ status: "suppressed", reason: "sampled_out" });
      expect(answer.body.rule).toBeUndefined();
    }
  });

  it("the daily cap suppresses with the next UTC day, and resets on it", async () => {
    const shards = Number(env.LEDGER_SHARDS ?? "1");
    // One invite per shard per day: a survey key of its own keeps other tests' counts apart.
    const surveys = env.SURVEYS as unknown as Record<string, Record<string, unknown>>;
    const capped: Env = {
      ...env,
      SURVEYS: { ...surveys, [`capped-${shards}`]: { ...surveys.demo, dailyCap: shards } } as never,
    };
    const day = Math.floor(Date.now() / DAY_MS) + 1000; // a day no other run has counted
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(day * DAY_MS + 3_600_000);
    const survey = `capped-${shards}`;
    const answers: Answer[] = [];
    for (let i = 0; i < 4 * shards + 4; i++)
      answers.push(await issueWith(capped, { survey, customerId: customer() }));
    const issued = answers.filter((a) => a.status === 201).length;
    expect(issued).toBeGreaterThanOrEqual(1);
    expect(issued).toBeLessThanOrEqual(shards);
    const cap = answers.find((a) => a.body.status === "suppressed");
    expect(cap?.body).toMatchObject({
      reason: "cap",
      eligibleAt: new Date((day + 1) * DAY_MS).toISOString(),
    });
    vi.setSystemTime((day + 1) * DAY_MS + 60_000);
    expect((await issueWith(capped, { survey, customerId: customer() })).status).toBe(201);
  });
});

describe("opt-outs", () => {
  const rules = withRules([]);

  it("records, looks up and lifts an opt-out; issue calls are suppressed meanwhile", async () => {
    const customerId = customer("optout");
    const recorded = await call(rules, "/v1/opt-outs", { customerId, surveys: ["demo"] });
    expect(recorded.status).toBe(200);
    expect(recorded.body).toMatchObject({ optedOut: true, surveys: ["demo"] });
    const more = await call(rules, "/v1/opt-outs", { customerId, surveys: ["demo-eed"] });
    expect(more.body.surveys).toEqual(["demo", "demo-eed"]);
    expect((await issueWith(rules, { customerId })).body).toMatchObject({ reason: "opted_out" });
    // An opt-out outranks every other reason.
    const tiny = withRules([{ id: "x", max: 1, days: 1 }], { sample: 1e-9 });
    expect((await issueWith(tiny, { customerId })).body).toMatchObject({ reason: "opted_out" });
    const other = { customerId, survey: "demo-ws" };
    expect((await issueWith(rules, other)).status).toBe(201);
    const lookup = await call(rules, "/v1/opt-outs/lookup", { customerId });
    expect(lookup.body).toEqual(more.body);
    const removed = await call(rules, "/v1/opt-outs/removals", { customerId });
    expect(removed.body).toMatchObject({ optedOut: false });
    expect((await issueWith(rules, { customerId })).status).toBe(201);
  });

  it("opts out of every survey by default; unknown surveys and analyst keys are refused", async () => {
    const customerId = customer("optout");
    const all = await call(rules, "/v1/opt-outs", { customerId });
    expect(all.body).toMatchObject({ optedOut: true, surveys: "all" });
    expect((await issueWith(rules, { customerId, survey: "demo-ws" })).body).toMatchObject({
      reason: "opted_out",
    });
    const unknown = await call(rules, "/v1/opt-outs", { customerId, surveys: ["nope"] });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: { details: [{ path: "surveys.0" }] } });
    for (const path of ["/v1/opt-outs", "/v1/opt-outs/removals", "/v1/opt-outs/lookup"]) {
      expect((await call(rules, path, { customerId }, ANALYST_KEY)).status).toBe(403);
    }
  });
});

describe("privacy", () => {
  it("the lookup lists contact history, suppressions and the opt-out; erasure keeps only the opt-out", async () => {
    const rules = withRules([{ id: "once", max: 1, days: 1 }]);
    const customerId = customer("privacy");
    const issued = await issueWith(rules, { customerId });
    const suppressed = await issueWith(rules, { customerId });
    expect(suppressed.body.status).toBe("suppressed");
    await call(rules, "/v1/opt-outs", { customerId, surveys: ["demo-ws"] });
    const lookup = await call(rules, "/v1/privacy/lookup", { customerId });
    expect(lookup.body.contact).toMatchObject({
      history: [
        { outcome: "issued", survey: "demo" },
        { outcome: "suppressed", transactionId: suppressed.body.transactionId },
      ],
      suppressions: [{ reason: "frequency", rule: "once" }],
      optOut: { optedOut: true, surveys: ["demo-ws"] },
    });
    expect(issued.status).toBe(201);
    const erased = await call(rules, "/v1/privacy/erasures", { customerId });
    expect(erased.status).toBe(200);
    const after = await call(rules, "/v1/privacy/lookup", { customerId });
    expect(after.body.contact).toMatchObject({
      history: [],
      suppressions: [],
      optOut: { optedOut: true, surveys: ["demo-ws"] },
    });
    // Erased history no longer counts; the opt-out still holds.
    expect((await issueWith(rules, { customerId })).status).toBe(201);
    const ws = await issueWith(rules, { customerId, survey: "demo-ws" });
    expect(ws.body).toMatchObject({ reason: "opted_out" });
  });
});

describe.runIf(SHARDS === 1)("raising LEDGER_SHARDS", () => {
  beforeAll(() => migrateShards(4));
  afterAll(clearShardCounts);

  /** A fresh deployment with `shards` (its own isolate: shards wrapped anew, nothing cached). */
  const deployment = (shards: number): Env => ({
    ...withRules([{ id: "once", max: 1, days: 1 }]),
    ...wrapShards((db) => new Proxy(db, {})),
    LEDGER_SHARDS: String(shards),
  });

  it("never splits a customer's history: the call after the raise still counts the one before", async () => {
    await clearShardCounts();
    let customerId = customer("moved");
    while ((await placeCustomer(customerId, 4, [1])).earlier.length === 0) {
      customerId = customer("moved");
    }
    const onOne = deployment(1);
    expect((await issueWith(onOne, { customerId })).status).toBe(201);
    await call(onOne, "/v1/opt-outs", { customerId, surveys: ["demo-ws"] });
    // A suppression whose transaction the raise moves to another shard.
    let transactionId = uniqueTxn();
    while ((await placeTransaction("demo", transactionId, 4)).shard === 0) {
      transactionId = uniqueTxn();
    }
    const body = linkRequest({ customerId, transactionId });
    const suppressed = await issueWith(onOne, body);
    expect(suppressed.body.status).toBe("suppressed");
    const onFour = deployment(4);
    // Sticky across the raise: replayed from where it was recorded, even with no rule left.
    expect(await issueWith({ ...onFour, CONTACT_RULES: "[]" }, body)).toEqual(suppressed);
    const after = await issueWith(onFour, { customerId });
    expect(after.body).toMatchObject({ status: "suppressed", reason: "frequency" });
    const ws = await issueWith(onFour, { customerId, survey: "demo-ws" });
    expect(ws.body).toMatchObject({ reason: "opted_out" });
  });
});

describe("stats", () => {
  it("count suppressions by reason beside issued, never in it nor in the rates, JSON and CSV", async () => {
    const trigger = `stats-${uniqueTxn("t")}`.replace(/[^A-Za-z0-9_.:-]/g, "_").slice(0, 64);
    const rules = withRules([{ id: "once", max: 1, days: 1 }], { sample: 1 });
    const customerId = customer("stats");
    await issueWith(rules, { customerId, trigger });
    await issueWith(rules, { customerId, trigger });
    await issueWith(rules, { customerId, trigger });
    await call(rules, "/v1/opt-outs", { customerId: `${customerId}-out` });
    await issueWith(rules, { customerId: `${customerId}-out`, trigger });
    const res = await fetchWorker(
      apiRequest(`/v1/stats?trigger=${trigger}`, { key: ADMIN_KEY }),
      rules,
    );
    const { totals } = (await res.json()) as { totals: Record<string, unknown> };
    expect(totals).toMatchObject({
      issued: 1,
      suppressed: 3,
      suppressedByReason: { opted_out: 1, sampled_out: 0, frequency: 2, cap: 0 },
      openRate: 0,
    });
    const csv = await fetchWorker(
      apiRequest(`/v1/stats?trigger=${trigger}&format=csv`, { key: ADMIN_KEY }),
      rules,
    );
    const lines = (await csv.text()).trim().split("\r\n");
    const [header, total] = [lines[0], lines.at(-1)];
    expect(header?.split(",").slice(-5)).toEqual([
      "suppressed",
      "suppressed_opted_out",
      "suppressed_sampled_out",
      "suppressed_frequency",
      "suppressed_cap",
    ]);
    expect(total?.split(",").slice(-5)).toEqual(["3", "1", "0", "2", "0"]);
  });
});

describe("a bad CONTACT_RULES", () => {
  it("stops issuing with config_error; taps keep working", async () => {
    const link = await issueWith(env, {});
    const broken: Env = { ...env, CONTACT_RULES: '[{"id": "Bad Id", "max": 0, "days": 1}]' };
    const refused = await issueWith(broken, {});
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({ error: { code: "config_error" } });
    const tapped = await fetchWorker(
      new Request(String(link.body.url), { redirect: "manual" }),
      broken,
    );
    expect(tapped.status).toBe(302);
  });
});
