import type { Browser } from "playwright-core";
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

beforeAll(async () => {
  server = await startDevServer({ RATE_LIMITS: "off" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("e2e harness", () => {
  it("serves the worker and a second browser context is refused", async () => {
    const res = await fetch(`${server.url}/v1/links`, {
      method: "POST",
      headers: { Authorization: "Bearer dev-issuer-key", "Content-Type": "application/json" },
      body: JSON.stringify({
        survey: "demo",
        customerId: "c-1",
        transactionId: `t-${Date.now()}`,
        trigger: "ticket_scanned",
      }),
    });
    expect(res.status).toBe(201);
    const link = (await res.json()) as { url: string };
    const other = await browser.newContext({ userAgent: PHONE_UA });
    const first = await fetch(link.url, {
      redirect: "manual",
      headers: { "User-Agent": PHONE_UA },
    });
    expect(first.status).toBe(302);
    const page = await other.newPage();
    const response = await page.goto(link.url);
    expect(response?.status()).toBe(410);
    await expect(page.locator("h1").textContent()).resolves.toContain("already been used");
    await page.screenshot({ path: screenshotPath("harness-used") });
    await other.close();
  });
});
