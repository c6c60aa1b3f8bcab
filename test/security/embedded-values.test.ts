/**
 * Hostile values inside the invite (embedded data, ids): SQL stays data, HTML/script never reaches
 * a page unescaped (pages carry no invite data at all), CR/LF cannot inject a header, and very long
 * Unicode round-trips exactly (within the documented limits) to the survey and the data endpoint.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { rawParam, readEed } from "../fixtures/eed";
import {
  api,
  linkRequest,
  ORIGIN,
  PHONE_UA,
  tap,
  verifyServiceSignature,
  WEBSERVICE_SECRET,
} from "../helpers/api";
import { ledgerOf } from "../helpers/ledger";
import { ledgerRow } from "./helpers";

const SQL = [
  "'; DROP TABLE invites; --",
  "1' OR '1'='1",
  '" OR 1=1; UPDATE invites SET consumed_at = NULL; --',
  "Robert'); DELETE FROM click_events WHERE ('1'='1",
];
const HTML = [
  "<script>alert(document.cookie)</script>",
  '"><img src=x onerror=alert(1)>',
  "</title><svg/onload=alert(1)>",
  "javascript:alert(1)",
  "{{constructor.constructor('alert(1)')()}}",
];
const CRLF = ["x\r\nSet-Cookie: pwn=1", "x\r\nLocation: https://evil.example", "x\n\n<h1>pwn</h1>"];

async function issueWith(overrides: Record<string, unknown>) {
  const res = await api("/v1/links", { method: "POST", json: linkRequest(overrides) });
  return { res, body: (await res.json()) as { id: string; error?: unknown } };
}

/** The values the survey would see: the Location's query, decoded. */
function locationValues(res: Response): Record<string, string> {
  const location = res.headers.get("Location");
  if (!location) throw new Error(`no Location (status ${res.status})`);
  return Object.fromEntries(new URL(location).searchParams);
}

/** Checks `sig` the way a third party would: detached JWS over the canonical values, our JWKS. */
async function signatureValid(values: Record<string, string>): Promise<boolean> {
  return verifyServiceSignature(values).then(
    () => true,
    () => false,
  );
}

describe("SQL in values", () => {
  it("is stored and returned as data; the ledger is intact", async () => {
    const embeddedData = { venue: SQL[0], event: SQL[1], seat: SQL[2] };
    const { res, body } = await issueWith({
      embeddedData,
      customerId: SQL[3],
      transactionId: `${SQL[1]}-${Date.now()}`,
    });
    expect(res.status).toBe(201);
    const row = await ledgerRow(body.id);
    expect(row?.customer_ref).toBe(SQL[3]);
    expect(JSON.parse(row?.embedded_data ?? "{}")).toEqual(embeddedData);

    const first = await tap(body.id);
    expect(first.status).toBe(302);
    expect(locationValues(first)).toMatchObject({ ...embeddedData, customer_id: SQL[3] });
    const count = await ledgerOf(body.id)
      .prepare("SELECT COUNT(*) AS n FROM invites")
      .first<{ n: number }>();
    expect(count?.n).toBeGreaterThan(0);
    expect((await ledgerRow(body.id))?.consumed_at).not.toBeNull();
    expect((await tap(body.id, { ip: "198.51.100.30" })).status).toBe(410);
  });
});

describe("HTML and script in values", () => {
  it("never appear in any page (used, confirm, preview, revoked, not found), escaped or not", async () => {
    const embeddedData = { venue: HTML[0], event: HTML[1], seat: HTML[2] };
    const confirm = await issueWith({ survey: "demo-confirm", embeddedData, customerId: HTML[3] });
    expect(confirm.res.status).toBe(201);
    const id = confirm.body.id;

    const pages: Response[] = [];
    pages.push(await tap(id, { ua: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" }));
    const confirmPage = await tap(id);
    expect(confirmPage.status).toBe(200);
    // Its form's POST redirects to the survey, so form-action allows exactly that origin too.
    expect(confirmPage.headers.get("Content-Security-Policy")).toContain(
      "form-action 'self' https://example.qualtrics.com;",
    );
    pages.push(confirmPage);
    const posted = await tap(id, { method: "POST" });
    expect(posted.status).toBe(302);
    pages.push(await tap(id, { ip: "198.51.100.31" })); // used
    await api(`/v1/links/${id}`, { method: "DELETE" });
    pages.push(await tap(id, { ip: "198.51.100.32" })); // revoked
    pages.push(await tap("A".repeat(22))); // not found

    for (const page of pages) {
      const html = await page.text();
      expect(page.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
      expect(page.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(html).not.toMatch(/<script|<img|<svg|onerror|onload|javascript:|alert/i);
      expect(html).not.toContain("&lt;script");
      expect(html).not.toContain(HTML[4]);
    }
    // The confirm page's only form posts to the link itself.
    const confirmHtml = await (
      await SELF.fetch(`${ORIGIN}/s/${id}`, {
        headers: { "User-Agent": PHONE_UA },
      })
    ).text();
    expect(confirmHtml).not.toContain("<form");
  });

  it("go to the survey URL-encoded, and the data endpoint answers JSON, not HTML", async () => {
    const embeddedData = { venue: HTML[0], event: HTML[1], seat: HTML[4] };
    const issued = await issueWith({ embeddedData, customerId: HTML[2] });
    const first = await tap(issued.body.id);
    const location = first.headers.get("Location") ?? "";
    expect(location).not.toMatch(/[<>"' ]/);
    const values = locationValues(first);
    expect(values).toMatchObject({ ...embeddedData, customer_id: HTML[2] });
    expect(await signatureValid(values)).toBe(true);

    const ws = await issueWith({ survey: "demo-ws", embeddedData });
    const data = await SELF.fetch(`${ORIGIN}/v1/invites/${ws.body.id}/data`, {
      headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
    });
    expect(data.headers.get("Content-Type")).toContain("application/json");
    expect(await data.json()).toMatchObject(embeddedData);
  });

  it("an HTML survey key or field name is refused at issue time", async () => {
    const badSurvey = await issueWith({ survey: "<script>alert(1)</script>" });
    expect(badSurvey.res.status).toBe(400);
    const badField = await issueWith({ embeddedData: { "<img src=x>": "1" } });
    expect(badField.res.status).toBe(400);
    // Error details name the field, in JSON (never rendered as HTML).
    expect(badField.res.headers.get("Content-Type")).toContain("application/json");
  });
});

describe("CR/LF in values", () => {
  it("cannot inject a header: values are percent-encoded in the Location", async () => {
    const embeddedData = { venue: CRLF[0], event: CRLF[1], seat: CRLF[2] };
    const { res, body } = await issueWith({ embeddedData });
    expect(res.status).toBe(201);
    const first = await tap(body.id);
    expect(first.status).toBe(302);
    const location = first.headers.get("Location") ?? "";
    expect(location).not.toMatch(/[\r\n]/);
    expect(location).toContain("%0D%0A");
    expect(first.headers.get("pwn")).toBeNull();
    expect(first.headers.get("Set-Cookie")).not.toContain("pwn");
    expect(new URL(location).origin).toBe("https://example.qualtrics.com");
    expect(locationValues(first)).toMatchObject(embeddedData);
  });

  it("are refused in ids (customerId, transactionId) and in the trigger", async () => {
    for (const overrides of [
      { customerId: "c\r\nX-Pwn: 1" },
      { transactionId: "t\nX-Pwn: 1" },
      { trigger: "scan\r\n" },
      { customerId: "c\u0000" },
    ]) {
      const { res } = await issueWith(overrides);
      expect(res.status).toBe(400);
    }
  });
});

describe("very long Unicode", () => {
  // 1,000 characters (code points, as Qualtrics counts them) is the limit per embedded value.
  const emoji = "👩🏽‍🚀".repeat(250); // 4 code points, 7 code units each: 1,000 and 1,750
  const mixed = [..."Zürich – 東京 – مرحبا – ‮RTL‬ – 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 – e\u0301".repeat(40)]
    .slice(0, 1000)
    .join("");

  it("round-trips exactly to the survey, with a valid signature", async () => {
    const embeddedData = { venue: emoji, event: mixed, seat: "\u200b\ufeff\u2028\u2029" };
    const { res, body } = await issueWith({ embeddedData, customerId: "客户-😀-42" });
    expect(res.status).toBe(201);
    const first = await tap(body.id);
    expect(first.status).toBe(302);
    const values = locationValues(first);
    expect(values).toMatchObject({ ...embeddedData, customer_id: "客户-😀-42" });
    expect(await signatureValid(values)).toBe(true);
  });

  it("over the limit is a 400 naming the field, never a 500", async () => {
    const { res, body } = await issueWith({ embeddedData: { venue: "😀".repeat(1_001) } });
    expect(res.status).toBe(400);
    expect(body.error).toMatchObject({
      code: "invalid_request",
      details: [{ path: "embeddedData.venue", message: "must be at most 1000 characters" }],
    });
    // A lone surrogate cannot be URL-encoded: refused as bad input, not a crash.
    for (const overrides of [
      { embeddedData: { venue: "\ud800 lone surrogate" } },
      { customerId: "c-\udc00" },
      { transactionId: "t-\ud83d" },
    ]) {
      const lone = await issueWith(overrides);
      expect(lone.res.status).toBe(400);
      expect(JSON.stringify(lone.body)).toContain("well-formed Unicode");
    }
  });

  it("in eed mode the limit is per value inside Q_EED, not on the whole parameter", async () => {
    const full = "😀".repeat(1_000);
    const { res, body } = await issueWith({
      survey: "demo-eed",
      embeddedData: { venue: full, event: full, seat: full },
    });
    expect(res.status).toBe(201);
    const location = (await tap(body.id)).headers.get("Location") ?? "";
    expect(rawParam(location, "Q_EED")?.length).toBeGreaterThan(3_000);
    expect(readEed(location)).toMatchObject({ venue: full, event: full, seat: full });

    const over = await issueWith({ survey: "demo-eed", embeddedData: { seat: `${full}!` } });
    expect(over.res.status).toBe(400);
    expect(JSON.stringify(over.body)).toContain("embeddedData.seat");
  });
});
