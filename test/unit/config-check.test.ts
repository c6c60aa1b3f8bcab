/**
 * The configuration check's own rules, in plain Node: secrets not given are set aside, not
 * reported; a survey's every problem is listed; variables near Cloudflare's 5 KB limit are flagged.
 */
import { describe, expect, it } from "vitest";
import { checkConfiguration, SECRET_NAMES } from "../../src/config/check";
import type { Env } from "../../src/config/env";

const base = (vars: Record<string, unknown>) => ({ DB: {}, ...vars }) as unknown as Env;

describe("checkConfiguration", () => {
  it("sets aside the secrets it was not given, and checks the ones it was", () => {
    const check = checkConfiguration(base({ COOKIE_SECRET: "short" }), new Set(["COOKIE_SECRET"]));
    expect(check.problems).toEqual(["COOKIE_SECRET must be at least 16 characters"]);
    expect(check.notChecked).toEqual([
      "API_KEYS",
      "SIGNING_KEYS",
      "WEBSERVICE_SECRET",
      "CUSTOMER_HASH_KEY",
    ]);
  });

  it("asks for Qualtrics' credentials only where Qualtrics is set up", () => {
    const set = checkConfiguration(base({ QUALTRICS_DATACENTER: "fra1" }), new Set());
    expect(set.notChecked).toEqual(SECRET_NAMES.filter((name) => name !== "WEBHOOKS"));
    expect(set.problems).toEqual([
      "Qualtrics is partly configured; missing QUALTRICS_DIRECTORY_ID, QUALTRICS_MAILING_LIST_ID",
    ]);
  });

  it("lists a survey's bad URL beside its bad mode", () => {
    const surveys = { s: { url: "https://evil.example.com/x", mode: "bogus" } };
    const { problems } = checkConfiguration(base({ SURVEYS: surveys }), new Set());
    expect(problems.map((p) => p.split(":")[0])).toEqual(["SURVEYS.s.mode", "SURVEYS.s.url"]);
  });

  it("lists BRAND's problems too, though they only leave the pages unbranded", () => {
    const { problems } = checkConfiguration(
      base({ BRAND: { name: "Acme", color: "red" } }),
      new Set(),
    );
    expect(problems).toEqual([expect.stringMatching(/^BRAND\.color: /)]);
  });

  it("warns from 4 KB and refuses over 5 KB per variable", () => {
    const surveys = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `survey-${i}`,
          { url: `https://acme.qualtrics.com/jfe/form/SV_${"x".repeat(40)}${i}` },
        ]),
      );
    const near = checkConfiguration(base({ SURVEYS: surveys(42) }), new Set());
    expect(near.problems).toEqual([]);
    expect(near.warnings).toEqual([expect.stringMatching(/^SURVEYS is 4\.\d KB, near/)]);
    const over = checkConfiguration(base({ SURVEYS: JSON.stringify(surveys(52)) }), new Set());
    expect(over.problems).toEqual([expect.stringMatching(/^SURVEYS is 5\.\d KB: over/)]);
  });
});
