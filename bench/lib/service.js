// @ts-check
/**
 * Talking to invite-edge (issue 2's API) outside the timed runs: probing which
 * endpoints exist, issuing the links the tap phases consume, using links up.
 */
import { USER_AGENT } from "./load.js";

export const KEYS = {
  issuer: "dev-issuer-key",
  analyst: "dev-analyst-key",
  admin: "dev-admin-key",
};

/**
 * The body of one link, the same shape load.lua sends.
 * @param {string} tag @param {number} n
 */
export function benchLink(tag, n) {
  return {
    survey: "demo",
    customerId: `bench-${tag}-${n}`,
    transactionId: `bench-${tag}-${n}`,
    trigger: "bench",
    channel: "in_app",
    embeddedData: { venue: "A", event: "E1", seat: String(n % 500) },
  };
}

/** wrangler dev's answer when it reloaded the Worker under a request it does not retry itself. */
const RESTARTED = "Your worker restarted mid-request";

/** Requests sent again because `wrangler dev` reloaded the Worker under them (for the notes). */
export const restartRetries = { count: 0 };

/**
 * One request outside the timed runs. A POST that `wrangler dev` cut off by reloading the
 * Worker (503 "restarted mid-request"; it retries GET and HEAD itself) is sent again, up to
 * twice: everything the bench POSTs is idempotent (issue by transaction id, seeding, reconcile).
 * @param {string} base @param {string} path
 * @param {{ method?: string; auth?: string; body?: unknown; accept?: string }} [options]
 * @returns {Promise<{ status: number; text: string; headers: Headers }>}
 */
export async function call(base, path, { method = "GET", auth, body, accept } = {}) {
  /** @type {Record<string, string>} */
  const headers = { "User-Agent": USER_AGENT };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (accept) headers.Accept = accept;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (response.status !== 503 || !text.startsWith(RESTARTED) || attempt === 3) {
      return { status: response.status, text, headers: response.headers };
    }
    restartRetries.count++;
  }
}

/** The id of an issued link from its API representation. */
function idOf(/** @type {any} */ link) {
  if (typeof link?.id === "string") return link.id;
  if (typeof link?.url === "string") return link.url.slice(link.url.lastIndexOf("/") + 1);
  return undefined;
}

/**
 * Issues one link with POST /v1/links.
 * @returns {Promise<{ status: number; id?: string; text: string }>}
 */
export async function issueOne(/** @type {string} */ base, /** @type {unknown} */ body) {
  const { status, text } = await call(base, "/v1/links", {
    method: "POST",
    auth: KEYS.issuer,
    body,
  });
  let id;
  try {
    id = status < 300 ? idOf(JSON.parse(text)) : undefined;
  } catch {
    // not JSON
  }
  return { status, id, text };
}

/**
 * Issues links in one POST /v1/links/batch call.
 * @returns {Promise<{ status: number; ids: string[]; failed: number; text: string }>}
 */
export async function issueBatch(/** @type {string} */ base, /** @type {unknown[]} */ links) {
  const { status, text } = await call(base, "/v1/links/batch", {
    method: "POST",
    auth: KEYS.issuer,
    body: { links },
  });
  /** @type {string[]} */
  const ids = [];
  let failed = links.length;
  if (status < 300) {
    try {
      const results = JSON.parse(text).results;
      failed = 0;
      for (const result of Array.isArray(results) ? results : []) {
        const id = result?.status < 300 ? idOf(result.link) : undefined;
        if (id) ids.push(id);
        else failed++;
      }
    } catch {
      // not the documented shape
    }
  }
  return { status, ids, failed, text };
}

/**
 * Runs `task` over `items` with at most `concurrency` in flight.
 * @template T, R
 * @param {T[]} items @param {number} concurrency @param {(item: T) => Promise<R>} task
 * @returns {Promise<R[]>}
 */
export async function pool(items, concurrency, task) {
  /** @type {R[]} */
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(/** @type {T} */ (items[index]));
      }
    }),
  );
  return results;
}

/**
 * Issues `count` fresh links (batch calls when `useBatch`, else single calls)
 * and returns their ids. Untimed: this only prepares the tap phases.
 * @param {{ base: string; count: number; tag: string; batchSize: number; useBatch: boolean }} options
 */
export async function issueMany({ base, count, tag, batchSize, useBatch }) {
  /** @type {string[]} */
  const ids = [];
  let failed = 0;
  if (useBatch) {
    const calls = [];
    for (let start = 0; start < count; start += batchSize) {
      calls.push(
        Array.from({ length: Math.min(batchSize, count - start) }, (_, i) =>
          benchLink(tag, start + i),
        ),
      );
    }
    for (const result of await pool(calls, 2, (links) => issueBatch(base, links))) {
      ids.push(...result.ids);
      failed += result.failed;
    }
  } else {
    const numbers = Array.from({ length: count }, (_, i) => i);
    for (const result of await pool(numbers, 8, (n) => issueOne(base, benchLink(tag, n)))) {
      if (result.id) ids.push(result.id);
      else failed++;
    }
  }
  return { ids, failed };
}

/** Taps one link without a cookie; returns the status. */
export async function tap(/** @type {string} */ base, /** @type {string} */ id) {
  return (await call(base, `/s/${id}`)).status;
}
