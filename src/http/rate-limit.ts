/**
 * Workers Rate Limiting: a fixed window per key (client IP for taps, API key id for the issue
 * API). Returns the seconds to wait when over the limit. `RATE_LIMITS=off` skips it.
 */
import type { Config } from "../config";

/** The binding's window; the Retry-After we send (the binding does not say when it resets). */
const WINDOW_SECONDS = 10;

export async function overRateLimit(
  config: Config,
  limiter: RateLimit | undefined,
  key: string,
): Promise<number | null> {
  if (!config.rateLimitsOn || !limiter) return null;
  const { success } = await limiter.limit({ key });
  return success ? null : WINDOW_SECONDS;
}
