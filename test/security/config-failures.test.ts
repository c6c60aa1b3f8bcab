/**
 * A broken configuration is the operator's problem, never the customer's: a tap gets the HTML
 * "please try again" page with every tap header, an API caller a generic `config_error` with the
 * request id, and only the log names the bad settings (every one of them, at once). In
 * production, issued links always use PUBLIC_BASE_URL, never the host the caller used.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiRequest, issue, linkRequest } from "../helpers/api";
import { callWorker, type TestEnv, tapRequest } from "./helpers";

const BROKEN: Partial<TestEnv> = {
  COOKIE_SECRET: "short",
  SURVEYS: { demo: { url: "https://evil.example/form", fields: ["venue"] } },
};
const NAMES = /COOKIE_SECRET|SURVEYS|evil\.example|short/;

afterEach(() => {
  vi.restoreAllMocks();
});

function logLines(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
}

describe("a broken configuration", () => {
  it("gives a tap the HTML 'please try again' page with every tap header, naming nothing", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const link = await issue();
    for (const method of ["GET", "POST", "HEAD"]) {
      const res = await callWorker(tapRequest(link.id, { method }), BROKEN);
      expect(res.status).toBe(503);
      expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(res.headers.get("X-Robots-Tag")).toBe("noindex, nofollow");
      expect(res.headers.get("Retry-After")).toBe("60");
      expect(res.headers.get("X-Request-Id")).toBeTruthy();
      const html = await res.text();
      if (method !== "HEAD") expect(html).toContain("Please try again");
      expect(html).not.toMatch(NAMES);
    }
  });

  it("gives an API caller a generic config_error with the request id; the log has every problem", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const res = await callWorker(
      apiRequest("/v1/links", { method: "POST", json: linkRequest() }),
      BROKEN,
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(NAMES);
    const requestId = res.headers.get("X-Request-Id");
    expect(JSON.parse(text)).toEqual({
      error: { code: "config_error", message: expect.any(String), requestId },
    });
    const logged = logLines(log).find((line) => line.event === "config_error");
    expect(logged).toMatchObject({ requestId });
    expect(logged?.problems).toContain("COOKIE_SECRET must be at least 16 characters");
    expect(logged?.problems).toContain("SURVEYS.demo.url: host evil.example");
  });

  it("does not stop the pages that need no configuration", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const res = await callWorker(apiRequest("/dashboard", { key: null }), BROKEN);
    expect(res.status).toBe(200);
  });
});

describe("the public endpoints, whatever else is misconfigured", () => {
  const brokenSettings: [string, Partial<TestEnv>][] = [
    ["a short COOKIE_SECRET", { COOKIE_SECRET: "short" }],
    ["a survey on a host that is not allowed", BROKEN],
    ["API_KEYS that are not JSON", { API_KEYS: "[{" }],
    ["LEDGER_SHARDS naming unbound shards", { LEDGER_SHARDS: "99" }],
    ["production without PUBLIC_BASE_URL", { ENVIRONMENT: "production" }],
  ];

  it.each(brokenSettings)("with %s, only /healthz says so", async (_, overrides) => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const get = (path: string) => callWorker(apiRequest(path, { key: null }), overrides);
    const health = await get("/healthz");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ ok: false, config: "invalid" });
    for (const path of ["/", "/docs", "/openapi.json", "/.well-known/jwks.json"]) {
      expect((await get(path)).status, path).toBe(200);
    }
    const spec = (await (await get("/openapi.json")).json()) as { paths: object };
    expect(spec.paths).toHaveProperty("/v1/links");
    const jwks = (await (await get("/.well-known/jwks.json")).json()) as { keys: unknown[] };
    expect(jwks.keys).toHaveLength(1);
  });

  it("broken SIGNING_KEYS fail the public keys with config_error, and the document still answers", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const broken = { SIGNING_KEYS: '[{"kid": "k1", "alg": "ES256", "kty": "EC"}]' };
    const jwks = await callWorker(apiRequest("/.well-known/jwks.json", { key: null }), broken);
    expect(jwks.status).toBe(500);
    expect(((await jwks.json()) as { error: { code: string } }).error.code).toBe("config_error");
    const logged = logLines(log).find((line) => line.event === "config_error");
    expect(logged?.problems).toContain("SIGNING_KEYS.0.d");
    const spec = await callWorker(apiRequest("/openapi.json", { key: null }), broken);
    expect(spec.status).toBe(200);
  });
});

describe("the origin of issued links", () => {
  const production: Partial<TestEnv> = {
    ENVIRONMENT: "production",
    PUBLIC_BASE_URL: "https://links.example.com",
  };

  it("in production is PUBLIC_BASE_URL, whatever host the issue call came to", async () => {
    const request = apiRequest("/v1/links", { method: "POST", json: linkRequest() });
    const res = await callWorker(
      new Request("https://attacker.example/v1/links", request),
      production,
    );
    expect(res.status).toBe(201);
    const { id, url } = (await res.json()) as { id: string; url: string };
    expect(url).toBe(`https://links.example.com/s/${id}`);
  });

  it("production without PUBLIC_BASE_URL is a configuration error: nothing is issued", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const res = await callWorker(apiRequest("/v1/links", { method: "POST", json: linkRequest() }), {
      ENVIRONMENT: "production",
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { code: "config_error" } });
  });

  it("in development follows the origin the issue call came to", async () => {
    const request = apiRequest("/v1/links", { method: "POST", json: linkRequest() });
    const res = await callWorker(new Request("http://localhost:8787/v1/links", request));
    const { id, url } = (await res.json()) as { id: string; url: string };
    expect(url).toBe(`http://localhost:8787/s/${id}`);
  });
});
