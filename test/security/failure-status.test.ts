/**
 * The right status for the right failure: a known transient store failure (D1 or KV briefly
 * unreachable or overloaded) is `503` with `Retry-After`; anything else is a bug, and a retry
 * would only repeat it, so it is `500` (`internal_error` for the API, an error page for a tap).
 * Neither answer names the failure; the log does, under the request id.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiRequest, issue } from "../helpers/api";
import { wrapShards } from "../helpers/ledger";
import { callWorker, ledgerRow, tapRequest } from "./helpers";

const TRANSIENT = "D1_ERROR: D1 DB is overloaded. Too many requests queued.";
const BUG = "D1_ERROR: no such column: consumed_at: SQLITE_ERROR";

/** Every shard binding, except that every query rejects with `message`. */
function d1Rejecting(message: string) {
  const reject = () => Promise.reject(new Error(message));
  const statement = { bind: () => statement, first: reject, run: reject, all: reject, raw: reject };
  return wrapShards(
    (db) =>
      new Proxy(db, {
        get(target, property) {
          if (property === "batch") return reject;
          if (property === "prepare") return () => statement;
          return Reflect.get(target, property);
        },
      }),
  );
}

/** The real KV binding, except that reads reject with `message`. */
function kvRejectingReads(message: string): KVNamespace {
  return new Proxy(env.LINKS, {
    get(target, property) {
      if (property === "get" || property === "getWithMetadata") {
        return () => Promise.reject(new Error(message));
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a tap", () => {
  it("gets 503 'please try again' with Retry-After for a transient D1 failure", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const link = await issue();
    const res = await callWorker(tapRequest(link.id), d1Rejecting(TRANSIENT));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(await res.text()).toContain("Please try again");
    expect((await ledgerRow(link.id))?.consumed_at).toBeNull();
  });

  it("still opens the survey when KV answers 503 or 429: KV only carries the fast path", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    for (const message of [
      "KV GET failed: 503 Service Unavailable",
      "KV GET failed: 429 Too Many Requests",
    ]) {
      const link = await issue();
      const res = await callWorker(tapRequest(link.id), { LINKS: kvRejectingReads(message) });
      expect(res.status).toBe(302);
      expect((await ledgerRow(link.id))?.consumed_at).not.toBeNull();
      // Another browser is still refused, by the ledger.
      const other = await callWorker(tapRequest(link.id, { ip: "192.0.2.55" }), {
        LINKS: kvRejectingReads(message),
      });
      expect(other.status).toBe(410);
    }
  });

  it("gets a 500 error page, without Retry-After, for an unknown failure", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const link = await issue();
    const res = await callWorker(tapRequest(link.id), d1Rejecting(BUG));
    expect(res.status).toBe(500);
    expect(res.headers.get("Retry-After")).toBeNull();
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain("Something went wrong");
    expect(html).not.toMatch(/D1_ERROR|SQLITE|consumed_at/);
    expect((await ledgerRow(link.id))?.consumed_at).toBeNull();
    const lines = log.mock.calls.map((call) => String(call[0]));
    expect(lines.some((line) => line.includes("no such column"))).toBe(true);
  });
});

describe("an API call", () => {
  it("gets 503 unavailable with Retry-After for a transient store failure", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const link = await issue();
    const res = await callWorker(apiRequest(`/v1/links/${link.id}`), d1Rejecting(TRANSIENT));
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(await res.json()).toEqual({
      error: {
        code: "unavailable",
        message: expect.any(String),
        requestId: res.headers.get("X-Request-Id"),
      },
    });
  });

  it("gets 500 internal_error with the request id for an unknown failure, naming nothing", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const link = await issue();
    const res = await callWorker(apiRequest(`/v1/links/${link.id}`), d1Rejecting(BUG));
    expect(res.status).toBe(500);
    expect(res.headers.get("Retry-After")).toBeNull();
    const text = await res.text();
    expect(text).not.toMatch(/D1_ERROR|SQLITE|consumed_at/);
    const requestId = res.headers.get("X-Request-Id");
    expect(JSON.parse(text)).toEqual({
      error: { code: "internal_error", message: expect.any(String), requestId },
    });
    const logged = log.mock.calls
      .map((call) => JSON.parse(String(call[0])) as Record<string, unknown>)
      .find((line) => line.event === "unhandled_error");
    expect(logged).toMatchObject({ requestId, message: BUG });
  });
});
