/**
 * Workers Rate Limiting: a fixed window per key (an API key id, a client address, …). Returns the
 * seconds to wait when over the limit: the binding's period, as the binding does not say when its
 * window resets. `RATE_LIMITS=off` skips every limiter.
 */
import type { Config } from "../config/config";

export async function overRateLimit(
  config: Config,
  limiter: RateLimit | undefined,
  key: string,
  periodSeconds: 10 | 60 = 10,
): Promise<number | null> {
  if (!config.rateLimitsOn || !limiter) return null;
  const { success } = await limiter.limit({ key });
  return success ? null : periodSeconds;
}
