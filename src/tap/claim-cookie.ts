/**
 * The cookie that lets the browser that claimed a link re-open it. Its value is an HMAC of the
 * invite id, so it is bound to that id: a cookie for another link, or a forged one, re-opens
 * nothing. Path-scoped to `/s/<id>` so each link's cookie only travels with that link.
 * Every cookie here is `Secure`, except in development over plain http from a host that is not
 * loopback (a phone on the local network): browsers drop a `Secure` cookie set over http there,
 * and the link could not be re-opened. `cookiesSecure` decides.
 */
import { timingSafeEqual } from "../http/auth";
import { base64url } from "../tokens/ids";

const CLAIM_COOKIE = "ie_claim";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    keys.set(secret, key);
  }
  return key;
}

async function cookieValue(secret: string, id: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    encoder.encode(`claim:${id}`),
  );
  return base64url(mac);
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether this request's cookies are `Secure`: always, but development over non-loopback http. */
export function cookiesSecure(environment: "development" | "production", url: string): boolean {
  if (environment !== "development") return true;
  const { protocol, hostname } = new URL(url);
  return protocol === "https:" || LOOPBACK.has(hostname);
}

/** The attributes every cookie of a link carries. */
const attributes = (id: string, secure: boolean) =>
  `Path=/s/${id}; HttpOnly;${secure ? " Secure;" : ""} SameSite=Lax`;

export async function claimCookieHeader(
  secret: string,
  id: string,
  expiresAt: number,
  now: number,
  secure: boolean,
) {
  const maxAge = Math.max(0, Math.floor((expiresAt - now) / 1000));
  const value = await cookieValue(secret, id);
  return `${CLAIM_COOKIE}=${value}; Max-Age=${maxAge}; ${attributes(id, secure)}`;
}

/** The values of every cookie called `name` in a Cookie header (a browser may send several). */
function cookieValues(cookieHeader: string | undefined, name: string): string[] {
  if (!cookieHeader?.includes(name)) return [];
  return cookieHeader.split(";").flatMap((part) => {
    const [key, ...rest] = part.trim().split("=");
    return key === name ? [rest.join("=")] : [];
  });
}

/** True when the request carries a valid claim cookie for this id. */
export async function hasClaimCookie(secret: string, id: string, cookieHeader: string | undefined) {
  const values = cookieValues(cookieHeader, CLAIM_COOKIE);
  if (values.length === 0) return false;
  const expected = encoder.encode(await cookieValue(secret, id));
  let valid = false;
  // Every candidate is compared, in constant time each.
  for (const value of values) if (timingSafeEqual(encoder.encode(value), expected)) valid = true;
  return valid;
}

// ---- lost replies -----------------------------------------------------------------------------

/**
 * The nonce a tap claims with. When the claim fails without an answer, the "please try again"
 * page leaves it in a cookie; the retry claims with the same nonce, so if the lost claim did
 * commit, the ledger recognises this browser as the one that claimed (and nobody else).
 */
const RETRY_COOKIE = "ie_retry";
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** Long enough for any retry; the ledger decides what the nonce is worth. */
const RETRY_MAX_AGE_SECONDS = 86_400;

export const newClaimNonce = (): string => base64url(crypto.getRandomValues(new Uint8Array(16)));

/** The nonce of an earlier attempt from this browser, if it carries one. */
export const retryNonce = (cookieHeader: string | undefined): string | null =>
  cookieValues(cookieHeader, RETRY_COOKIE).find((value) => NONCE_PATTERN.test(value)) ?? null;

/** Keeps the nonce of a claim whose outcome is unknown, for this link's path only. */
export const retryCookieHeader = (id: string, nonce: string, secure: boolean): string =>
  `${RETRY_COOKIE}=${nonce}; Max-Age=${RETRY_MAX_AGE_SECONDS}; ${attributes(id, secure)}`;

/** Drops the nonce once the claim is settled. */
export const clearRetryCookieHeader = (id: string, secure: boolean): string =>
  `${RETRY_COOKIE}=; Max-Age=0; ${attributes(id, secure)}`;
