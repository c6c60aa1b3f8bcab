/**
 * How long a failed delivery waits before the next attempt: doubling from one minute, capped at
 * four hours, so that a receiver down for a moment gets the event within minutes and one down
 * for a day still gets it when it is back. `WEBHOOK_MAX_RETRIES` (wrangler.toml's `max_retries`
 * of the webhooks queue, which a unit test keeps equal) retries span about 24 hours, well within
 * the queue's message retention (4 days by default); then the queue dead-letters the message.
 */

/** The webhooks queue's `max_retries` in wrangler.toml. */
export const WEBHOOK_MAX_RETRIES = 13;

const FIRST_DELAY_SECONDS = 60;
const MAX_DELAY_SECONDS = 4 * 3600;

/**
 * Seconds to wait after failed attempt number `attempt` (1 for the first).
 *
 * @example retryDelaySeconds(1) // 60; retryDelaySeconds(3) // 240; retryDelaySeconds(12) // 14400
 */
export function retryDelaySeconds(attempt: number): number {
  const doublings = Math.min(Math.max(attempt, 1) - 1, 30);
  return Math.min(FIRST_DELAY_SECONDS * 2 ** doublings, MAX_DELAY_SECONDS);
}
