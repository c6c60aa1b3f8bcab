/** The Qualtrics settings: derived defaults, OAuth (scopes, token URL), and errors that name every variable. */
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
/** An OAuth client setup with `vars` over it. */
const withClient = (vars: Partial<Env>): Partial<Env> => ({
  ...base,
  QUALTRICS_API_TOKEN: undefined,
  QUALTRICS_CLIENT_ID: "id",
  QUALTRICS_CLIENT_SECRET: "secret",
  ...vars,
});
/** The OAuth options parsed from an OAuth client setup, or null. */
const oauthOf = (vars: Partial<Env>) => {
  const setup = parse(withClient(vars));
  return setup.configured && "oauth" in setup.settings.auth ? setup.settings.auth.oauth : null;
};
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

  it("OAuth scopes default to the four reconcile uses; QUALTRICS_OAUTH_SCOPES replaces them", () => {
    const dc = { QUALTRICS_DATACENTER: "iad1" };
    expect(oauthOf(dc)?.scope).toBe(
      "write:contact_transactions write:mailing_list_contacts read:survey_responses write:survey_responses",
    );
    expect(
      oauthOf({ ...dc, QUALTRICS_OAUTH_SCOPES: "  manage:all\tread:contact_transactions  " })
        ?.scope,
    ).toBe("manage:all read:contact_transactions");
    expect(
      error(withClient({ ...dc, QUALTRICS_OAUTH_SCOPES: 'read:survey_responses "write"' })),
    ).toContain('QUALTRICS_OAUTH_SCOPES must be scopes separated by spaces (not valid: "write")');
  });

  it("the token URL is on the datacenter's host even when the API is on a vanity host", () => {
    const tokenUrl = (vars: Partial<Env>) => oauthOf(vars)?.tokenUrl;
    expect(
      tokenUrl({
        QUALTRICS_BASE_URL: "https://acme.eu.qualtrics.com/API/v3",
        QUALTRICS_DATACENTER: "FRA1",
      }),
    ).toBe("https://fra1.qualtrics.com/oauth2/token");
    // No datacenter: beside the API, which is what a local fake needs.
    expect(tokenUrl({ QUALTRICS_BASE_URL: "http://127.0.0.1:8788/API/v3" })).toBe(
      "http://127.0.0.1:8788/oauth2/token",
    );
  });

  it("lists every problem at once, each naming its variable", () => {
    const message = error({
      QUALTRICS_DATACENTER: "iad1.evil.com/x",
      QUALTRICS_CLIENT_ID: "id",
      QUALTRICS_DIRECTORY_ID: "POOL_x/../y",
      QUALTRICS_MAX_CALLS_PER_RUN: "5",
      QUALTRICS_POLL_INTERVAL_MS: "soon",
    });
    for (const name of [
      "QUALTRICS_MAILING_LIST_ID",
      "QUALTRICS_DATACENTER",
      "QUALTRICS_CLIENT_SECRET",
      "QUALTRICS_DIRECTORY_ID",
      "QUALTRICS_MAX_CALLS_PER_RUN",
      "QUALTRICS_POLL_INTERVAL_MS",
    ]) {
      expect(message).toContain(name);
    }
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
