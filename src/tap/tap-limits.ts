/**
 * The tap's rate limits (docs/rate-limits.md). Customers at a venue share one public address
 * (stadium Wi-Fi, carrier-grade NAT), so no limit counts every tap of an address against a small
 * budget. Instead:
 * - per address and link: one client hammering one link;
 * - per address, over every tap: a generous ceiling that a venue's crowd stays far below;
 * - per address, taps on unknown or malformed ids: walking ids, which no customer does.
 * Each is a Workers Rate Limiting binding (limits in wrangler.toml); over a limit the tap gets
 * 429 with `Retry-After`, the binding's period (it does not say when its window resets).
 */
import type { Config } from "../config/config";
import type { Env } from "../config/env";
import { overRateLimit } from "../http/rate-limit";

/** The periods of the bindings in wrangler.toml (TAP_LINK_LIMITER, …), in seconds. */
const PERIOD = { link: 10, address: 60, unknownId: 60 } as const;

/**
 * Counts a tap on a well-formed id against its address's limits, before any storage is read.
 * Returns the seconds to wait when over a limit, else null.
 */
export async function limitTap(
  env: Env,
  config: Config,
  address: string,
  id: string,
): Promise<number | null> {
  const [link, ceiling] = await Promise.all([
    overRateLimit(config, env.TAP_LINK_LIMITER, `${address} ${id}`, PERIOD.link),
    overRateLimit(config, env.TAP_ADDRESS_LIMITER, address, PERIOD.address),
  ]);
  return ceiling ?? link;
}

/**
 * Counts a tap on an id that is malformed or that the ledger does not know. Returns the seconds
 * to wait when the address is over its budget of misses (answer 429, not 404), else null.
 */
export function countUnknownId(env: Env, config: Config, address: string): Promise<number | null> {
  return overRateLimit(config, env.TAP_MISS_LIMITER, address, PERIOD.unknownId);
}
