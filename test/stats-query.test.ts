/**
 * `GET /v1/stats` query rules beyond the schema: a survey the configuration does not know is a
 * 400 naming `survey`, and CSV or JSON follows the `Accept` header's q-values (`format` wins).
 */
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, ANALYST_KEY, api, ISSUER_KEY } from "./helpers/api";

const stats = (query: string, accept?: string) =>
  api(`/v1/stats?${query}`, { key: ANALYST_KEY, headers: accept ? { Accept: accept } : {} });

describe("GET /v1/stats", () => {
  it("answers 400 naming survey for a survey that is not configured", async () => {
    const res = await stats("survey=no-such-survey");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: {
        code: "invalid_request",
        details: [{ path: "survey", message: 'unknown survey "no-such-survey"' }],
      },
    });
    expect((await stats("survey=demo")).status).toBe(200);
  });

  it.each([
    [undefined, "json"],
    ["text/csv", "csv"],
    ["application/json", "json"],
    ["text/csv;q=0.5, application/json", "json"],
    ["application/json;q=0.4, text/csv;q=0.9", "csv"],
    ["text/csv;q=0", "json"],
    ["text/csv, application/json", "csv"],
    ["application/json, text/csv", "json"],
    ["text/*", "csv"],
    ["*/*", "json"],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "json"],
  ])("Accept: %s → %s", async (accept, expected) => {
    const res = await stats("groupBy=survey", accept);
    expect(res.status).toBe(200);
    const type = res.headers.get("Content-Type") ?? "";
    expect(type.startsWith(expected === "csv" ? "text/csv" : "application/json")).toBe(true);
  });

  it("format overrides Accept either way", async () => {
    const json = await stats("format=json", "text/csv");
    expect(json.headers.get("Content-Type")).toMatch(/^application\/json/);
    const csv = await stats("format=csv", "application/json");
    expect(csv.headers.get("Content-Type")).toMatch(/^text\/csv/);
  });

  it("answers the dashboard's sign-in check: 403 without stats:read, 401 for an unknown key", async () => {
    // The request the dashboard sends before it keeps a key (test/e2e/dashboard.e2e.ts).
    const today = new Date().toISOString().slice(0, 10);
    const check = (key: string) =>
      api(`/v1/stats?from=${today}&to=${today}&groupBy=survey`, { key });
    const issuer = await check(ISSUER_KEY);
    expect(issuer.status).toBe(403);
    expect(await issuer.json()).toMatchObject({ error: { code: "forbidden" } });
    expect((await check("not-a-key")).status).toBe(401);
    expect((await check(ANALYST_KEY)).status).toBe(200);
    expect((await check(ADMIN_KEY)).status).toBe(200);
  });
});
