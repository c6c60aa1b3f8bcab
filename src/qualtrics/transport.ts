/**
 * How every request reaches Qualtrics: authentication (API token, or OAuth with a token refreshed
 * before it expires and once more on a 401), a slot from the pacer (call budget, the brand's pace,
 * the endpoint's own limit, Retry-After), a deadline, and retries with backoff.
 *
 * Invariants: `calls` counts every request sent and never exceeds `maxCalls`; only 429, 5xx,
 * network errors and timeouts are retried, after Retry-After when Qualtrics gives one (the whole
 * endpoint waits it out, not only this call), else after exponential backoff with full jitter. A
 * request marked not idempotent is repeated only after a 429, which Qualtrics answers without
 * doing the work; its other failures, and a 2xx whose body cannot be read, are thrown with
 * `ambiguous: true`, since Qualtrics may have done it and repeating it could do it twice.
 */
import type { z } from "zod";
import type { QualtricsOAuthOptions } from "../config/qualtrics";
import { finalError, type QualtricsError } from "./errors";
import {
  type Attempt,
  type ChunkReader,
  exchange,
  exchangeStreaming,
  httpError,
  type Reply,
  readReply,
  StreamFailure,
  transportError,
} from "./http";
import { createAccessTokens, tokenRequestInit } from "./oauth";
import { createPacer, ENDPOINT_CALLS_PER_MINUTE, type QualtricsEndpoint } from "./pacing";
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
  /** Each endpoint's own pace per rolling minute. Default `ENDPOINT_CALLS_PER_MINUTE`. */
  endpointCallsPerMinute?: Partial<Record<QualtricsEndpoint, number>>;
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
  endpoint: QualtricsEndpoint;
  method: "GET" | "POST" | "PUT";
  /** Below `baseUrl`, segments already encoded. */
  path: string;
  body?: unknown;
  schema: S;
  /** False for a call that must not be repeated when its outcome is unknown. Default true. */
  idempotent?: boolean;
}

interface StreamSpec {
  endpoint: QualtricsEndpoint;
  path: string;
}

interface Transport {
  /** Requests sent so far (retries and OAuth token requests included). */
  readonly calls: number;
  request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>>;
  /**
   * A GET whose 2xx body goes to `consume` chunk by chunk. A body that breaks off midway is
   * fetched again from its start (the call is idempotent, so `consume` must be too).
   */
  requestStream<T>(spec: StreamSpec, consume: (read: ChunkReader) => Promise<T>): Promise<T>;
  /**
   * The path below the base URL of a URL Qualtrics gave (`nextPage`), sent to the base URL's
   * host; null when it leads anywhere but Qualtrics' API, where credentials must never go.
   */
  pathOf(url: string): string | null;
}

/** One call as the retry loop sees it: how to try it once. */
interface Call<T> {
  endpoint: QualtricsEndpoint;
  /** One attempt; throws only what must not be retried (budget, a refused token request). */
  attempt: () => Promise<Attempt<T>>;
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
    endpointCallsPerMinute: { ...ENDPOINT_CALLS_PER_MINUTE, ...options.endpointCallsPerMinute },
    maxWaitMs: maxRetryAfterMs,
    sleep,
    now,
  });
  const oauth = options.apiToken ? undefined : options.oauth;
  const tokens = oauth ? createAccessTokens(() => fetchToken(oauth), now) : undefined;

  function backoffMs(retryIndex: number): number {
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retryIndex);
    return Math.floor(random() * ceiling); // full jitter
  }

  /** True when Qualtrics may have done a call that ended in `error`. */
  const mayHaveHappened = (error: QualtricsError) =>
    (error.retryable && error.status !== 429) || (error.status >= 200 && error.status < 300);

  /** Try until an answer is good or an error is final; the last error carries the attempts. */
  async function withRetries<T>(call: Call<T>): Promise<T> {
    let attempts = 0;
    let refreshedToken = false;
    for (;;) {
      attempts += 1;
      const outcome = await call.attempt();
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      // An OAuth token can be revoked or expire early: fetch a fresh one once, then give up.
      if (error.status === 401 && !refreshedToken && call.onUnauthorized?.()) {
        refreshedToken = true;
        continue;
      }
      // A 429 was refused before any work; anything else may have been done: never repeat it.
      if (!call.idempotent && mayHaveHappened(error)) {
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
      // Qualtrics' Retry-After holds the whole endpoint; the next slot for it waits it out.
      if (error.retryAfterMs !== undefined) pacer.hold(call.endpoint, error.retryAfterMs);
      else await sleep(backoffMs(retriesUsed));
    }
  }

  /** One JSON exchange, its failure to reach Qualtrics read as a retryable error. */
  async function attemptJson<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    send: () => Promise<Reply>,
  ): Promise<Attempt<z.infer<S>>> {
    let reply: Reply;
    try {
      reply = await send();
    } catch (err) {
      return { ok: false, error: transportError(err, method, path, timeoutMs) };
    }
    return readReply(schema, reply, method, path, now);
  }

  function fetchToken(oauth: QualtricsOAuthOptions) {
    const path = new URL(oauth.tokenUrl).pathname;
    const init = tokenRequestInit(oauth);
    return withRetries({
      endpoint: "oauthToken",
      attempt: async () => {
        await pacer.takeSlot("oauthToken");
        return attemptJson(tokenSchema, "POST", path, () =>
          exchange(doFetch, oauth.tokenUrl, init, timeoutMs),
        );
      },
      idempotent: true,
    });
  }

  async function authHeaders(): Promise<Record<string, string>> {
    if (options.apiToken) return { "X-API-TOKEN": options.apiToken };
    if (!tokens) throw new TypeError("unreachable: no OAuth configuration");
    return { Authorization: `Bearer ${await tokens.get()}` };
  }

  /** Credentials, then a slot: the headers of one request to `endpoint`. */
  async function headersFor(endpoint: QualtricsEndpoint, json: boolean) {
    const auth = await authHeaders();
    await pacer.takeSlot(endpoint);
    const headers: Record<string, string> = { Accept: "application/json", ...auth };
    if (json) headers["Content-Type"] = "application/json";
    return headers;
  }

  const onUnauthorized = () => {
    if (!tokens) return false;
    tokens.forget();
    return true;
  };

  return {
    get calls() {
      return pacer.calls;
    },

    request(spec) {
      const url = `${baseUrl}${spec.path}`;
      const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
      return withRetries({
        endpoint: spec.endpoint,
        attempt: async () => {
          const init: RequestInit = {
            method: spec.method,
            headers: await headersFor(spec.endpoint, body !== undefined),
          };
          if (body !== undefined) init.body = body;
          return attemptJson(spec.schema, spec.method, spec.path, () =>
            exchange(doFetch, url, init, timeoutMs),
          );
        },
        idempotent: spec.idempotent ?? true,
        onUnauthorized,
      });
    },

    requestStream(spec, consume) {
      const url = `${baseUrl}${spec.path}`;
      return withRetries({
        endpoint: spec.endpoint,
        attempt: async () => {
          const init: RequestInit = {
            method: "GET",
            headers: await headersFor(spec.endpoint, false),
          };
          try {
            const answer = await exchangeStreaming(doFetch, url, init, timeoutMs, consume);
            if (answer.streamed) return { ok: true, value: answer.value };
            return { ok: false, error: httpError(answer.reply, "GET", spec.path, now) };
          } catch (err) {
            // What `consume` throws is its own (a malformed file, a failed write): not retried.
            if (!(err instanceof StreamFailure)) throw err;
            return { ok: false, error: transportError(err, "GET", spec.path, timeoutMs) };
          }
        },
        idempotent: true,
        onUnauthorized,
      });
    },

    pathOf(next) {
      let url: URL;
      try {
        url = new URL(next);
      } catch {
        return null;
      }
      const base = new URL(`${baseUrl}/`);
      // The same API on another of Qualtrics' own hosts (a datacenter host behind a brand host).
      const sameApi =
        url.origin === base.origin ||
        (url.protocol === "https:" && url.hostname.endsWith(".qualtrics.com"));
      if (!sameApi || !url.pathname.startsWith(base.pathname)) return null;
      return `/${url.pathname.slice(base.pathname.length)}${url.search}`;
    },
  };
}
