/**
 * One HTTP exchange with Qualtrics and the reading of its answer: a deadline covering headers and
 * body, then either data that passed its schema or a `QualtricsError` saying whether a retry may
 * help. Qualtrics' `httpStatus` is a string; the real status decides. A large body (an export
 * file) can instead be handed, chunk by chunk, to a reader that never holds it whole.
 */
import { z } from "zod";
import { QualtricsError } from "./errors";
import { errorEnvelopeSchema, oauthErrorSchema, requestIdSchema } from "./replies";

export interface Reply {
  status: number;
  text: string;
  retryAfter: string | null;
}

export type Attempt<T> = { ok: true; value: T } | { ok: false; error: QualtricsError };

/** One request, aborted when headers and body have not both arrived within `timeoutMs`. */
export async function exchange(
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Reply> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await doFetch(url, { ...init, signal: controller.signal });
    const text = await res.text();
    return { status: res.status, text, retryAfter: res.headers.get("Retry-After") };
  } finally {
    clearTimeout(timer);
  }
}

/** The next chunk of a body, or undefined at its end; a failed read is a `StreamFailure`. */
export type ChunkReader = () => Promise<Uint8Array | undefined>;

/**
 * The exchange itself failed, before an answer or while its body was read (dropped connection,
 * timeout): worth another try. Anything else a streaming consumer throws is its own.
 */
export class StreamFailure extends Error {
  override readonly name = "StreamFailure";
  constructor(
    readonly midBody: boolean,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * One request whose 2xx body goes to `consume` as a stream of chunks, within the same deadline;
 * any other answer is read whole and returned as a `Reply` for `httpError` to read.
 */
export async function exchangeStreaming<T>(
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  consume: (read: ChunkReader) => Promise<T>,
): Promise<{ streamed: true; value: T } | { streamed: false; reply: Reply }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let res: Response;
    try {
      res = await doFetch(url, { ...init, signal: controller.signal });
      if (res.status < 200 || res.status > 299) {
        const text = await res.text();
        return {
          streamed: false,
          reply: { status: res.status, text, retryAfter: res.headers.get("Retry-After") },
        };
      }
    } catch (err) {
      throw new StreamFailure(false, err);
    }
    const reader = res.body?.getReader();
    const read: ChunkReader = async () => {
      if (!reader) return undefined;
      try {
        const { done, value } = await reader.read();
        return done ? undefined : value;
      } catch (err) {
        throw new StreamFailure(true, err);
      }
    };
    try {
      return { streamed: true, value: await consume(read) };
    } finally {
      await reader?.cancel().catch(() => undefined);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** No answer at all: a timeout or a network failure, both worth another try. */
export function transportError(
  err: unknown,
  method: string,
  path: string,
  timeoutMs: number,
): QualtricsError {
  const cause = err instanceof StreamFailure ? err.cause : err;
  const aborted =
    cause instanceof Error && (cause.name === "AbortError" || cause.name === "TimeoutError");
  const detail = err instanceof Error ? err.message : String(err);
  return new QualtricsError({
    status: 0,
    errorCode: aborted ? "timeout" : "network_error",
    message: aborted
      ? `${method} ${path} timed out after ${timeoutMs} ms`
      : err instanceof StreamFailure && err.midBody
        ? `${method} ${path} failed while its answer was read: ${detail}`
        : `${method} ${path} failed before an answer: ${detail}`,
    retryable: true,
  });
}

/** A 2xx reply parsed by `schema`, or the error it amounts to. */
export function readReply<S extends z.ZodType>(
  schema: S,
  reply: Reply,
  method: string,
  path: string,
  now: () => number,
): Attempt<z.infer<S>> {
  const { status, text } = reply;
  if (status < 200 || status > 299)
    return { ok: false, error: httpError(reply, method, path, now) };
  const json = safeJson(text);
  if (json === undefined)
    return { ok: false, error: invalidReply(method, path, status, "not JSON") };
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const requestId = requestIdSchema.safeParse(json);
    return {
      ok: false,
      error: invalidReply(
        method,
        path,
        status,
        z.prettifyError(parsed.error),
        requestId.success ? requestId.data.meta.requestId : undefined,
      ),
    };
  }
  return { ok: true, value: parsed.data };
}

/** A non-2xx answer, read from the API's error envelope or the token endpoint's OAuth error. */
export function httpError(
  reply: Reply,
  method: string,
  path: string,
  now: () => number,
): QualtricsError {
  const { status, text } = reply;
  const retryable = status === 429 || status >= 500;
  const json = safeJson(text);
  const env = errorEnvelopeSchema.safeParse(json);
  const oauth = oauthErrorSchema.safeParse(json);
  let errorCode = `http_${status}`;
  let message = `${method} ${path} answered ${status}`;
  let requestId: string | undefined;
  let reason: string | undefined;
  if (env.success) {
    errorCode = env.data.meta.error.errorCode ?? errorCode;
    reason = env.data.meta.error.errorMessage;
    message = `${message}: ${reason ?? env.data.meta.httpStatus ?? ""}`;
    requestId = env.data.meta.requestId;
  } else if (oauth.success) {
    errorCode = oauth.data.error;
    message = `${message}: ${oauth.data.error_description ?? oauth.data.error}`;
  } else if (text) {
    message = `${message}: ${text.slice(0, 200)}`;
  }
  return new QualtricsError({
    status,
    errorCode,
    message,
    reason,
    requestId,
    retryable,
    retryAfterMs: retryable ? parseRetryAfter(reply.retryAfter, now()) : undefined,
  });
}

export function invalidReply(
  method: string,
  path: string,
  status: number,
  detail: string,
  requestId?: string,
): QualtricsError {
  return new QualtricsError({
    status,
    errorCode: "invalid_response",
    message: `${method} ${path} answered ${status} with a body that does not match the contract: ${detail}`,
    requestId,
    retryable: false,
  });
}

function safeJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110). Undefined when absent
 * or unreadable, so the caller falls back to its own backoff.
 */
function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
