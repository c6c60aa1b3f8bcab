/**
 * How every request reaches Qualtrics: authentication (API token, or OAuth with a token refreshed
 * before it expires and once more on a 401), a slot from the pacer (call budget, per-minute pace),
 * a deadline, and retries with backoff.
 *
 * Invariants: `calls` counts every request sent and never exceeds `maxCalls`; only 429, 5xx,
 * network errors and timeouts are retried, after Retry-After when Qualtrics gives one, else after
 * exponential backoff with full jitter. A request marked not idempotent is repeated only after a
 * 429, which Qualtrics answers without doing the work; its other failures are thrown with
 * `ambiguous: true`, since repeating it could apply it twice.
 */
import type { z } from "zod";
import type { QualtricsOAuthOptions } from "../config/qualtrics";
import { finalError, QualtricsError } from "./errors";
import { type Attempt, exchange, type Reply, readReply, transportError } from "./http";
import { createAccessTokens, tokenRequestInit } from "./oauth";
import { createPacer } from "./pacing";
import { tokenSchema } from "./replies";

/** Qualtrics' brand-wide limit, shared with every other integration of the brand. */
const BRAND_CALLS_PER_MINUTE = 3000;

export interface QualtricsClientOptions {
  /** e.g. `https://iad1.qualtrics.com/API/v3` */
  baseUrl: string;
  apiToken?: string;
  oauth?: QualtricsOAuthOptions;
  /** Requests this client may send in total (one reconcile run). Default: unlimited. */
  maxCalls?: number;
  /** Pace sends under this many per rolling minute. Default 3000 (the brand limit). */
  maxCallsPerMinute?: number;
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** Backoff base: attempt n waits up to baseDelayMs·2ⁿ. Default 500. */
  baseDelayMs?: number;
  /** Cap on one backoff wait. Default 30,000. */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited out: the error is thrown. Default 60,000. */
  maxRetryAfterMs?: number;
  /** Per-request timeout, body included. Default 30,000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

interface RequestSpec<S extends z.ZodType> {
  method: "GET" | "POST" | "PUT";
  /** Below `baseUrl`, segments already encoded. */
  path: string;
  body?: unknown;
  schema: S;
  /** False for a call that must not be repeated when its outcome is unknown. Default true. */
  idempotent?: boolean;
}

interface Transport {
  /** Requests sent so far (retries and OAuth token requests included). */
  readonly calls: number;
  request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>>;
}

/** One call as the retry loop sees it: how to send it once and how to read its answer. */
interface Call<T> {
  method: string;
  path: string;
  send: () => Promise<Reply>;
  read: (reply: Reply) => Attempt<T>;
  idempotent: boolean;
  /** After a 401: true when fresh credentials are worth one more attempt. */
  onUnauthorized?: () => boolean;
}

export function createTransport(options: QualtricsClientOptions): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const retries = options.retries ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Bound to globalThis: Workers throw "Illegal invocation" for an unbound fetch.
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const pacer = createPacer({
    maxCalls: options.maxCalls ?? Number.POSITIVE_INFINITY,
    maxCallsPerMinute: options.maxCallsPerMinute ?? BRAND_CALLS_PER_MINUTE,
    sleep,
    now,
  });
  const oauth = options.apiToken ? undefined : options.oauth;
  const tokens = oauth ? createAccessTokens(() => fetchToken(oauth), now) : undefined;

  function backoffMs(retryIndex: number): number {
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retryIndex);
    return Math.floor(random() * ceiling); // full jitter
  }

  /** Send until an answer is good or an error is final; the last error carries the attempts. */
  async function withRetries<T>(call: Call<T>): Promise<T> {
    let attempts = 0;
    let refreshedToken = false;
    for (;;) {
      attempts += 1;
      let outcome: Attempt<T>;
      try {
        outcome = call.read(await call.send());
      } catch (err) {
        if (err instanceof QualtricsError) throw err;
        outcome = { ok: false, error: transportError(err, call.method, call.path, timeoutMs) };
      }
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      // An OAuth token can be revoked or expire early: fetch a fresh one once, then give up.
      if (error.status === 401 && !refreshedToken && call.onUnauthorized?.()) {
        refreshedToken = true;
        continue;
      }
      // A 429 was refused before any work; anything else may have been done: never repeat it.
      if (!call.idempotent && error.retryable && error.status !== 429) {
        throw finalError(error, attempts, { ambiguous: true });
      }
      const retriesUsed = attempts - 1;
      if (
        !error.retryable ||
        retriesUsed >= retries ||
        (error.retryAfterMs ?? 0) > maxRetryAfterMs
      ) {
        throw finalError(error, attempts, { exhausted: retriesUsed >= retries && error.retryable });
      }
      await sleep(error.retryAfterMs ?? backoffMs(retriesUsed));
    }
  }

  function fetchToken(oauth: QualtricsOAuthOptions) {
    const path = new URL(oauth.tokenUrl).pathname;
    const init = tokenRequestInit(oauth);
    return withRetries({
      method: "POST",
      path,
      send: async () => {
        await pacer.takeSlot();
        return exchange(doFetch, oauth.tokenUrl, init, timeoutMs);
      },
      read: (reply) => readReply(tokenSchema, reply, "POST", path, now),
      idempotent: true,
    });
  }

  async function authHeaders(): Promise<Record<string, string>> {
    if (options.apiToken) return { "X-API-TOKEN": options.apiToken };
    if (!tokens) throw new TypeError("unreachable: no OAuth configuration");
    return { Authorization: `Bearer ${await tokens.get()}` };
  }

  return {
    get calls() {
      return pacer.calls;
    },

    request(spec) {
      const url = `${baseUrl}${spec.path}`;
      const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
      return withRetries({
        method: spec.method,
        path: spec.path,
        send: async () => {
          const auth = await authHeaders();
          await pacer.takeSlot();
          const headers: Record<string, string> = { Accept: "application/json", ...auth };
          if (body !== undefined) headers["Content-Type"] = "application/json";
          const init: RequestInit = { method: spec.method, headers };
          if (body !== undefined) init.body = body;
          return exchange(doFetch, url, init, timeoutMs);
        },
        read: (reply) => readReply(spec.schema, reply, spec.method, spec.path, now),
        idempotent: spec.idempotent ?? true,
        onUnauthorized: () => {
          if (!tokens) return false;
          tokens.forget();
          return true;
        },
      });
    },
  };
}
