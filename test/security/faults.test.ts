/**
 * Store faults on the tap path. D1 is the truth for single use: when it fails during the claim the
 * customer gets a 503 page and nothing is consumed; when KV fails to write the consumed mark after
 * a successful claim the customer is still redirected, and the ledger still refuses other browsers.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cookieFrom, issue } from "../helpers/api";
import { wrapShards } from "../helpers/ledger";
import { callWorker, clickOutcomes, ledgerRow, tapRequest } from "./helpers";

const outage = () => new Error("D1_ERROR: simulated outage: network connection lost");

/** A prepared statement whose every execution rejects, as during an outage. */
function failingStatement(): D1PreparedStatement {
  const statement = {
    bind: () => statement,
    first: () => Promise.reject(outage()),
    run: () => Promise.reject(outage()),
    all: () => Promise.reject(outage()),
    raw: () => Promise.reject(outage()),
  };
  return statement as unknown as D1PreparedStatement;
}

/**
 * The real D1 binding, except during an outage: `batch` rejects, and with `reads` every prepared
 * statement rejects too.
 */
function failingD1(db: D1Database, { reads = false } = {}): D1Database {
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === "batch") return () => Promise.reject(outage());
      if (property === "prepare" && reads) return () => failingStatement();
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The real KV binding, except that writes reject (KV allows ~1 write/s per key and can fail). */
function kvFailingWrites(): KVNamespace {
  return new Proxy(env.LINKS, {
    get(target, property, receiver) {
      if (property === "put") {
        return () => Promise.reject(new Error("KV PUT failed: 429 Too Many Requests"));
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("D1 failing during a claim", () => {
  it("answers a 503 page, consumes nothing, and a retry after D1 recovers opens the survey", async () => {
    const link = await issue();
    const log = vi.spyOn(console, "log");

    const failed = await callWorker(
      tapRequest(link.id),
      wrapShards((db) => failingD1(db)),
    );
    expect(failed.status).toBe(503);
    expect(failed.headers.get("Content-Type")).toContain("text/html");
    expect(failed.headers.get("Retry-After")).toBe("5");
    // Only the nonce of the attempt, for this link's path: never a claim cookie.
    expect(failed.headers.get("Set-Cookie")).toMatch(
      new RegExp(`^ie_retry=[A-Za-z0-9_-]{22}; Max-Age=\\d+; Path=/s/${link.id}; HttpOnly; Secure`),
    );
    expect(failed.headers.get("Cache-Control")).toBe("no-store");
    const html = await failed.text();
    expect(html).toContain("Please try again");
    expect(html).not.toMatch(/D1_ERROR|stack|at\s+\w+\s*\(/);

    // Nothing consumed: no claim in the ledger, no event, no consumed mark in KV.
    expect((await ledgerRow(link.id))?.consumed_at).toBeNull();
    expect(await clickOutcomes(link.id)).toEqual([]);
    expect((await env.LINKS.getWithMetadata(link.id)).metadata).toBeNull();
    expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toContain('"event":"claim_failed"');

    const retry = await callWorker(tapRequest(link.id));
    expect(retry.status).toBe(302);
    expect(retry.headers.get("Set-Cookie")).toContain("ie_claim=");
    expect((await ledgerRow(link.id))?.consumed_at).not.toBeNull();
    expect(await clickOutcomes(link.id)).toEqual(["opened"]);
  });

  it("answers a 503 page when the ledger cannot be reached at all", async () => {
    const link = await issue();
    const failed = await callWorker(
      tapRequest(link.id),
      wrapShards((db) => failingD1(db, { reads: true })),
    );
    expect(failed.status).toBe(503);
    expect(failed.headers.get("Retry-After")).toBe("5");
    expect((await ledgerRow(link.id))?.consumed_at).toBeNull();

    // Recovered: the live invite opens from its ledger row.
    const retry = await callWorker(tapRequest(link.id));
    expect(retry.status).toBe(302);
  });

  it("a confirm page's POST during a D1 outage consumes nothing either", async () => {
    const link = await issue({ survey: "demo-confirm" });
    const failed = await callWorker(
      tapRequest(link.id, { method: "POST" }),
      wrapShards((db) => failingD1(db)),
    );
    expect(failed.status).toBe(503);
    expect((await ledgerRow(link.id))?.consumed_at).toBeNull();
    const retry = await callWorker(tapRequest(link.id, { method: "POST" }));
    expect(retry.status).toBe(302);
  });
});

describe("KV failing to write the consumed mark", () => {
  it("never touches a first tap; a refused tap still gets its 410 and the ledger keeps refusing", async () => {
    const link = await issue();
    const log = vi.spyOn(console, "log");

    // A first tap writes nothing to KV: failing writes cannot matter to it.
    const first = await callWorker(tapRequest(link.id), { LINKS: kvFailingWrites() });
    expect(first.status).toBe(302);
    expect(first.headers.get("Location")).toContain("inv=");
    const cookie = cookieFrom(first);
    expect(cookie).toMatch(/^ie_claim=/);

    // Another browser is refused by the ledger; writing the mark fails, and that is logged.
    const other = await callWorker(tapRequest(link.id, { ip: "192.0.2.11" }), {
      LINKS: kvFailingWrites(),
    });
    expect(other.status).toBe(410);
    expect(await other.text()).toContain("already been used");
    expect((await env.LINKS.getWithMetadata(link.id)).metadata).toBeNull();
    const lines = log.mock.calls.map((c) => String(c[0]));
    expect(lines.some((l) => l.includes('"event":"background_write_failed"'))).toBe(true);
    expect(lines.some((l) => l.includes('"what":"consumed_mark"'))).toBe(true);

    // The ledger is the truth: a third browser is refused too, the first one re-opens.
    expect((await callWorker(tapRequest(link.id, { ip: "192.0.2.12" }))).status).toBe(410);
    const again = await callWorker(tapRequest(link.id, { cookie }));
    expect(again.status).toBe(302);
    expect(await clickOutcomes(link.id)).toEqual(["opened", "blocked", "blocked", "reopened"]);
  });
});

describe("a lost reply", () => {
  /** The real shard, except that a batch's reply is lost after it committed, with `message`. */
  const losingReplies =
    (message = "D1_ERROR: Network connection lost.") =>
    (db: D1Database): D1Database => {
      return new Proxy(db, {
        get(target, property, receiver) {
          if (property === "batch") {
            return async (statements: D1PreparedStatement[]) => {
              await target.batch(statements);
              throw new Error(message);
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    };

  it("never locks the customer out: the same browser's retry opens the survey, others are refused", async () => {
    const link = await issue();
    const lost = await callWorker(tapRequest(link.id), wrapShards(losingReplies()));
    expect(lost.status).toBe(503);
    const retryCookie = cookieFrom(lost);
    expect(retryCookie).toMatch(/^ie_retry=[A-Za-z0-9_-]{22}$/);
    // The claim did commit.
    expect((await ledgerRow(link.id))?.consumed_at).not.toBeNull();

    // Another browser: refused, as for any used link.
    expect((await callWorker(tapRequest(link.id, { ip: "192.0.2.21" }))).status).toBe(410);
    // A forged or foreign nonce proves nothing.
    const forged = await callWorker(
      tapRequest(link.id, { ip: "192.0.2.22", cookie: `ie_retry=${"A".repeat(22)}` }),
    );
    expect(forged.status).toBe(410);

    // The same browser retries with its nonce: its claim is recognised.
    const retry = await callWorker(tapRequest(link.id, { cookie: retryCookie }));
    expect(retry.status).toBe(302);
    const cookies = retry.headers.get("Set-Cookie") ?? "";
    expect(cookies).toMatch(/(^|, )ie_claim=[A-Za-z0-9_-]+;/);
    expect(cookies).toMatch(/(^|, )ie_retry=; Max-Age=0;/);
    // One open, counted once.
    expect(await clickOutcomes(link.id)).toEqual(["opened", "blocked", "blocked"]);
  });

  it("an unknown failure after the commit answers 500, and still lets this browser's retry in", async () => {
    const link = await issue();
    const lost = await callWorker(
      tapRequest(link.id),
      wrapShards(losingReplies("something nobody classified")),
    );
    expect(lost.status).toBe(500);
    const retryCookie = cookieFrom(lost);
    expect(retryCookie).toMatch(/^ie_retry=[A-Za-z0-9_-]{22}$/);
    expect((await callWorker(tapRequest(link.id, { ip: "192.0.2.23" }))).status).toBe(410);
    expect((await callWorker(tapRequest(link.id, { cookie: retryCookie }))).status).toBe(302);
  });

  it("a retry whose first attempt never reached the ledger claims as usual", async () => {
    const link = await issue();
    const failed = await callWorker(
      tapRequest(link.id),
      wrapShards((db) => failingD1(db)),
    );
    expect(failed.status).toBe(503);
    const retry = await callWorker(tapRequest(link.id, { cookie: cookieFrom(failed) }));
    expect(retry.status).toBe(302);
    expect(await clickOutcomes(link.id)).toEqual(["opened"]);
  });
});
