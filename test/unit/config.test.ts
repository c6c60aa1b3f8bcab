/**
 * The configuration parser in plain Node: every setting checked and named by its path, every
 * problem reported at once, production's extra rules, the ledger's shard counts. (The development
 * configuration in wrangler.toml parses too: test/config.test.ts, inside workerd.)
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/config";
import type { Env } from "../../src/config/env";
import {
  BOUND_SHARDS,
  CONFIG_ENV as base,
  configErrorOf,
  SURVEY as survey,
} from "../fixtures/config-env";

const withSurveys = (surveys: unknown, extra: Partial<Env> = {}): Env => ({
  ...base,
  SURVEYS: surveys as Env["SURVEYS"],
  ...extra,
});

const configError = (e: Env) => configErrorOf(() => parseConfig(e));

describe("survey configuration", () => {
  it("accepts SURVEYS as a JSON object (a [vars] table) or as a JSON string (--var)", () => {
    const fromObject = parseConfig(withSurveys({ venue: survey }));
    const fromString = parseConfig(withSurveys(JSON.stringify({ venue: survey })));
    expect(fromString.surveys.get("venue")).toEqual(fromObject.surveys.get("venue"));
    expect(fromObject.surveys.get("venue")).toMatchObject({
      key: "venue",
      mode: "query",
      confirm: false,
      defaultTtlSeconds: 604_800,
      maxTtlSeconds: 2_592_000,
      sameDeviceMinutes: 0,
    });
  });

  it("a bad BRAND is no configuration error: kept aside with its problems, the pages unbranded", () => {
    const config = parseConfig({ ...base, BRAND: '{"name": "Acme", "color": "teal"}' });
    expect(config.brand).toEqual({
      brand: null,
      problems: ["BRAND.color: must be a hex colour such as #1f5fbf or #15b"],
    });
    expect(parseConfig({ ...base, BRAND: { name: "Acme" } }).brand).toMatchObject({
      brand: { name: "Acme" },
      problems: [],
    });
  });

  it.each([
    [
      { s: { ...survey, url: "https://evil.example/jfe/form/SV_1" } },
      "SURVEYS.s.url: host evil.example",
    ],
    [{ s: { ...survey, url: "https://qualtrics.com.evil.example/x" } }, "SURVEYS.s.url: host"],
    [
      { s: { ...survey, url: "http://acme.qualtrics.com/jfe/form/SV_1" } },
      "SURVEYS.s.url: must use https",
    ],
    [{ s: { ...survey, fields: ["inv"] } }, "SURVEYS.s.fields.0"],
    [
      { s: { ...survey, fields: ["venue", "Q_Language"] } },
      "SURVEYS.s.fields.1: must not start with Q_",
    ],
    [{ s: { ...survey, mode: "email" } }, "SURVEYS.s.mode"],
    [{ s: { ...survey, qualtricsSurveyId: "123" } }, "SURVEYS.s.qualtricsSurveyId"],
    [{ s: { ...survey, maxTtlSeconds: 30 } }, "SURVEYS.s.maxTtlSeconds"],
    [
      { s: { ...survey, defaultTtlSeconds: 7200, maxTtlSeconds: 3600 } },
      "SURVEYS.s.defaultTtlSeconds",
    ],
    [{ s: { ...survey, colour: "blue" } }, "SURVEYS.s"],
    [{ s: { ...survey, sameDeviceMinutes: -1 } }, "SURVEYS.s.sameDeviceMinutes"],
    [{ s: { ...survey, sameDeviceMinutes: 2.5 } }, "SURVEYS.s.sameDeviceMinutes"],
    [{ s: { ...survey, sameDeviceMinutes: 1441 } }, "SURVEYS.s.sameDeviceMinutes"],
    [{ s: { ...survey, sameDeviceMinutes: "30" } }, "SURVEYS.s.sameDeviceMinutes"],
    [{ "Bad Key": survey }, "SURVEYS.Bad Key"],
    ["{not json", "SURVEYS is not valid JSON"],
  ])("names the survey and field of a bad config (%#)", (surveys, message) => {
    expect(configError(withSurveys(surveys))).toContain(message);
  });

  it("allows a loopback stand-in only through an explicit allow-list", () => {
    const local = { s: { ...survey, url: "http://127.0.0.1:9999/form" } };
    expect(configError(withSurveys(local))).toContain("ALLOWED_SURVEY_HOSTS");
    const config = parseConfig(withSurveys(local, { ALLOWED_SURVEY_HOSTS: "127.0.0.1:9999" }));
    expect(config.surveys.get("s")?.url).toBe("http://127.0.0.1:9999/form");
  });

  it("rejects malformed keys and secrets", () => {
    expect(
      configError({ ...base, API_KEYS: '[{"id":"x","sha256":"abc","scopes":["admin"]}]' }),
    ).toContain("API_KEYS.0.sha256");
    expect(configError({ ...base, SIGNING_KEYS: "[]" })).toContain("SIGNING_KEYS");
    expect(configError({ ...base, COOKIE_SECRET: "short" })).toContain("COOKIE_SECRET");
    expect(configError({ ...base, WEBSERVICE_SECRET: "" })).toContain("WEBSERVICE_SECRET");
  });
});

describe("every problem at once", () => {
  it("names every bad variable, survey and field in one error", () => {
    const broken: Env = {
      ...base,
      SIGNING_KEYS: "[]",
      API_KEYS: '[{"id":"x","sha256":"abc","scopes":["nope"]}]',
      COOKIE_SECRET: "short",
      WEBSERVICE_SECRET: "",
      RETENTION_DAYS: "0",
      ENVIRONMENT: "staging",
      PUBLIC_BASE_URL: "not a url",
      SURVEYS: {
        one: { ...survey, url: "https://evil.example/x", mode: "email" },
        two: { ...survey, fields: ["inv", "ok_field"], maxTtlSeconds: 30 },
        fine: survey,
      },
    };
    let error: unknown;
    try {
      parseConfig(broken);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    for (const named of [
      "SIGNING_KEYS",
      "API_KEYS.0.sha256",
      "API_KEYS.0.scopes.0",
      "COOKIE_SECRET",
      "WEBSERVICE_SECRET",
      "RETENTION_DAYS",
      "ENVIRONMENT",
      "PUBLIC_BASE_URL",
      "SURVEYS.one.mode",
      "SURVEYS.two.fields.0",
      "SURVEYS.two.maxTtlSeconds",
    ]) {
      expect(problems).toContain(named);
    }
    // A survey whose shape is fine still has its URL checked, beside the other problems.
    const message = configError({
      ...broken,
      SURVEYS: { one: { ...survey, url: "https://evil.example/x" }, two: survey },
    });
    expect(message).toContain("SURVEYS.one.url: host evil.example");
    expect(message).toContain("COOKIE_SECRET");
  });
});

describe("production", () => {
  const production = (extra: Partial<Env>): Env => ({
    ...base,
    ENVIRONMENT: "production",
    ...extra,
  });

  it("requires PUBLIC_BASE_URL, an https origin", () => {
    expect(configError(production({ PUBLIC_BASE_URL: undefined }))).toContain(
      "PUBLIC_BASE_URL is not set (required when ENVIRONMENT is production)",
    );
    expect(configError(production({ PUBLIC_BASE_URL: "http://links.example.com" }))).toContain(
      "PUBLIC_BASE_URL must use https",
    );
    expect(configError(production({ PUBLIC_BASE_URL: "https://links.example.com/s" }))).toContain(
      "PUBLIC_BASE_URL must be an origin only",
    );
    const config = parseConfig(production({ PUBLIC_BASE_URL: "https://links.example.com" }));
    expect(config).toMatchObject({
      environment: "production",
      publicBaseUrl: "https://links.example.com",
    });
  });

  it("development (the default) needs none and allows plain http for a local origin", () => {
    expect(parseConfig({ ...base, PUBLIC_BASE_URL: undefined }).publicBaseUrl).toBeUndefined();
    expect(parseConfig({ ...base, PUBLIC_BASE_URL: "http://localhost:8787" }).publicBaseUrl).toBe(
      "http://localhost:8787",
    );
  });
});

describe("ledger shards", () => {
  it("defaults to one shard and accepts any count whose shards are bound", () => {
    expect(parseConfig({ ...base, LEDGER_SHARDS: undefined })).toMatchObject({
      ledgerShards: 1,
      previousLedgerShards: [],
    });
    expect(
      parseConfig({ ...base, LEDGER_SHARDS: "8", LEDGER_SHARDS_PREVIOUS: "1, 4" }),
    ).toMatchObject({ ledgerShards: 8, previousLedgerShards: [1, 4] });
  });

  it.each([
    ["0", undefined, "LEDGER_SHARDS must be a whole number from 1 to 4096"],
    ["2.5", undefined, "LEDGER_SHARDS must be a whole number"],
    [
      String(BOUND_SHARDS + 2),
      undefined,
      `LEDGER_SHARDS is ${BOUND_SHARDS + 2} but no D1 database is bound as DB_${BOUND_SHARDS}, DB_${BOUND_SHARDS + 1}`,
    ],
    ["4", "8", "LEDGER_SHARDS_PREVIOUS: earlier counts must not exceed LEDGER_SHARDS"],
    ["4", "x", "LEDGER_SHARDS_PREVIOUS must be a whole number"],
  ])("LEDGER_SHARDS=%s, PREVIOUS=%s is refused", (shards, previous, message) => {
    expect(
      configError({ ...base, LEDGER_SHARDS: shards, LEDGER_SHARDS_PREVIOUS: previous }),
    ).toContain(message);
  });
});
