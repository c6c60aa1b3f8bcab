/**
 * The cookie that lets the browser that claimed a link re-open it. Its value is an HMAC of the
 * invite id, so it is bound to that id: a cookie for another link, or a forged one, re-opens
 * nothing. Path-scoped to `/s/<id>` so each link's cookie only travels with that link.
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

export async function claimCookieHeader(
  secret: string,
  id: string,
  expiresAt: number,
  now: number,
) {
  const maxAge = Math.max(0, Math.floor((expiresAt - now) / 1000));
  const value = await cookieValue(secret, id);
  return `${CLAIM_COOKIE}=${value}; Max-Age=${maxAge}; Path=/s/${id}; HttpOnly; Secure; SameSite=Lax`;
}

/** True when the request carries a valid claim cookie for this id. */
export async function hasClaimCookie(secret: string, id: string, cookieHeader: string | undefined) {
  if (!cookieHeader?.includes(CLAIM_COOKIE)) return false;
  const expected = encoder.encode(await cookieValue(secret, id));
  let valid = false;
  for (const part of cookieHeader.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CLAIM_COOKIE && timingSafeEqual(encoder.encode(rest.join("=")), expected))
      valid = true;
  }
  return valid;
}
