/**
 * Finding and erasing one customer's data (POST /v1/privacy/lookup, POST /v1/privacy/erasures):
 * a customer with invites across surveys, modes (query, web service, confirm page) and states
 * (issued, opened, completed, revoked, expired), some pushed to Qualtrics, next to another
 * customer. After the erasure the stores (every table of every shard, every KV entry) hold none
 * of the customer's values, the stats are the same, live links answer "no longer available",
 * the data endpoint refuses, and reconcile pushes or stamps nothing of the customer again. Logs
 * are captured throughout and searched for the customer's values at the end.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { reserveInvites } from "../src/reconcile/storage/push-rows";
import {
  ADMIN_KEY,
  ANALYST_KEY,
  api,
  cookieFrom,
  ISSUER_KEY,
  type IssuedLink,
  issue,
  tap,
  uniqueTxn,
  WEBSERVICE_SECRET,
} from "./helpers/api";
import { ledgerOf } from "./helpers/ledger";
import {
  type CustomerInviteBody,
  type ErasureResultBody,
  erase,
  erasures,
  everythingStored,
  foundIn,
  lookupAll,
  privacyCall,
  storedText,
} from "./helpers/privacy";
import {
  addResponses,
  type Fake,
  fakeState,
  reconcileNow,
  resetLedger,
  startFake,
  stopFakes,
} from "./helpers/reconcile";
import { ledgerRow, tokenAsIssuedBefore } from "./security/helpers";

const tag = Math.random().toString(36).slice(2, 8);
const CUSTOMER = `cust-erase-${tag}`;
const OTHER = `cust-keep-${tag}`;

/** The customer's values, each unique to this run, so finding one anywhere is a leak. */
const customerValues: string[] = [CUSTOMER];
const otherValues: string[] = [OTHER];

function embedded(owner: string[], name: string) {
  const values = {
    venue: `venue-${name}-${tag}`,
    event: `event-${name}-${tag}`,
    seat: `seat-${name}-${tag}`,
  };
  owner.push(...Object.values(values));
  return values;
}

function transaction(owner: string[], name: string) {
  const id = uniqueTxn(`txn-${name}-${tag}`);
  owner.push(id);
  return id;
}

function issueFor(customer: string, name: string, overrides: Record<string, unknown> = {}) {
  const owner = customer === CUSTOMER ? customerValues : otherValues;
  return issue({
    customerId: customer,
    transactionId: transaction(owner, name),
    embeddedData: embedded(owner, name),
    ...overrides,
  });
}

const captured: string[] = [];

// Reconcile pushes every invite not pushed yet: other files' invites (files share storage) must
// not count in this scene.
beforeAll(resetLedger);

beforeAll(() => {
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
});

afterAll(async () => {
  vi.restoreAllMocks();
  await stopFakes();
});

/** Puts a link's signed token in KV, as for links issued before tokens moved into the ledger. */
async function tokenToKv(id: string) {
  const row = await ledgerRow(id);
  if (!row) throw new Error(`no invite ${id}`);
  const token = await tokenAsIssuedBefore(id);
  await env.LINKS.put(id, token, { expiration: Math.ceil(row.expires_at / 1000) });
}

async function statsEverywhere() {
  const views = await Promise.all(
    ["day", "survey", "trigger", "channel"].map(async (groupBy) => {
      const res = await api(`/v1/stats?groupBy=${groupBy}`, { key: ANALYST_KEY });
      expect(res.status).toBe(200);
      return res.json();
    }),
  );
  return views;
}

function webserviceData(id: string) {
  return api(`/v1/invites/${id}/data`, {
    key: null,
    headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
  });
}

describe("a customer across surveys, modes and states, erased", () => {
  let fake: Fake;
  const links: Record<string, IssuedLink> = {};
  let openedCookie = "";
  let statsBefore: unknown;
  let firstErasure: ErasureResultBody;

  it("sets the scene: issued, opened, completed, revoked, expired; some pushed to Qualtrics", async () => {
    fake = await startFake({ pollsToComplete: 1 });
    // Pushed by the first reconcile run: issued, opened, completed, revoked.
    links.issued = await issueFor(CUSTOMER, "issued");
    links.opened = await issueFor(CUSTOMER, "opened", { channel: "push" });
    links.completed = await issueFor(CUSTOMER, "completed");
    links.revoked = await issueFor(CUSTOMER, "revoked");
    links.otherOpened = await issueFor(OTHER, "other-opened");
    const opened = await tap(links.opened.id);
    expect(opened.status).toBe(302);
    openedCookie = cookieFrom(opened);
    const completed = await tap(links.completed.id);
    expect(completed.status).toBe(302);
    expect((await tap(links.otherOpened.id)).status).toBe(302);
    const answered = Object.fromEntries(
      new URL(completed.headers.get("Location") ?? "").searchParams,
    );
    await addResponses(fake, "SV_demo", [{ embeddedData: answered }]);
    expect((await api(`/v1/links/${links.revoked.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await reconcileNow(fake)).toMatchObject({ status: "ok", pushed: 5, completions: 1 });

    // Not pushed yet: web-service, confirm page (shown, and claimed), expired.
    links.webservice = await issueFor(CUSTOMER, "ws", { survey: "demo-ws", channel: "sms" });
    links.confirmShown = await issueFor(CUSTOMER, "confirm-shown", { survey: "demo-confirm" });
    links.confirmed = await issueFor(CUSTOMER, "confirmed", { survey: "demo-confirm" });
    links.expired = await issueFor(CUSTOMER, "expired", { survey: "demo-ws" });
    links.otherWs = await issueFor(OTHER, "other-ws", { survey: "demo-ws" });
    expect((await tap(links.webservice.id)).status).toBe(302);
    expect((await webserviceData(links.webservice.id)).status).toBe(200);
    expect((await tap(links.confirmShown.id)).status).toBe(200);
    expect((await tap(links.confirmed.id, { method: "POST" })).status).toBe(302);
    // Expired: the ledger's expiry in the past.
    await ledgerOf(links.expired.id)
      .prepare("UPDATE invites SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 60_000, links.expired.id)
      .run();
    // Two links as issued before tokens moved into the ledger: the token in KV, not on the row.
    await tokenToKv(links.issued.id);
    await tokenToKv(links.otherWs.id);
    expect((await tap(links.expired.id)).status).toBe(410);
  });

  it("the lookup lists every invite of the customer in every shard, paged, with its state", async () => {
    const all = await lookupAll(CUSTOMER);
    const byId = new Map(all.map((invite) => [invite.id, invite]));
    expect(all).toHaveLength(8);
    const expected: Record<string, Partial<CustomerInviteBody>> = {
      issued: { status: "issued", survey: "demo", pushedToQualtrics: true },
      opened: { status: "opened", channel: "push", pushedToQualtrics: true },
      completed: { status: "completed", pushedToQualtrics: true },
      revoked: { status: "revoked", pushedToQualtrics: true },
      webservice: { status: "opened", survey: "demo-ws", pushedToQualtrics: false },
      confirmShown: { status: "issued", survey: "demo-confirm", pushedToQualtrics: false },
      confirmed: { status: "opened", survey: "demo-confirm", pushedToQualtrics: false },
      expired: { status: "expired", survey: "demo-ws", pushedToQualtrics: false },
    };
    for (const [name, fields] of Object.entries(expected)) {
      expect(byId.get(links[name]?.id ?? ""), name).toMatchObject(fields);
    }
    const completed = byId.get(links.completed?.id ?? "");
    expect(completed?.qualtricsResponseId).toMatch(/^R_/);
    expect(completed?.embeddedData).toEqual({
      venue: `venue-completed-${tag}`,
      event: `event-completed-${tag}`,
      seat: `seat-completed-${tag}`,
    });
    expect(completed?.transactionId).toContain(`txn-completed-${tag}`);
    // Oldest first, and paging by 3 gives the same invites, each once.
    const paged = await lookupAll(CUSTOMER, 3);
    expect(paged.map((i) => i.id)).toEqual(all.map((i) => i.id));
    expect(new Set(paged.map((i) => i.id)).size).toBe(8);
    // The other customer's invites are not the customer's.
    expect((await lookupAll(OTHER)).map((i) => i.id).sort()).toEqual(
      [links.otherOpened?.id, links.otherWs?.id].sort(),
    );
  });

  it("before the erasure, the stores hold the customer's values (the search can see them)", async () => {
    const stored = await everythingStored();
    expect(foundIn(stored, customerValues)).toEqual(customerValues.filter((v) => v.length >= 6));
    statsBefore = await statsEverywhere();
  });

  it("erases: 200 with how many invites and which were pushed to Qualtrics", async () => {
    const res = await erase(CUSTOMER);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    firstErasure = await res.json();
    const pushed = [links.issued, links.opened, links.completed, links.revoked].map((l) => l?.id);
    expect(firstErasure).toMatchObject({ done: true, erased: 8, pushed: 4 });
    expect(firstErasure.pushedInvites).toEqual(pushed.sort());
    expect(firstErasure.responses).toEqual([
      {
        inviteId: links.completed?.id,
        survey: "demo",
        qualtricsSurveyId: "SV_demo",
        responseId: expect.stringMatching(/^R_/),
      },
    ]);
    expect(JSON.stringify(firstErasure)).not.toContain(CUSTOMER);
  });

  it("after the erasure no shard table and no KV entry holds any of the customer's values", async () => {
    const stored = await everythingStored();
    expect(foundIn(stored, customerValues)).toEqual([]);
    // The other customer's data is all still there, in the ledger and (decoded) in KV.
    expect(foundIn(stored, otherValues)).toEqual(otherValues);
    const { kv } = await storedText();
    expect(foundIn(kv, [OTHER, `venue-other-ws-${tag}`])).toHaveLength(2);
    // The erased rows: personal columns cleared, everything counted kept.
    const row = await ledgerOf(links.opened?.id ?? "")
      .prepare("SELECT * FROM invites WHERE id = ?")
      .bind(links.opened?.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      customer_ref: null,
      embedded_data: null,
      request_hash: "",
      transaction_id: `erased:${links.opened?.id}`,
      response_id: null,
      erased_at: expect.any(Number),
      purged_at: expect.any(Number),
      consumed_at: expect.any(Number),
      channel: "push",
      survey: "demo",
    });
  });

  it("stats before and after are identical", async () => {
    expect(await statsEverywhere()).toEqual(statsBefore);
  });

  it("live links get the 'no longer available' page, whatever the mode, the browser or the method", async () => {
    const taps = [
      tap(links.issued?.id ?? ""),
      tap(links.opened?.id ?? "", { cookie: openedCookie }), // the browser that claimed it
      tap(links.opened?.id ?? ""),
      tap(links.webservice?.id ?? ""),
      tap(links.confirmShown?.id ?? ""),
      tap(links.confirmShown?.id ?? "", { method: "POST" }),
      tap(links.issued?.id ?? "", { method: "HEAD" }),
    ];
    for (const res of await Promise.all(taps)) {
      expect(res.status).toBe(410);
      expect(res.headers.get("Location")).toBeNull();
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      if (res.headers.get("Content-Length") !== "0" && res.body) {
        const html = await res.text();
        if (html) {
          expect(html).toContain("This link is no longer available");
          expect(foundIn(html, customerValues)).toEqual([]);
        }
      }
    }
    const status = await api(`/v1/links/${links.issued?.id}`);
    expect(await status.json()).toMatchObject({
      status: "erased",
      erasedAt: expect.any(String),
      transactionId: `erased:${links.issued?.id}`,
    });
  });

  it("the web-service data endpoint refuses an erased invite", async () => {
    const res = await webserviceData(links.webservice?.id ?? "");
    expect(res.status).toBe(410);
    const text = await res.text();
    expect(text).toContain("erased");
    expect(foundIn(text, customerValues)).toEqual([]);
  });

  it("a second erasure answers 200 with zero, and the lookup finds nothing", async () => {
    const res = await erase(CUSTOMER);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      done: true,
      erased: 0,
      pushed: 0,
      pushedInvites: [],
      responses: [],
    });
    expect(await lookupAll(CUSTOMER)).toEqual([]);
  });

  it("reconcile afterwards pushes none of the erased invites and stamps none of their responses", async () => {
    const before = await fakeState(fake);
    links.otherLater = await issueFor(OTHER, "other-later");
    // The customer answers the survey opened before the erasure: the response arrives after it.
    await addResponses(fake, "SV_demo", [
      { embeddedData: { inv: links.opened?.id ?? "", customer_id: CUSTOMER } },
    ]);
    const run = await reconcileNow(fake);
    expect(run.status).toBe("ok");
    const after = await fakeState(fake);
    const added = after.transactions.slice(before.transactions.length);
    // The other customer's queued invites are pushed; none of the customer's.
    expect(added.map((t) => t.extRef).sort()).toEqual([OTHER, OTHER]);
    expect(after.transactions.filter((t) => t.extRef === CUSTOMER)).toHaveLength(
      before.transactions.filter((t) => t.extRef === CUSTOMER).length,
    );
    const customerInvites = new Set(
      Object.entries(links)
        .filter(([name]) => !name.startsWith("other"))
        .map(([, link]) => link.id),
    );
    expect(added.filter((t) => customerInvites.has(t.transactionData.invite_id ?? ""))).toEqual([]);
    // Completing is counted, but nothing is written back onto the response.
    const stampedNow = after.updatesApplied.slice(before.updatesApplied.length);
    expect(stampedNow.filter((u) => u.embeddedData.inv === links.opened?.id)).toEqual([]);
    expect(foundIn(await everythingStored(), customerValues)).toEqual([]);
  });

  it("an invite selected for a push just before its erasure is not reserved after it", async () => {
    // reconcile selects candidates, then reserves them: an erasure in between must win.
    const link = await issueFor(CUSTOMER, "race");
    expect((await erase(CUSTOMER)).status).toBe(200);
    expect(await reserveInvites(ledgerOf(link.id), "imp_race", [link.id])).toEqual([]);
  });

  it("the audit trail lists each erasure without the customer id or anything matchable", async () => {
    const list = await erasures();
    const first = list.find((e) => e.id === firstErasure.erasureId);
    expect(first).toMatchObject({
      apiKeyId: "dev-admin",
      status: "done",
      erased: 8,
      pushed: 4,
      attempts: 1,
      finishedAt: expect.any(String),
    });
    expect(list.filter((e) => e.status === "done").length).toBeGreaterThanOrEqual(3);
    expect(list.some((e) => e.erased === 0)).toBe(true);
    expect(JSON.stringify(list)).not.toContain(CUSTOMER);
    // In the table itself: no subject (keyed hash) and no invite list once done.
    const { results } = await env.DB.prepare("SELECT * FROM privacy_erasures").all();
    for (const row of results) expect(row).toMatchObject({ subject: null, invites: null });
    expect(JSON.stringify(results)).not.toContain(CUSTOMER);
  });

  it("logs carry none of the customer's values", () => {
    const output = captured.join("\n");
    expect(output).toContain('"event":"privacy_erasure"');
    expect(output).toContain('"event":"privacy_lookup"');
    expect(foundIn(output, customerValues)).toEqual([]);
  });
});

describe("access", () => {
  it("issuer and analyst keys get 403, no key 401, on every privacy route", async () => {
    const calls = [
      { path: "/v1/privacy/lookup", method: "POST", json: { customerId: "c-1" } },
      { path: "/v1/privacy/erasures", method: "POST", json: { customerId: "c-1" } },
      { path: "/v1/privacy/erasures", method: "GET" },
    ];
    for (const call of calls) {
      for (const key of [ISSUER_KEY, ANALYST_KEY]) {
        const res = await privacyCall(call.path, { ...call, key });
        expect(res.status, `${call.method} ${call.path} with ${key}`).toBe(403);
        expect(await res.json()).toMatchObject({ error: { code: "forbidden" } });
      }
      expect((await privacyCall(call.path, { ...call, key: null })).status).toBe(401);
      expect((await privacyCall(call.path, { ...call, key: ADMIN_KEY })).status).toBe(200);
    }
  });

  it("a key with only the privacy scope may use them (and nothing else)", async () => {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("dpo-key"));
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const dpoEnv = {
      ...env,
      API_KEYS: JSON.stringify([{ id: "dpo", sha256, scopes: ["privacy"] }]),
    };
    const lookup = await privacyCall(
      "/v1/privacy/lookup",
      { method: "POST", json: { customerId: "c-1" }, key: "dpo-key" },
      dpoEnv,
    );
    expect(lookup.status).toBe(200);
    const stats = await privacyCall("/v1/stats", { key: "dpo-key" }, dpoEnv);
    expect(stats.status).toBe(403);
  });

  it("the customer id goes in a JSON body: other bodies and unknown fields are refused", async () => {
    const bad = [
      { json: {} },
      { json: { customerId: "" } },
      { json: { customerId: "c-1", extra: 1 } },
      { json: { customerId: "c\n1" } },
      { json: { customerId: "c-1", cursor: "not a cursor!" } },
      { json: { customerId: "c-1", limit: 0 } },
    ];
    for (const init of bad) {
      const res = await privacyCall("/v1/privacy/lookup", { method: "POST", ...init });
      expect(res.status, JSON.stringify(init.json)).toBe(400);
    }
    const text = await privacyCall("/v1/privacy/erasures", { method: "POST" });
    expect(text.status).toBe(415);
    const forged = await privacyCall("/v1/privacy/lookup", {
      method: "POST",
      json: { customerId: "c-1", cursor: btoa(JSON.stringify(["x", 1])) },
    });
    expect(forged.status).toBe(400);
  });

  it("the OpenAPI document describes the privacy routes with security and errors", async () => {
    const res = await api("/openapi.json", { key: null });
    const spec = (await res.json()) as {
      paths: Record<
        string,
        Record<string, { security?: unknown; responses: Record<string, unknown> }>
      >;
    };
    const lookup = spec.paths["/v1/privacy/lookup"]?.post;
    const eraseOp = spec.paths["/v1/privacy/erasures"]?.post;
    const list = spec.paths["/v1/privacy/erasures"]?.get;
    for (const op of [lookup, eraseOp, list]) {
      expect(op?.security).toEqual([{ apiKey: ["privacy"] }]);
      expect(Object.keys(op?.responses ?? {})).toEqual(
        expect.arrayContaining(["200", "400", "401", "403"]),
      );
    }
    expect(Object.keys(eraseOp?.responses ?? {})).toEqual(expect.arrayContaining(["202", "503"]));
  });
});
