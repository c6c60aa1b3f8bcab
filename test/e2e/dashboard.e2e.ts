/**
 * The analyst dashboard in a real browser: issue and tap links over HTTP, open /dashboard, enter
 * the dev analyst key, and read the chart, the table and the CSV download. Screenshots go to
 * test-output/.
 */
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DevServer,
  launchChromium,
  PHONE_UA,
  screenshotPath,
  startDevServer,
} from "./harness";

let server: DevServer;
let browser: Browser;

const ISSUED = 5;
const OPENED = 3;

async function issueAndTap(): Promise<void> {
  for (let i = 0; i < ISSUED; i++) {
    const res = await fetch(`${server.url}/v1/links`, {
      method: "POST",
      headers: { Authorization: "Bearer dev-issuer-key", "Content-Type": "application/json" },
      body: JSON.stringify({
        survey: i < 3 ? "demo" : "demo-ws",
        customerId: `c-${i}`,
        transactionId: `dash-${Date.now()}-${i}`,
        trigger: "ticket_scanned",
        channel: "in_app",
      }),
    });
    expect(res.status).toBe(201);
    const link = (await res.json()) as { url: string };
    if (i < OPENED) {
      const tap = await fetch(link.url, {
        redirect: "manual",
        headers: { "User-Agent": PHONE_UA },
      });
      expect(tap.status).toBe(302);
    }
  }
}

/** Fails the test on any script error or Content-Security-Policy violation in the page. */
function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return errors;
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`${server.url}/dashboard`);
  await page.getByLabel("Analyst API key").fill("dev-analyst-key");
  await page.getByRole("button", { name: "Show stats" }).click();
  await page.locator("#table tfoot").waitFor();
}

beforeAll(async () => {
  server = await startDevServer({ RATE_LIMITS: "off" });
  browser = await launchChromium();
  await issueAndTap();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("analyst dashboard", () => {
  it("shows the chart and the table after the analyst key is entered", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchForErrors(page);
    await signIn(page);

    const chart = page.locator("#chart svg.chart");
    await expect(chart.getAttribute("role")).resolves.toBe("img");
    await expect(chart.locator("polyline").count()).resolves.toBe(3);
    const total = page.locator("#table tfoot tr");
    await expect(total.locator("th").textContent()).resolves.toBe("Total");
    const cells = await total.locator("td").allTextContents();
    // Issued, then suppressed (the contact rules: none here), then opened.
    expect(cells.slice(0, 3)).toEqual([String(ISSUED), "0", String(OPENED)]);
    expect(await page.locator("#table tbody tr").count()).toBe(30);
    await expect(page.locator("#status").textContent()).resolves.toContain(
      `${ISSUED} issued (0 suppressed), ${OPENED} opened`,
    );
    // The key lives in this tab's sessionStorage only.
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem("invite-edge.analystKey"),
      local: localStorage.length,
    }));
    expect(stored).toEqual({ session: "dev-analyst-key", local: 0 });
    await page.screenshot({ path: screenshotPath("dashboard-desktop"), fullPage: true });

    // Group by survey; the CSV download is the same table.
    await page.getByLabel("Group table by").selectOption("survey");
    await page.getByRole("button", { name: "Update" }).click();
    await page.locator("#table thead th", { hasText: "Survey" }).waitFor();
    const surveys = await page.locator("#table tbody th").allTextContents();
    expect(surveys).toEqual(["demo", "demo-ws"]);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(
      /^invite-stats-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/,
    );
    const csv = readFileSync(await download.path(), "utf8")
      .trim()
      .split("\r\n");
    expect(csv[0]).toMatch(/^survey,issued,opened,/);
    expect(csv[1]).toMatch(/^demo,3,3,/);
    expect(csv[2]).toMatch(/^demo-ws,2,0,/);
    expect(csv[3]).toMatch(new RegExp(`^\\(total\\),${ISSUED},${OPENED},`));
    expect(errors).toEqual([]);
    await context.close();
  });

  it("refuses a key without stats:read at sign-in and keeps nothing", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = watchForErrors(page);
    const stored = () => page.evaluate(() => sessionStorage.getItem("invite-edge.analystKey"));
    await page.goto(`${server.url}/dashboard`);
    for (const [key, message] of [
      ["dev-issuer-key", "lacks the stats:read scope"],
      ["not-a-key", "not accepted"],
    ] as const) {
      await page.getByLabel("Analyst API key").fill(key);
      await page.getByRole("button", { name: "Show stats" }).click();
      await page.getByRole("alert").filter({ hasText: message }).first().waitFor();
      expect(await stored()).toBeNull();
      await expect(page.locator("#stats").isVisible()).resolves.toBe(false);
      await expect(page.locator("#sign-in").isVisible()).resolves.toBe(true);
    }
    await page.screenshot({ path: screenshotPath("dashboard-key-refused") });
    // Nothing was kept: a reload asks for a key again.
    await page.reload();
    await expect(page.locator("#sign-in").isVisible()).resolves.toBe(true);
    expect(await stored()).toBeNull();
    // The browser logs the refused check requests (401, 403); nothing else may be logged.
    expect(errors.filter((e) => !/\b40[13]\b/.test(e))).toEqual([]);
    await context.close();
  });

  it("is readable on a phone and asks again for a wrong key", async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      userAgent: PHONE_UA,
    });
    const page = await context.newPage();
    const errors = watchForErrors(page);
    await page.goto(`${server.url}/dashboard`);
    await page.getByLabel("Analyst API key").fill("not-a-key");
    await page.getByRole("button", { name: "Show stats" }).click();
    // The alert fills in once the 401 comes back: wait for the text, don't read it at once.
    await page.getByRole("alert").filter({ hasText: "not accepted" }).first().waitFor();
    await signIn(page);
    // Nothing overflows the page sideways: the table scrolls inside its own region.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    const chartWidth = await page.locator("#chart svg").evaluate((svg) => svg.clientWidth);
    expect(chartWidth).toBeGreaterThan(250);
    await page.screenshot({ path: screenshotPath("dashboard-phone"), fullPage: true });
    // The 401 in the wrong-key attempt is logged by the browser; nothing else may be.
    expect(errors.filter((e) => !e.includes("401"))).toEqual([]);
    await context.close();
  });
});
