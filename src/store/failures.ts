/**
 * Which failures are worth a retry. A store that is briefly unreachable or overloaded (D1, KV)
 * gets `503` with `Retry-After`; anything else is a bug or a broken setup, and a retry would only
 * repeat it, so it is a `500`. Neither D1 nor KV gives a structured error code: the transient ones
 * are recognised by the messages Cloudflare documents (D1's "retry the operation" errors, KV's
 * 429 and 5xx answers) and by the runtime's own `retryable` / `overloaded` marks.
 */

/** Seconds a client is asked to wait before retrying after a transient store failure. */
export const STORE_RETRY_AFTER_SECONDS = 5;

const TRANSIENT_MESSAGES = [
  // D1 (docs: D1 error list, "Recommended action: retry"), backed by a Durable Object.
  /network connection lost/i,
  /storage caused object to be reset/i,
  /reset because its code was updated/i,
  /cannot resolve D1 DB due to transient issue/i,
  /D1 DB is overloaded/i,
  /exceeded timeout which caused object to be reset/i,
  /Durable Object is overloaded/i,
  // KV: "KV GET failed: 503 Service Unavailable", "KV PUT failed: 429 Too Many Requests".
  /^KV \w+ failed: (?:429|5\d\d)\b/i,
];

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && chain.length < 5; ) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function marked(error: unknown, property: "retryable" | "overloaded"): boolean {
  return typeof error === "object" && error !== null && Reflect.get(error, property) === true;
}

/** True for a D1 or KV failure that a retry in a few seconds can be expected to get past. */
export function isTransientStoreFailure(error: unknown): boolean {
  return causes(error).some((failure) => {
    if (marked(failure, "retryable") || marked(failure, "overloaded")) return true;
    const message = failure instanceof Error ? failure.message : String(failure);
    return TRANSIENT_MESSAGES.some((pattern) => pattern.test(message));
  });
}
