/**
 * The tap's cookies in plain Node: the claim cookie is bound to one link's id and found among any
 * other cookies a browser sends (several of the same name included), and the retry nonce is read
 * only in its exact shape; every cookie is `Secure` but in development over non-loopback http.
 * (Over HTTP: test/tap.test.ts, test/security/faults.test.ts.)
 */
import { describe, expect, it } from "vitest";
import {
  claimCookieHeader,
  cookiesSecure,
  hasClaimCookie,
  newClaimNonce,
  retryCookieHeader,
  retryNonce,
} from "../../src/tap/claim-cookie";

const SECRET = "unit-test-cookie-secret-long-enough";
const ID = "AAc11cUpE6JTu4hDsIWxl_Xg";

/** The `name=value` pair of a Set-Cookie header, as the browser sends it back. */
const pair = (header: string) => header.split(";")[0] ?? "";

describe("the claim cookie", () => {
  it("lasts until the link expires, for the link's path only", async () => {
    const now = Date.UTC(2026, 10, 30);
    const header = await claimCookieHeader(SECRET, ID, now + 90_500, now, true);
    expect(header).toMatch(/^ie_claim=[A-Za-z0-9_-]{43}; Max-Age=90; /);
    expect(header).toContain(`Path=/s/${ID}; HttpOnly; Secure; SameSite=Lax`);
    expect(await claimCookieHeader(SECRET, ID, now - 1, now, true)).toContain("Max-Age=0;");
  });

  it("is found among other cookies, in any position, beside forged ones of the same name", async () => {
    const claim = pair(await claimCookieHeader(SECRET, ID, 2, 1, true));
    for (const header of [
      claim,
      `theme=dark; ${claim}`,
      `${claim}; theme=dark`,
      `ie_claim=forged; ${claim}`,
      `${claim}; ie_claim=${"A".repeat(43)}`,
      ` ${claim} `,
    ]) {
      expect(await hasClaimCookie(SECRET, ID, header), header).toBe(true);
    }
  });

  it("re-opens nothing when absent, forged, for another link, under another name or secret", async () => {
    const claim = pair(await claimCookieHeader(SECRET, ID, 2, 1, true));
    const value = claim.slice("ie_claim=".length);
    const other = pair(await claimCookieHeader(SECRET, `${ID.slice(0, -1)}A`, 2, 1, true));
    for (const header of [
      undefined,
      "",
      "theme=dark",
      "ie_claim=",
      "ie_claim=forged",
      other,
      `xie_claim=${value}`,
      `ie_claim_old=${value}`,
      `ie_retry=${value}`,
      `ie_claim=${value}x`,
    ]) {
      expect(await hasClaimCookie(SECRET, ID, header), String(header)).toBe(false);
    }
    expect(await hasClaimCookie("another-secret-long-enough", ID, claim)).toBe(false);
  });
});

describe("the retry nonce", () => {
  it("is read back from its own cookie, and only in its exact shape", () => {
    const nonce = newClaimNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(newClaimNonce()).not.toBe(nonce);
    const cookie = pair(retryCookieHeader(ID, nonce, true));
    expect(retryNonce(cookie)).toBe(nonce);
    expect(retryNonce(`theme=dark; ${cookie}`)).toBe(nonce);
    expect(retryNonce(`ie_retry=short; ${cookie}`)).toBe(nonce);
    for (const header of [
      undefined,
      "ie_retry=",
      "ie_retry=short",
      `ie_retry=${nonce}x`,
      `ie_retry=${nonce.slice(0, 21)}+`,
      `ie_claim=${nonce}`,
    ]) {
      expect(retryNonce(header), String(header)).toBeNull();
    }
  });
});

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

  it("leaves Secure out of the attributes when it is false", async () => {
    const header = await claimCookieHeader(SECRET, ID, 2, 1, false);
    expect(header).toContain(`Path=/s/${ID}; HttpOnly; SameSite=Lax`);
    expect(header).not.toContain("Secure");
  });
});
