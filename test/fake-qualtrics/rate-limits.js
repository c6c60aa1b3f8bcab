// @ts-check
/**
 * Qualtrics' rate limits: 3,000 requests per minute for the whole brand plus each endpoint's own
 * limit, counted over a sliding window. Over a limit the answer is 429 with Retry-After (seconds,
 * an HTTP date, or none: the contract leaves its presence open). Refused requests are not counted,
 * so a client that backs off is let back in.
 */
import { DEFAULT_ENDPOINT_LIMITS } from "./api-routes.js";
import { ApiError } from "./envelopes.js";

const DEFAULT_BRAND_LIMIT = 3000;

/**
 * @typedef {object} RateLimitConfig
 * @property {boolean} enabled
 * @property {number} windowMs  length of the window the limits count in (60,000 in Qualtrics; tests shrink it)
 * @property {number} brand     requests per window for the whole brand
 * @property {Record<string, number>} endpoints  per-endpoint requests per window
 * @property {"seconds" | "http-date" | "none"} retryAfter  how a 429 carries Retry-After
 */

/**
 * @typedef {object} RateLimitOptions
 * @property {boolean} [enabled]
 * @property {number} [windowMs]
 * @property {number} [brand]
 * @property {Record<string, number>} [endpoints]  merged over DEFAULT_ENDPOINT_LIMITS
 * @property {"seconds" | "http-date" | "none"} [retryAfter]
 */

/**
 * @param {RateLimitOptions | false | undefined} input
 * @param {RateLimitConfig} [base]
 * @returns {RateLimitConfig}
 */
export function rateLimitConfig(input, base) {
  const start = base ?? {
    enabled: true,
    windowMs: 60_000,
    brand: DEFAULT_BRAND_LIMIT,
    endpoints: { ...DEFAULT_ENDPOINT_LIMITS },
    retryAfter: /** @type {const} */ ("seconds"),
  };
  if (input === false) return { ...start, enabled: false };
  if (!input) return { ...start, endpoints: { ...start.endpoints } };
  return {
    enabled: input.enabled ?? true,
    windowMs: input.windowMs ?? start.windowMs,
    brand: input.brand ?? start.brand,
    endpoints: { ...start.endpoints, ...(input.endpoints ?? {}) },
    retryAfter: input.retryAfter ?? start.retryAfter,
  };
}

/**
 * Count the request against the brand and endpoint windows, or throw the 429.
 * @param {import("./state.js").FakeContext} ctx
 * @param {string} endpoint
 */
export function enforceRateLimits(ctx, endpoint) {
  const cfg = ctx.state.rateLimits;
  if (!cfg.enabled) return;
  const t = ctx.now();
  /** @type {[string, number][]} */
  const checks = [["brand", cfg.brand]];
  const endpointLimit = cfg.endpoints[endpoint];
  if (typeof endpointLimit === "number") checks.push([`endpoint:${endpoint}`, endpointLimit]);
  let waitMs = 0;
  for (const [key, limit] of checks) {
    const hits = (ctx.windows.get(key) ?? []).filter((h) => h > t - cfg.windowMs);
    ctx.windows.set(key, hits);
    if (hits.length >= limit)
      waitMs = Math.max(waitMs, (hits[hits.length - limit] ?? t) + cfg.windowMs - t);
  }
  if (waitMs > 0) {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new ApiError(
      429,
      "TOO_MANY_REQUESTS",
      `Rate limit exceeded for ${endpoint}`,
      retryAfterHeader(cfg.retryAfter, seconds, t),
    );
  }
  for (const [key] of checks) ctx.windows.get(key)?.push(t);
}

/**
 * @param {RateLimitConfig["retryAfter"]} form
 * @param {number} seconds
 * @param {number} now
 * @returns {Record<string, string>}
 */
function retryAfterHeader(form, seconds, now) {
  if (form === "none") return {};
  if (form === "http-date") return { "Retry-After": new Date(now + seconds * 1000).toUTCString() };
  return { "Retry-After": String(seconds) };
}
