/** The Qualtrics settings: derived defaults, OAuth, and errors that name the variable. */
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config/env";
import { NOT_CONFIGURED_REASON, parseQualtricsSettings } from "../../src/config/qualtrics";
import { configErrorOf, CONFIG_ENV as env } from "../fixtures/config-env";

const base: Partial<Env> = {
  QUALTRICS_API_TOKEN: "token",
  QUALTRICS_DIRECTORY_ID: "POOL_abc",
  QUALTRICS_MAILING_LIST_ID: "CG_abc",
};
const parse = (vars: Partial<Env>) => parseQualtricsSettings({ ...env, ...vars });
const error = (vars: Partial<Env>) => configErrorOf(() => parse(vars));

describe("Qualtrics settings", () => {
  it("nothing set means not configured, with the reason", () => {
    expect(parse({})).toEqual({ configured: false, reason: NOT_CONFIGURED_REASON });
    expect(parse({ QUALTRICS_API_TOKEN: "  " })).toMatchObject({ configured: false });
  });

  it("derives the base URL from the datacenter", () => {
    const setup = parse({ ...base, QUALTRICS_DATACENTER: "FRA1" });
    expect(setup).toMatchObject({
      configured: true,
      settings: {
        baseUrl: "https://fra1.qualtrics.com/API/v3",
        auth: { apiToken: "token" },
        maxCallsPerRun: 300,
        pollIntervalMs: 2000,
      },
    });
  });

  it("an explicit base URL wins, without its trailing slash", () => {
    const setup = parse({
      ...base,
      QUALTRICS_DATACENTER: "iad1",
      QUALTRICS_BASE_URL: "https://acme.eu.qualtrics.com/API/v3/",
    });
    expect(setup.configured && setup.settings.baseUrl).toBe("https://acme.eu.qualtrics.com/API/v3");
  });

  it("OAuth client credentials get the token endpoint beside the API", () => {
    const setup = parse({
      ...base,
      QUALTRICS_API_TOKEN: undefined,
      QUALTRICS_DATACENTER: "sjc1",
      QUALTRICS_CLIENT_ID: "id",
      QUALTRICS_CLIENT_SECRET: "secret",
    });
    expect(setup.configured && setup.settings.auth).toMatchObject({
      oauth: {
        tokenUrl: "https://sjc1.qualtrics.com/oauth2/token",
        clientId: "id",
        clientSecret: "secret",
      },
    });
  });

  it("names what is missing or malformed", () => {
    expect(error({ QUALTRICS_DATACENTER: "iad1" })).toContain("QUALTRICS_API_TOKEN");
    expect(error({ ...base })).toContain("QUALTRICS_BASE_URL (or QUALTRICS_DATACENTER)");
    expect(error({ ...base, QUALTRICS_DATACENTER: "iad1.evil.com/x" })).toContain(
      "QUALTRICS_DATACENTER",
    );
    expect(error({ ...base, QUALTRICS_BASE_URL: "not a url" })).toContain("QUALTRICS_BASE_URL");
    expect(
      error({ ...base, QUALTRICS_BASE_URL: "https://u:p@iad1.qualtrics.com/API/v3" }),
    ).toContain("credentials");
    expect(
      error({
        ...base,
        QUALTRICS_API_TOKEN: undefined,
        QUALTRICS_DATACENTER: "iad1",
        QUALTRICS_CLIENT_ID: "id",
      }),
    ).toContain("QUALTRICS_CLIENT_SECRET");
    expect(
      error({ ...base, QUALTRICS_DATACENTER: "iad1", QUALTRICS_DIRECTORY_ID: "POOL_x/../y" }),
    ).toContain("QUALTRICS_DIRECTORY_ID");
    expect(
      error({ ...base, QUALTRICS_DATACENTER: "iad1", QUALTRICS_MAX_CALLS_PER_RUN: "5" }),
    ).toContain("QUALTRICS_MAX_CALLS_PER_RUN");
    expect(
      error({ ...base, QUALTRICS_DATACENTER: "iad1", QUALTRICS_POLL_INTERVAL_MS: "soon" }),
    ).toContain("QUALTRICS_POLL_INTERVAL_MS");
  });
});
