/**
 * `GET /v1/stats` query rules beyond the schema: a survey the configuration does not know is a
 * 400 naming `survey`, and CSV or JSON follows the `Accept` header's q-values (`format` wins).
 */
import { describe, expect, it } from "vitest";
import { ANALYST_KEY, api } from "./helpers/api";

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
});
