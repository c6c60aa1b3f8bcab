/**
 * The customer's path in a real browser: Chromium (playwright-core, a phone's user agent)
 * against `wrangler dev`, with a loopback stand-in for the Qualtrics survey page. The surveys under
 * test point at the stand-in through an explicit ALLOWED_SURVEY_HOSTS entry (test configuration
 * only); the pages carry a BRAND with an inline SVG logo. Screenshots of every page go to
 * test-output/.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyLinkSignature } from "../fixtures/link-signature";
import { TRICKY_VALUES } from "../fixtures/link-values";
import { DEVICE_AGENTS, PREVIEW_AGENTS } from "../fixtures/user-agents";
import { PHONE_UA, queryLocalD1, screenshotPath } from "./harness";
import {
  type BrowserSession,
  type LoopbackServer,
  serveOnLoopback,
  startBrowserSession,
} from "./stand-in";

const WEBSERVICE_SECRET = "dev-webservice-secret"; // wrangler.toml's development value
const ISSUER_KEY = "dev-issuer-key";

/** What the stand-in saw: every survey page request, and the data its Web Service call got. */
interface SurveyHit {
  path: string;
  params: Record<string, string>;
  webserviceData?: Record<string, string>;
}

interface StandIn extends LoopbackServer {
  hits: SurveyHit[];
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * A tiny Qualtrics stand-in. For the web-service survey it does what the survey's Web Service
 * element does: call GET /v1/invites/:inv/data with the secret header, server-side.
 */
async function startSurveyStandIn(workerUrl: () => string): Promise<StandIn> {
  const hits: SurveyHit[] = [];
  const server = await serveOnLoopback((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://stand-in");
      if (url.pathname === "/favicon.ico") {
        res.writeHead(404).end();
        return;
      }
      const hit: SurveyHit = { path: url.pathname, params: Object.fromEntries(url.searchParams) };
      if (url.pathname.endsWith("SV_e2ews") && hit.params.inv) {
        const data = await fetch(`${workerUrl()}/v1/invites/${hit.params.inv}/data`, {
          headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
        });
        if (data.ok) hit.webserviceData = (await data.json()) as Record<string, string>;
      }
      hits.push(hit);
      const shown = hit.webserviceData ?? hit.params;
      const rows = Object.entries(shown)
        .map(
          ([k, v]) =>
            `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v.length > 60 ? `${v.slice(0, 60)}…` : v)}</dd>`,
        )
        .join("");
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Survey stand-in</title>
<style>body{font-family:system-ui,sans-serif;padding:1rem}dt{font-weight:bold}dd{margin:0 0 .5rem;word-break:break-all}</style>
</head><body><h1>Survey stand-in</h1><p id="source">${hit.webserviceData ? "web service data" : "URL parameters"}</p><dl>${rows}</dl></body></html>`);
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  return { ...server, hits };
}

const BRAND = {
  name: "Acme Arena",
  logoUrl:
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#ffd400"/></svg>',
  color: "#ffd400",
  helpUrl: "https://acme.example/help",
};

let standIn: StandIn;
let session: BrowserSession;

beforeAll(async () => {
  standIn = await startSurveyStandIn(() => session.server.url);
  const fields = ["venue", "event", "seat"];
  session = await startBrowserSession(
    {
      e2e: { url: `${standIn.origin}/jfe/form/SV_e2e`, fields, mode: "query" },
      "e2e-ws": { url: `${standIn.origin}/jfe/form/SV_e2ews`, fields, mode: "webservice" },
      "e2e-confirm": { url: `${standIn.origin}/jfe/form/SV_e2econfirm`, fields, confirm: true },
      "e2e-in-app": {
        url: `${standIn.origin}/jfe/form/SV_e2einapp`,
        fields,
        sameDeviceMinutes: 30,
      },
    },
    { BRAND: JSON.stringify(BRAND) },
  );
});

afterAll(async () => {
  await session?.stop();
  await standIn?.close();
});

/** A fresh browser (context) on a phone: its own cookies; `address` is its network's. */
const phone = (userAgent: string = PHONE_UA, address?: string): Promise<Page> =>
  session.phone({ userAgent, address });

interface Link {
  id: string;
  url: string;
}

async function issue(survey: string, embeddedData: Record<string, string | number | boolean>) {
  const res = await fetch(`${session.server.url}/v1/links`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ISSUER_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      survey,
      customerId: "customer-e2e-42",
      transactionId: `e2e-${survey}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      trigger: "ticket_scanned",
      channel: "in_app",
      embeddedData,
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Link;
}

async function linkStatus(id: string) {
  const res = await fetch(`${session.server.url}/v1/links/${id}`, {
    headers: { Authorization: `Bearer ${ISSUER_KEY}` },
  });
  return (await res.json()) as {
    status: string;
    reopens: number;
    blocked: number;
    previews: number;
  };
}

/** Checks `sig` as a third party would, with the service's JWKS. */
const verifySig = (params: Record<string, string>) => verifyLinkSignature(params, session.jwks);

const EMBEDDED = { venue: "Arena North & Co", event: "Finals = 2026 ✓", seat: "B12" };

describe("the customer's path in Chromium", () => {
  let link: Link;
  let tapper: Page;

  it("a tap lands on the survey with the right embedded data, signed", async () => {
    link = await issue("e2e", EMBEDDED);
    tapper = await phone();
    const response = await tapper.goto(link.url);
    expect(response?.status()).toBe(200);
    const redirect = await response?.request().redirectedFrom()?.response();
    expect(redirect?.status()).toBe(302);
    expect(await redirect?.headerValue("cache-control")).toBe("no-store");
    expect(await redirect?.headerValue("referrer-policy")).toBe("no-referrer");

    const landed = new URL(tapper.url());
    expect(landed.origin + landed.pathname).toBe(`${standIn.origin}/jfe/form/SV_e2e`);
    const params = Object.fromEntries(landed.searchParams);
    expect(params).toEqual({
      ...EMBEDDED,
      customer_id: "customer-e2e-42",
      transaction_id: expect.stringMatching(/^e2e-e2e-/),
      trigger: "ticket_scanned",
      inv: link.id,
      sig: expect.any(String),
    });
    const verified = await verifySig(params);
    expect(verified.protectedHeader.kid).toBeTruthy();
    // A tampered value no longer verifies.
    await expect(verifySig({ ...params, seat: "A1" })).rejects.toThrow();
    expect(standIn.hits.at(-1)?.params).toEqual(params);
    await expect(tapper.locator("h1").textContent()).resolves.toBe("Survey stand-in");
    await tapper.screenshot({ path: screenshotPath("1-survey-query-mode") });
    expect((await linkStatus(link.id)).status).toBe("opened");
  });

  it("a second tap in the same browser lands on the survey again", async () => {
    const hitsBefore = standIn.hits.length;
    const response = await tapper.goto(link.url);
    expect(response?.status()).toBe(200);
    expect(new URL(tapper.url()).searchParams.get("inv")).toBe(link.id);
    expect(standIn.hits).toHaveLength(hitsBefore + 1);
    await tapper.screenshot({ path: screenshotPath("2-survey-reopened") });
    expect((await linkStatus(link.id)).reopens).toBe(1);
  });

  it('another browser gets the "already used" page', async () => {
    const hitsBefore = standIn.hits.length;
    const other = await phone();
    const response = await other.goto(link.url);
    expect(response?.status()).toBe(410);
    expect(new URL(other.url()).pathname).toBe(`/s/${link.id}`);
    await expect(other.locator("h1").textContent()).resolves.toContain("already been used");
    expect(await other.content()).not.toContain("customer-e2e-42");
    expect(standIn.hits).toHaveLength(hitsBefore);
    await other.screenshot({ path: screenshotPath("3-already-used") });
    expect((await linkStatus(link.id)).blocked).toBe(1);
  });

  it("a preview bot (headless Chromium's own user agent) gets the preview page and consumes nothing", async () => {
    const previewed = await issue("e2e", EMBEDDED);
    const bot = await phone(await defaultUserAgent());
    const response = await bot.goto(previewed.url);
    expect(response?.status()).toBe(200);
    await expect(bot.locator("h1").textContent()).resolves.toBe("Survey invitation");
    await bot.screenshot({ path: screenshotPath("4-preview") });
    expect(await linkStatus(previewed.id)).toMatchObject({ status: "issued", previews: 1 });
    const customer = await phone();
    await customer.goto(previewed.url);
    expect(new URL(customer.url()).origin).toBe(standIn.origin);
  });

  it("confirm flow: the page, the button, the survey", async () => {
    const confirmLink = await issue("e2e-confirm", EMBEDDED);
    const hitsBefore = standIn.hits.length;
    const page = await phone();
    const response = await page.goto(confirmLink.url);
    expect(response?.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toBe("Share your feedback");
    const button = page.getByRole("button", { name: "Start the survey" });
    await expect(button.isVisible()).resolves.toBe(true);
    await page.screenshot({ path: screenshotPath("5-confirm-page") });
    // Showing the page claimed nothing.
    expect(standIn.hits).toHaveLength(hitsBefore);
    expect((await linkStatus(confirmLink.id)).status).toBe("issued");

    // The form POSTs to /s/<id>, whose 302 goes to the survey: CSP form-action must allow it.
    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (m.text().includes("Content Security Policy")) cspViolations.push(m.text());
    });
    await Promise.all([page.waitForURL(`${standIn.origin}/**`), button.click()]);
    expect(cspViolations).toEqual([]);
    const params = Object.fromEntries(new URL(page.url()).searchParams);
    expect(params).toMatchObject({ ...EMBEDDED, inv: confirmLink.id });
    await verifySig(params);
    await page.screenshot({ path: screenshotPath("6-confirm-survey") });
    expect((await linkStatus(confirmLink.id)).status).toBe("opened");
  });

  it("web-service flow: only inv in the address bar; the data endpoint answers the survey's call", async () => {
    const wsLink = await issue("e2e-ws", EMBEDDED);
    const page = await phone();
    await page.goto(wsLink.url);
    const landed = new URL(page.url());
    expect(landed.pathname).toBe("/jfe/form/SV_e2ews");
    expect(Object.fromEntries(landed.searchParams)).toEqual({ inv: wsLink.id });
    await expect(page.locator("#source").textContent()).resolves.toBe("web service data");
    await page.screenshot({ path: screenshotPath("7-survey-webservice-mode") });

    const expected = {
      ...EMBEDDED,
      customer_id: "customer-e2e-42",
      transaction_id: expect.stringMatching(/^e2e-e2e-ws-/),
      trigger: "ticket_scanned",
      inv: wsLink.id,
    };
    expect(standIn.hits.at(-1)?.webserviceData).toEqual(expected);
    const data = await fetch(`${session.server.url}/v1/invites/${wsLink.id}/data`, {
      headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
    });
    expect(data.status).toBe(200);
    expect(data.headers.get("cache-control")).toBe("no-store");
    expect(await data.json()).toEqual(expected);
    const wrong = await fetch(`${session.server.url}/v1/invites/${wsLink.id}/data`, {
      headers: { "X-Webservice-Secret": "guess" },
    });
    expect(wrong.status).toBe(401);
  });
});

/** Loads `url` in `page`; returns the status and whether the page's CSP blocked anything. */
async function openWatchingPolicy(page: Page, url: string) {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) violations.push(m.text());
  });
  const response = await page.goto(url);
  return { status: response?.status(), violations };
}

describe("the same phone, another browser, in Chromium (sameDeviceMinutes: 30)", () => {
  const { instagramIphone, safariIphone, chromeAndroid } = DEVICE_AGENTS;
  const HOME = "203.0.113.10";
  let link: Link;

  it("an in-app browser opens the link; Safari on the same phone and network re-opens it", async () => {
    link = await issue("e2e-in-app", EMBEDDED);
    const inApp = await phone(instagramIphone, HOME);
    await inApp.goto(link.url);
    expect(new URL(inApp.url()).pathname).toBe("/jfe/form/SV_e2einapp");
    const hitsBefore = standIn.hits.length;

    const safari = await phone(safariIphone, HOME);
    const response = await safari.goto(link.url);
    expect(response?.status()).toBe(200);
    const landed = new URL(safari.url());
    expect(landed.pathname).toBe("/jfe/form/SV_e2einapp");
    expect(Object.fromEntries(landed.searchParams)).toEqual(
      Object.fromEntries(new URL(inApp.url()).searchParams),
    );
    expect(standIn.hits).toHaveLength(hitsBefore + 1);
    await safari.screenshot({ path: screenshotPath("10-same-phone-other-browser") });
    await expect.poll(async () => (await linkStatus(link.id)).reopens).toBe(1);
    const stats = await fetch(`${session.server.url}/v1/stats?survey=e2e-in-app`, {
      headers: { Authorization: "Bearer dev-analyst-key" },
    });
    expect(((await stats.json()) as { totals: object }).totals).toMatchObject({
      opened: 1,
      reopened: 1,
      crossBrowser: 1,
      blocked: 0,
    });
  });

  it("another network, or another platform on the same network, gets the branded 'already used' page", async () => {
    const elsewhere = await phone(safariIphone, "203.0.113.20");
    const refused = await openWatchingPolicy(elsewhere, link.url);
    expect(refused.status).toBe(410);
    await expect(elsewhere.locator("h1").textContent()).resolves.toContain("already been used");
    // The brand is shown, its logo allowed by the page's policy, its help link offered.
    await expect(elsewhere.locator("header.brand").textContent()).resolves.toBe("Acme Arena");
    const logoWidth = await elsewhere
      .locator("header.brand img")
      .evaluate((img) => (img as HTMLImageElement).naturalWidth);
    expect(logoWidth).toBe(40);
    expect(refused.violations).toEqual([]);
    await expect(
      elsewhere.getByRole("link", { name: "Get help" }).getAttribute("href"),
    ).resolves.toBe("https://acme.example/help");
    await elsewhere.screenshot({ path: screenshotPath("11-branded-already-used") });

    const android = await phone(chromeAndroid, HOME);
    expect((await android.goto(link.url))?.status()).toBe(410);
    await expect.poll(async () => (await linkStatus(link.id)).blocked).toBe(2);
  });

  it("after the window, the same phone is refused", async () => {
    // The window runs from the first open: end it now, as 30 minutes would.
    queryLocalD1(
      session.server,
      "DB",
      `UPDATE invites SET device_until = ${Date.now() - 1} WHERE id = '${link.id}'`,
    );
    const late = await phone(safariIphone, HOME);
    expect((await late.goto(link.url))?.status()).toBe(410);
    expect(standIn.hits.filter((hit) => hit.params.inv === link.id)).toHaveLength(2);
  });

  it("with the setting off, the same phone's other browser is refused as today", async () => {
    const single = await issue("e2e", EMBEDDED);
    const inApp = await phone(instagramIphone, "203.0.113.30");
    await inApp.goto(single.url);
    expect(new URL(inApp.url()).origin).toBe(standIn.origin);
    const safari = await phone(safariIphone, "203.0.113.30");
    expect((await safari.goto(single.url))?.status()).toBe(410);
    await expect(safari.locator("h1").textContent()).resolves.toContain("already been used");
  });
});

describe("exact values in Chromium", () => {
  it("reserved characters, emoji, RTL marks and newlines land exactly as issued, spaces as %20, and sig verifies", async () => {
    const page = await phone();
    for (const [name, value] of Object.entries(TRICKY_VALUES)) {
      const link = await issue("e2e", { venue: value, event: name, seat: value });
      const response = await page.goto(link.url);
      expect(response?.status()).toBe(200);
      const redirect = await response?.request().redirectedFrom()?.response();
      const location = (await redirect?.headerValue("location")) ?? "";
      // The browser went exactly where the Location said: nothing re-encoded on the way.
      expect(page.url()).toBe(location);
      const query = new URL(page.url()).search;
      expect(query).toMatch(/^\?[A-Za-z0-9\-._~%=&]*$/);
      const strict = Object.fromEntries(
        query
          .slice(1)
          .split("&")
          .map((pair) => pair.split("=").map(decodeURIComponent) as [string, string]),
      );
      expect(strict).toMatchObject({ venue: value, event: name, seat: value, inv: link.id });
      // What the survey's server decoded (a form decoder, which would turn + into a space).
      expect(standIn.hits.at(-1)?.params).toEqual(strict);
      await verifySig(strict);
    }
    await page.screenshot({ path: screenshotPath("9-survey-exact-values") });
  });
});

describe("preview agents in Chromium", () => {
  it("never claim: a GET and a submitted confirm form get the preview page; the customer then gets the survey", async () => {
    const [bot, scanner, customer] = [await phone(), await phone(), await phone()];
    const botAgent = await bot.context().newCDPSession(bot);
    const scannerAgent = await scanner.context().newCDPSession(scanner);
    for (const [name, ua] of Object.entries(PREVIEW_AGENTS)) {
      const direct = await issue("e2e", EMBEDDED);
      await botAgent.send("Network.setUserAgentOverride", { userAgent: ua });
      const previewed = await bot.goto(direct.url);
      expect(previewed?.status(), name).toBe(200);
      await expect(bot.locator("h1").textContent()).resolves.toBe("Survey invitation");

      // A scanner that renders the confirm page, then submits its form as a preview agent.
      const confirm = await issue("e2e-confirm", EMBEDDED);
      await scannerAgent.send("Network.setUserAgentOverride", { userAgent: PHONE_UA });
      await scanner.goto(confirm.url);
      await scannerAgent.send("Network.setUserAgentOverride", { userAgent: ua });
      const [posted] = await Promise.all([
        scanner.waitForResponse((r) => r.request().method() === "POST"),
        scanner.getByRole("button", { name: "Start the survey" }).click(),
      ]);
      expect(posted.status(), name).toBe(200);
      await expect(scanner.locator("h1").textContent()).resolves.toBe("Survey invitation");
      expect(await linkStatus(direct.id)).toMatchObject({ status: "issued", previews: 1 });
      expect(await linkStatus(confirm.id)).toMatchObject({ status: "issued", previews: 1 });

      await customer.goto(direct.url);
      expect(new URL(customer.url()).origin, name).toBe(standIn.origin);
      await customer.goto(confirm.url);
      await Promise.all([
        customer.waitForURL(`${standIn.origin}/**`),
        customer.getByRole("button", { name: "Start the survey" }).click(),
      ]);
      expect((await linkStatus(confirm.id)).status, name).toBe("opened");
    }
  });
});

/** Headless Chromium's own user agent (contains "HeadlessChrome"). */
async function defaultUserAgent(): Promise<string> {
  const context = await session.browser.newContext();
  const page = await context.newPage();
  const ua = await page.evaluate(() => navigator.userAgent);
  await context.close();
  expect(ua).toContain("HeadlessChrome");
  return ua;
}

describe("rate limit on the tap path under wrangler dev (local Rate Limiting simulation)", () => {
  it("a flood of hundreds of taps per second on one link from one client gets 429 with Retry-After after 10", async () => {
    // Windows are fixed and aligned to the clock, so the 300 taps must fall in one window. A
    // flood that a busy machine spread over two is sent again, on a fresh link from a fresh
    // client address (the limiter counts per address and window).
    const flood = async (ip: string) => {
      const link = await issue("e2e", EMBEDDED);
      const remaining = 10_000 - (Date.now() % 10_000);
      if (remaining < 5_000) await new Promise((r) => setTimeout(r, remaining + 50));
      const window = Math.floor(Date.now() / 10_000);
      const statuses: number[] = [];
      const retryAfter = new Set<string | null>();
      const started = performance.now();
      let sent = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (sent < 300) {
            sent++;
            const res = await fetch(link.url, {
              redirect: "manual",
              headers: { "User-Agent": PHONE_UA, "CF-Connecting-IP": ip },
            });
            statuses.push(res.status);
            if (res.status === 429) retryAfter.add(res.headers.get("retry-after"));
            await res.arrayBuffer();
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.info(
        `wrangler dev tap flood: 300 taps in ${seconds.toFixed(2)} s (${Math.round(300 / seconds)}/s)`,
      );
      const oneWindow = Math.floor(Date.now() / 10_000) === window;
      return { link, ip, statuses, retryAfter, oneWindow };
    };
    let attempt = await flood("203.0.113.99");
    for (let tries = 1; !attempt.oneWindow && tries < 3; tries++) {
      attempt = await flood(`203.0.113.${99 - tries}`);
    }
    const { link: flooded, ip, statuses, retryAfter, oneWindow } = attempt;
    expect(oneWindow, "300 taps within one 10-second window").toBe(true);
    expect(statuses.filter((s) => s === 429)).toHaveLength(290);
    expect(statuses.filter((s) => s === 302)).toHaveLength(1);
    expect(statuses.filter((s) => s === 410)).toHaveLength(9);
    expect([...retryAfter]).toEqual(["10"]);

    // Another client (the browser, from its own address) is not limited.
    const customer = await phone();
    const response = await customer.goto(flooded.url);
    expect(response?.status()).toBe(410);
    await customer.screenshot({ path: screenshotPath("8-used-after-flood") });
    const limited = await fetch(flooded.url, {
      headers: { "User-Agent": PHONE_UA, "CF-Connecting-IP": ip },
    });
    expect(limited.status).toBe(429);
    const html = await limited.text();
    expect(html).toContain("Please wait a moment");
  });
});
