/**
 * What the customer-path browser tests share: a loopback page that stands in for the Qualtrics
 * survey, and a session of `wrangler dev` (its surveys pointed at the stand-in through an explicit
 * ALLOWED_SURVEY_HOSTS entry), Chromium with phones in it, and the service's public keys for
 * checking `sig` as a third party would. `stop()` ends everything the session started.
 */
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { createLocalJWKSet, type JSONWebKeySet } from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type DevServer, launchChromium, PHONE_UA, startDevServer } from "./harness";

export interface LoopbackServer {
  origin: string;
  close(): Promise<void>;
}

/** An HTTP server on a free loopback port. */
export async function serveOnLoopback(handler: RequestListener): Promise<LoopbackServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface BrowserSession {
  server: DevServer;
  browser: Browser;
  jwks: ReturnType<typeof createLocalJWKSet>;
  /**
   * A fresh browser context (its own cookies) on a phone; `address` is the client address the
   * Worker sees (`CF-Connecting-IP`, which `wrangler dev` takes from the request as sent).
   */
  phone(options?: { userAgent?: string; locale?: string; address?: string }): Promise<Page>;
  stop(): Promise<void>;
}

/**
 * `wrangler dev` serving `surveys` (whose URLs point at the loopback stand-in) and any other
 * `vars`, and Chromium.
 */
export async function startBrowserSession(
  surveys: Record<string, unknown>,
  vars: Record<string, string> = {},
): Promise<BrowserSession> {
  const server = await startDevServer({
    SURVEYS: JSON.stringify(surveys),
    ALLOWED_SURVEY_HOSTS: "127.0.0.1",
    ...vars,
  });
  const browser = await launchChromium().catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  const keys = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const contexts: BrowserContext[] = [];
  return {
    server,
    browser,
    jwks: createLocalJWKSet(keys),
    async phone({ userAgent = PHONE_UA, locale = "en-US", address } = {}) {
      const context = await browser.newContext({
        userAgent,
        locale,
        ...(address ? { extraHTTPHeaders: { "CF-Connecting-IP": address } } : {}),
        viewport: { width: 412, height: 860 },
        deviceScaleFactor: 1,
        isMobile: true,
        hasTouch: true,
      });
      contexts.push(context);
      return context.newPage();
    },
    async stop() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await server.stop();
    },
  };
}
