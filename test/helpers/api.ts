/** Test helpers: call the worker over HTTP the way clients do. */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { type CompactVerifyResult, createLocalJWKSet, type JSONWebKeySet } from "jose";
import type { Env } from "../../src/config/env";
import worker from "../../src/index";
import { verifyLinkSignature } from "../fixtures/link-signature";

export const ORIGIN = "https://invite-edge.test";
export const ISSUER_KEY = "dev-issuer-key";
export const ANALYST_KEY = "dev-analyst-key";
export const ADMIN_KEY = "dev-admin-key";

/**
 * A development secret of the test env (wrangler.toml's [vars]). The generated types call it
 * optional, since production sets it with `wrangler secret put`; the tests always have it.
 */
function devSecret(name: "COOKIE_SECRET" | "WEBSERVICE_SECRET"): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is missing from wrangler.toml's [vars]`);
  return value;
}
export const COOKIE_SECRET = devSecret("COOKIE_SECRET");
export const WEBSERVICE_SECRET = devSecret("WEBSERVICE_SECRET");
export const PHONE_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

let counter = 0;
/** A transaction id unique within the test run. */
export const uniqueTxn = (prefix = "txn") =>
  `${prefix}-${Date.now()}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export type ApiInit = RequestInit & { key?: string | null; json?: unknown };

/** An API request: `key` (default `defaultKey`, null for none) as bearer, `json` as the body. */
export function apiRequest(path: string, init: ApiInit = {}, defaultKey = ISSUER_KEY): Request {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? defaultKey : init.key;
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  return new Request(`${ORIGIN}${path}`, { ...init, headers, body, redirect: "manual" });
}

export function api(path: string, init: ApiInit = {}) {
  return SELF.fetch(apiRequest(path, init));
}

/**
 * Calls the Worker's fetch handler directly with `workerEnv` (a wrapped store, other settings) and
 * waits for its `waitUntil` work. Direct calls also stay fast over thousands of requests, where
 * `SELF.fetch` slows down per request.
 */
export async function fetchWorker(request: Request, workerEnv: Env = env): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    workerEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

export interface IssuedLink {
  id: string;
  url: string;
  expiresAt: string;
  survey: string;
  status: string;
}

export function linkRequest(overrides: Record<string, unknown> = {}) {
  return {
    survey: "demo",
    customerId: "customer-42",
    transactionId: uniqueTxn(),
    trigger: "ticket_scanned",
    embeddedData: { venue: "Arena North", event: "Finals", seat: "B12" },
    channel: "in_app",
    ...overrides,
  };
}

export async function issue(overrides: Record<string, unknown> = {}): Promise<IssuedLink> {
  const res = await api("/v1/links", { method: "POST", json: linkRequest(overrides) });
  if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${await res.text()}`);
  return res.json();
}

export function tap(
  id: string,
  init: RequestInit & { ua?: string; cookie?: string; ip?: string } = {},
) {
  const headers = new Headers(init.headers);
  headers.set("User-Agent", init.ua ?? PHONE_UA);
  if (init.cookie) headers.set("Cookie", init.cookie);
  // A fresh client address per tap unless a test says otherwise, so the per-IP rate limit only
  // applies where a test means it to.
  headers.set("CF-Connecting-IP", init.ip ?? randomIp());
  return SELF.fetch(`${ORIGIN}/s/${id}`, { ...init, headers, redirect: "manual" });
}

/** The `name=value` part of a Set-Cookie header, as a browser would send it back. */
export function cookieFrom(res: Response): string {
  const setCookie = res.headers.get("Set-Cookie") ?? "";
  return setCookie.split(";")[0] ?? "";
}

export function randomIp(): string {
  const hex = () => Math.floor(Math.random() * 0x10000).toString(16);
  return `2001:db8:${hex()}:${hex()}::${hex()}`;
}

/** Retries `check` until it stops throwing: for writes the worker finishes in `waitUntil`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

export interface LinkStatusBody {
  status: string;
  openedAt: string | null;
  revokedAt: string | null;
  reopens: number;
  blocked: number;
  previews: number;
}

export async function linkStatus(id: string): Promise<LinkStatusBody> {
  const res = await api(`/v1/links/${id}`);
  if (res.status !== 200) throw new Error(`status failed: ${res.status}`);
  return res.json();
}

/** The service's public keys, from its /.well-known/jwks.json, as a key set jose verifies with. */
async function serviceJwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
  const keys = (await (
    await SELF.fetch(`${ORIGIN}/.well-known/jwks.json`)
  ).json()) as JSONWebKeySet;
  return createLocalJWKSet(keys);
}

/**
 * Checks a survey link's `sig` over `values` the way a third party would: the documented recipe
 * (test/fixtures/link-signature.ts) with the service's public JWKS. Rejects when it does not verify.
 */
export async function verifyServiceSignature(
  values: Record<string, string>,
): Promise<CompactVerifyResult> {
  return verifyLinkSignature(values, await serviceJwks());
}
