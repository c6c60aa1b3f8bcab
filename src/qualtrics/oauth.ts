/**
 * OAuth 2.0 client credentials for Qualtrics: the token request (Basic auth with the client id
 * and secret, form body) and a cache that refreshes the access token before it expires, so no
 * request carries a dying token, and shares one token request among concurrent callers.
 */
import type { QualtricsOAuthOptions } from "../config/qualtrics";
import { base64 } from "../tokens/ids";

/** The token request (RFC 6749 §4.4). */
export function tokenRequestInit(oauth: QualtricsOAuthOptions): RequestInit {
  const form = new URLSearchParams({ grant_type: "client_credentials", scope: oauth.scope });
  return {
    method: "POST",
    headers: {
      // UTF-8 first (btoa only takes Latin-1), so any client id or secret survives.
      Authorization: `Basic ${base64(new TextEncoder().encode(`${oauth.clientId}:${oauth.clientSecret}`))}`,
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    },
    body: form.toString(),
  };
}

interface AccessTokens {
  /** A token valid for a while yet: the cached one, or a new one. */
  get(): Promise<string>;
  /** Drop the cached token (Qualtrics refused it) so the next `get` fetches another. */
  forget(): void;
}

export function createAccessTokens(
  fetchToken: () => Promise<{ access_token: string; expires_in: number }>,
  now: () => number,
): AccessTokens {
  let token: { value: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function refresh(): Promise<string> {
    const value = await fetchToken();
    const lifetimeMs = value.expires_in * 1000;
    // Refresh a minute early, or at half-life for short tokens.
    const margin = Math.min(60_000, lifetimeMs / 2);
    token = { value: value.access_token, refreshAt: now() + lifetimeMs - margin };
    return value.access_token;
  }

  return {
    async get() {
      if (token && now() < token.refreshAt) return token.value;
      pending ??= refresh().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    forget() {
      token = undefined;
    },
  };
}
