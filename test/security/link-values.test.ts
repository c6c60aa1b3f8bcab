/**
 * Exact values in survey links: every value goes into the `Location` percent-encoded (a space is
 * `%20`, never `+`), so a strict decoder (decodeURIComponent) and a form decoder
 * (URLSearchParams) both read exactly what was issued, and `sig` verifies over those values with
 * the documented recipe (docs/link-signature.md) and the public JWKS.
 */
import { describe, expect, it } from "vitest";
import { surveyRedirectUrl } from "../../src/links/survey-link";
import { TRICKY_VALUES } from "../fixtures/link-values";
import { surveyConfig } from "../fixtures/survey";
import { issue, tap, verifyServiceSignature } from "../helpers/api";

const CUSTOMER = "customer 42 & co+1 %20 #x";

/** The query's pairs decoded strictly: `+` stays `+`, only `%XX` is decoded. */
function strictPairs(location: string): [string, string][] {
  const query = new URL(location).search.slice(1);
  return query.split("&").map((pair) => {
    const [name = "", value = ""] = pair.split("=");
    return [decodeURIComponent(name), decodeURIComponent(value)];
  });
}

describe("values on the survey link", () => {
  it.each(Object.entries(TRICKY_VALUES))(
    "%s: arrives exactly as issued, percent-encoded (never +), and sig verifies",
    async (_name, value) => {
      const link = await issue({
        customerId: CUSTOMER,
        embeddedData: { venue: value, event: "Finals", seat: value },
      });
      const res = await tap(link.id);
      expect(res.status).toBe(302);
      const location = res.headers.get("Location") ?? "";
      const query = new URL(location).search;
      // Only unreserved characters and %XX escapes: no `+`, no raw space, nothing to reinterpret.
      expect(query).toMatch(/^\?[A-Za-z0-9\-._~%=&]*$/);
      if (value.includes(" ")) expect(query).toContain("%20");

      const strict = Object.fromEntries(strictPairs(location));
      const form = Object.fromEntries(new URL(location).searchParams);
      expect(form).toEqual(strict);
      expect(strict).toMatchObject({
        venue: value,
        event: "Finals",
        seat: value,
        customer_id: CUSTOMER,
        inv: link.id,
      });
      await verifyServiceSignature(strict);
      await expect(verifyServiceSignature({ ...strict, venue: `${value}!` })).rejects.toThrow();
    },
  );

  it("keeps the parameters of the survey's own link and puts the invite's after them", () => {
    const survey = surveyConfig({
      url: "https://acme.qualtrics.com/jfe/form/SV_1?Q_Language=EN&venue=stale&note=a+b",
      fields: ["venue"],
    });
    const source = {
      customerId: "c 1",
      transactionId: "t",
      trigger: "x",
      embeddedData: { venue: "new value" },
      sig: "h..s",
    };
    expect(surveyRedirectUrl(survey, "ID", source)).toBe(
      "https://acme.qualtrics.com/jfe/form/SV_1?Q_Language=EN&note=a+b&venue=new%20value&customer_id=c%201&transaction_id=t&trigger=x&inv=ID&sig=h..s",
    );
  });
});
