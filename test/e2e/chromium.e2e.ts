/**
 * The browser tests run on a machine with only Node and npm: without a system Chromium the
 * harness falls back to the Chromium inside the npm package @sparticuz/chromium. This file proves
 * the fallback even where a system Chromium exists, by pointing the lookup at a missing path.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, launchChromium } from "./chromium";

let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end('<!doctype html><title>probe</title><h1 id="h">rendered by <span>Chromium</span></h1>');
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => server?.close(done));
});

describe("which Chromium the browser tests use", () => {
  it("CHROMIUM_PATH wins, then the system's, then the npm package's", async () => {
    expect(await findChromium("/opt/my/chrome", "/usr/bin/true")).toMatchObject({
      executablePath: "/opt/my/chrome",
      source: "CHROMIUM_PATH",
    });
    expect(await findChromium(undefined, "/usr/bin/true")).toMatchObject({
      executablePath: "/usr/bin/true",
      source: "system",
    });
    const packaged = await findChromium(undefined, "/nonexistent/chromium");
    expect(packaged.source).toBe("@sparticuz/chromium");
    expect(existsSync(packaged.executablePath)).toBe(true);
    expect(await findChromium("packaged", "/usr/bin/true")).toEqual(packaged);
  });

  it("the packaged Chromium launches and renders a page, with web security on", async () => {
    const binary = await findChromium(undefined, "/nonexistent/chromium");
    expect(binary.args).not.toContain("--disable-web-security");
    const browser = await launchChromium(binary);
    try {
      const page = await browser.newPage();
      await page.goto(origin);
      expect(await page.locator("#h").textContent()).toBe("rendered by Chromium");
      // Same-origin policy holds: a cross-origin frame's document is not readable.
      const crossOrigin = await page.evaluate(
        async (url) => {
          const frame = document.createElement("iframe");
          frame.src = url;
          await new Promise((done) => {
            frame.onload = done;
            document.body.append(frame);
          });
          try {
            return frame.contentDocument === null ? "blocked" : "readable";
          } catch {
            return "blocked";
          }
        },
        origin.replace("127.0.0.1", "localhost"),
      );
      expect(crossOrigin).toBe("blocked");
    } finally {
      await browser.close();
    }
  });
});
