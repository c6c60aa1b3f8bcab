/**
 * `eed` mode: a tap lands on the survey with the invite's values, `inv` and `sig` in Qualtrics'
 * `Q_EED` parameter (standard base64 of UTF-8 JSON, percent-encoded), so nothing is readable in
 * the address bar; the values decode to exactly what was issued, and `sig` verifies with the
 * same recipe as query mode.
 */
import { describe, expect, it } from "vitest";
import { surveyRedirectUrl } from "../src/links/survey-link";
import { rawParam, readEed } from "./fixtures/eed";
import { TRICKY_VALUES } from "./fixtures/link-values";
import { surveyConfig } from "./fixtures/survey";
import { cookieFrom, issue, tap, verifyServiceSignature } from "./helpers/api";

async function firstTap(id: string): Promise<string> {
  const res = await tap(id);
  expect(res.status).toBe(302);
  return res.headers.get("Location") ?? "";
}

describe("eed mode", () => {
  it("lands on the survey with only Q_EED: the issued values, inv and sig, and sig verifies", async () => {
    const link = await issue({
      survey: "demo-eed",
      customerId: "customer-42",
      embeddedData: { venue: "Arena North", event: "Finals", seat: 12 },
    });
    const location = await firstTap(link.id);
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(
      "https://example.qualtrics.com/jfe/form/SV_demoeed",
    );
    expect([...url.searchParams.keys()]).toEqual(["Q_EED"]);
    // Nothing readable in the address bar.
    for (const value of ["Arena", "Finals", "customer-42", "ticket_scanned", link.id]) {
      expect(location).not.toContain(value);
    }
    const values = readEed(location);
    expect(values).toEqual({
      venue: "Arena North",
      event: "Finals",
      seat: "12",
      customer_id: "customer-42",
      transaction_id: expect.any(String),
      trigger: "ticket_scanned",
      inv: link.id,
      sig: expect.stringMatching(/^[\w-]+\.\.[\w-]+$/),
    });
    await verifyServiceSignature(values);
    await expect(verifyServiceSignature({ ...values, seat: "13" })).rejects.toThrow();
  });

  it.each(Object.entries(TRICKY_VALUES))(
    "%s: decodes to exactly the issued value, and sig verifies",
    async (name, value) => {
      const customerId = "client é 👩🏽‍🚀 \u200fשלום\u200f + %20 & =";
      const link = await issue({
        survey: "demo-eed",
        customerId,
        embeddedData: { venue: value, event: name, seat: `${value}\u200f` },
      });
      const values = readEed(await firstTap(link.id));
      expect(values).toMatchObject({
        venue: value,
        event: name,
        seat: `${value}\u200f`,
        customer_id: customerId,
        inv: link.id,
      });
      await verifyServiceSignature(values);
    },
  );

  it("a re-open from the same browser carries the same Q_EED", async () => {
    const link = await issue({ survey: "demo-eed" });
    const first = await tap(link.id);
    const again = await tap(link.id, { cookie: cookieFrom(first) });
    expect(again.status).toBe(302);
    const before = first.headers.get("Location") ?? "";
    const after = again.headers.get("Location") ?? "";
    expect(rawParam(after, "Q_EED")).toBe(rawParam(before, "Q_EED"));
  });

  it("drops the anonymous link's own parameters that Q_EED carries, so a stale one never competes", () => {
    const survey = surveyConfig({
      url: "https://acme.qualtrics.com/jfe/form/SV_1?venue=stale&note=a+b&Q_EED=old&inv=x",
      fields: ["venue"],
      mode: "eed",
    });
    const source = {
      customerId: "c",
      transactionId: "t",
      trigger: "x",
      embeddedData: { venue: "Arena" },
      sig: "h..s",
    };
    const url = surveyRedirectUrl(survey, "ID", source);
    expect(url).toMatch(
      /^https:\/\/acme\.qualtrics\.com\/jfe\/form\/SV_1\?note=a\+b&Q_EED=[A-Za-z0-9%]+$/,
    );
    expect(readEed(url)).toEqual({
      venue: "Arena",
      customer_id: "c",
      transaction_id: "t",
      trigger: "x",
      inv: "ID",
      sig: "h..s",
    });
  });
});
