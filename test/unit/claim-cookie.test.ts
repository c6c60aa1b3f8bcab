/** When the tap's cookies are `Secure`: always, except in development over non-loopback http. */
import { describe, expect, it } from "vitest";
import { cookiesSecure } from "../../src/tap/claim-cookie";

describe("cookiesSecure", () => {
  it.each([
    ["production", "http://192.168.1.10:8787/s/x", true],
    ["production", "https://links.example.com/s/x", true],
    ["development", "https://links.example.com/s/x", true],
    ["development", "http://localhost:8787/s/x", true],
    ["development", "http://127.0.0.1:8787/s/x", true],
    ["development", "http://[::1]:8787/s/x", true],
    ["development", "http://192.168.1.10:8787/s/x", false],
    ["development", "http://laptop.local:8787/s/x", false],
  ] as const)("%s, %s → %s", (environment, url, secure) => {
    expect(cookiesSecure(environment, url)).toBe(secure);
  });
});
