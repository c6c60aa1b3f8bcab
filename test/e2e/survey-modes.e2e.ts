/**
 * The survey modes in a real browser: Chromium against `wrangler dev`, with a loopback page that
 * stands in for the Qualtrics survey. The stand-in reads its parameters as Qualtrics does (its
 * server records the landing URL, decoded by the fake Qualtrics' own reading of `Q_EED`; a script
 * reads `location.search`), and its header carries the address-bar snippet exactly as
 * docs/survey-modes.md documents it (loaded from that file, so the two cannot drift).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLanding } from "../fake-qualtrics/landing.js";
import { readEed } from "../fixtures/eed";
import { verifyLinkSignature } from "../fixtures/link-signature";
import { TRICKY_VALUES } from "../fixtures/link-values";
import { ROOT, screenshotPath } from "./harness";
import {
  type BrowserSession,
  type LoopbackServer,
  serveOnLoopback,
  startBrowserSession,
} from "./stand-in";

const ISSUER_KEY = "dev-issuer-key"; // wrangler.toml's development value
const FIELDS = ["venue", "event", "seat"];
/** What the stand-in survey's flow declares, as docs/survey-modes.md tells survey owners to. */
const DECLARED = [...FIELDS, "customer_id", "transaction_id", "trigger", "inv", "sig"];

/** The header snippet, exactly as the documentation shows it. */
function documentedSnippet(): string {
  const doc = readFileSync(join(ROOT, "docs/survey-modes.md"), "utf8");
  const block = /<!-- address-bar-snippet[^>]*-->\n```html\n([\s\S]*?)\n```/.exec(doc)?.[1];
  if (!block) throw new Error("docs/survey-modes.md has no address-bar snippet block");
  return block;
}

interface StandIn extends LoopbackServer {
  /** Every survey URL the stand-in's server was asked for, as requested. */
  landings: string[];
}

/**
 * The survey stand-in: its server records the URL (as Qualtrics records the parameters when the
 * survey starts), the page's own script reads `location.search` (and the history length then),
 * and the header below it carries the snippet.
 */
async function startStandIn(snippet: string): Promise<StandIn> {
  const landings: string[] = [];
  const server = await serveOnLoopback((req, res) => {
    if (!req.url?.startsWith("/jfe/form/")) {
      res.writeHead(404).end();
      return;
    }
    landings.push(`http://${req.headers.host}${req.url}`);
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Survey stand-in</title>
<script>window.surveyRead = { search: location.search, historyLength: history.length };</script>
</head><body><header>${snippet}</header><h1>Survey stand-in</h1></body></html>`);
  });
  return { ...server, landings };
}

let standIn: StandIn;
let session: BrowserSession;

beforeAll(async () => {
  standIn = await startStandIn(documentedSnippet());
  session = await startBrowserSession({
    "e2e-eed": { url: `${standIn.origin}/jfe/form/SV_e2eeed`, fields: FIELDS, mode: "eed" },
    "e2e-query": { url: `${standIn.origin}/jfe/form/SV_e2equery`, fields: FIELDS, mode: "query" },
  });
});

afterAll(async () => {
  await session?.stop();
  await standIn?.close();
});

/** A phone's browser (its own cookies), speaking `locale`. */
const phone = (locale?: string): Promise<Page> => session.phone({ locale });

async function issue(body: Record<string, unknown>): Promise<{ id: string; url: string }> {
  const res = await fetch(`${session.server.url}/v1/links`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ISSUER_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      customerId: "client-é-👩🏽‍🚀",
      transactionId: `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      trigger: "ticket_scanned",
      channel: "in_app",
      ...body,
    }),
  });
  expect(res.status).toBe(201);
  return res.json() as Promise<{ id: string; url: string }>;
}

/** What the stand-in's own script read, before the header snippet ran. */
const surveyRead = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { surveyRead: { search: string; historyLength: number } }).surveyRead,
  );

describe("an eed tap in Chromium", () => {
  it("lands on the survey with Q_EED, which decodes to exactly the issued values; sig verifies", async () => {
    const embeddedData = {
      venue: TRICKY_VALUES.rightToLeft,
      event: TRICKY_VALUES.emoji,
      seat: `${TRICKY_VALUES.combining} ${TRICKY_VALUES.newlines}`,
    };
    const link = await issue({ survey: "e2e-eed", language: "fr-CA", embeddedData });
    const page = await phone();
    const response = await page.goto(link.url);
    expect(response?.status()).toBe(200);
    const redirect = await response?.request().redirectedFrom()?.response();
    expect(redirect?.status()).toBe(302);
    const location = (await redirect?.headerValue("location")) ?? "";

    // The survey's server got exactly the Location: one opaque Q_EED, and the language.
    const landing = standIn.landings.at(-1) ?? "";
    expect(landing).toBe(location);
    const url = new URL(landing);
    expect(url.pathname).toBe("/jfe/form/SV_e2eeed");
    expect([...url.searchParams.keys()]).toEqual(["Q_EED", "Q_Language"]);
    for (const readable of ["client", "ticket_scanned", link.id]) {
      expect(landing).not.toContain(readable);
    }

    const issued = {
      ...embeddedData,
      customer_id: "client-é-👩🏽‍🚀",
      transaction_id: expect.stringMatching(/^e2e-/),
      trigger: "ticket_scanned",
      inv: link.id,
    };
    const values = readEed(landing);
    expect(values).toEqual({ ...issued, sig: expect.any(String) });
    await verifyLinkSignature(values, session.jwks);
    await expect(verifyLinkSignature({ ...values, seat: "A1" }, session.jwks)).rejects.toThrow();
    // What the survey records: the fields its flow declares, from Q_EED, in the customer's language.
    const recorded = recordLanding("SV_e2eeed", landing, DECLARED);
    expect(recorded).toEqual({ embeddedData: values, language: "FR-CA" });

    // The page read its parameters, then the header snippet took them out of the address bar.
    expect((await surveyRead(page)).search).toBe(new URL(location).search);
    expect(page.url()).toBe(`${standIn.origin}/jfe/form/SV_e2eeed`);
    await page.screenshot({ path: screenshotPath("10-survey-eed-mode") });
  });
});

describe("the address-bar snippet, as documented", () => {
  it("clears a query-mode survey's query string after the page read it, without a history entry", async () => {
    const link = await issue({
      survey: "e2e-query",
      embeddedData: { venue: "Arena North", event: "Finals", seat: "B12" },
    });
    const page = await phone();
    await page.goto(link.url);
    const read = await surveyRead(page);
    expect(new URLSearchParams(read.search).get("venue")).toBe("Arena North");
    expect(new URLSearchParams(read.search).get("inv")).toBe(link.id);

    expect(page.url()).toBe(`${standIn.origin}/jfe/form/SV_e2equery`);
    const after = await page.evaluate(() => ({
      search: location.search,
      historyLength: history.length,
    }));
    expect(after).toEqual({ search: "", historyLength: read.historyLength });
    // Reloading asks for the bare survey URL: the values are gone from the address bar.
    await page.reload();
    expect(standIn.landings.at(-1)).toBe(`${standIn.origin}/jfe/form/SV_e2equery`);
    await page.screenshot({ path: screenshotPath("11-survey-address-bar-cleared") });
  });

  it("keeps the path and the fragment, and leaves a URL without a query alone", async () => {
    const page = await phone();
    await page.goto(`${standIn.origin}/jfe/form/SV_e2equery?venue=Arena%20North&inv=x#page-2`);
    expect(page.url()).toBe(`${standIn.origin}/jfe/form/SV_e2equery#page-2`);
    await page.goto(`${standIn.origin}/jfe/form/SV_other#page-3`);
    expect(page.url()).toBe(`${standIn.origin}/jfe/form/SV_other#page-3`);
    expect(await page.evaluate(() => history.state)).toBeNull();
  });
});

describe("the tap's pages in the browser's language", () => {
  it("a German browser gets the 'already used' page in German; the invite's language wins over it", async () => {
    const plain = await issue({ survey: "e2e-query" });
    const french = await issue({ survey: "e2e-query", language: "fr" });
    await (await phone()).goto(plain.url);
    await (await phone()).goto(french.url);

    const german = await phone("de-DE");
    const res = await german.goto(plain.url);
    expect(res?.status()).toBe(410);
    await expect(german.locator("html").getAttribute("lang")).resolves.toBe("de");
    await expect(german.locator("h1").textContent()).resolves.toBe(
      "Dieser Link wurde bereits verwendet",
    );
    await german.screenshot({ path: screenshotPath("12-already-used-de") });
    await german.goto(french.url);
    await expect(german.locator("h1").textContent()).resolves.toBe("Ce lien a déjà été utilisé");
  });
});
