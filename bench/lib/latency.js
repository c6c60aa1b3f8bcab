// @ts-check
/**
 * Phase 8, latency: how many storage round trips a fresh tap waits for before its answer.
 *
 * The metered entry (bench/workers/lib/storage-meter.ts) delays every KV and D1 round trip by
 * L ms when asked. A tap that waits for k round trips in a row answers k × L later, whatever runs
 * side by side or in waitUntil, so k = (p50 with the delay − p50 without) / L. Both runs tap fresh
 * links issued beforehand (delay off), at a low concurrency so that queueing neither hides nor
 * multiplies the delay.
 */
import { setDelay } from "./meter-client.js";

/**
 * @typedef {{ p50Ms: number }} Run
 * @typedef {{
 *   base: string;
 *   delayMs: number;
 *   connections: number;
 *   seconds: number;
 *   warmupSeconds: number;
 *   expectedRps: number;
 *   freshIds: (count: number, tag: string) => Promise<string[]>;
 *   warmUp: (ids: string[]) => Promise<number | null>;
 *   run: (delayed: boolean, ids: string[]) => Promise<Run>;
 * }} LatencyOptions
 */

/**
 * Round trips before a fresh tap's answer, from its p50 without and with the delay.
 * @param {LatencyOptions} o
 * @returns {Promise<{ roundTrips: number; plain: Run; delayed: Run }>}
 */
export async function tapRoundTrips(o) {
  await setDelay(o.base, 0);
  // `expectedRps` bounds the rate (more connections ran it); the warm-up measures it.
  let rps = o.expectedRps;
  if (o.warmupSeconds > 0) {
    const ids = await o.freshIds(Math.ceil(o.expectedRps * o.warmupSeconds * 1.5) + 100, "w");
    rps = (await o.warmUp(ids)) || o.expectedRps;
  }
  const plainIds = await o.freshIds(Math.ceil(rps * o.seconds * 1.5) + 200, "p");
  // Every delayed tap waits at least one delay: this many always suffice.
  const delayedIds = await o.freshIds(
    Math.ceil(((o.connections * o.seconds * 1000) / o.delayMs) * 1.2) + 100,
    "d",
  );
  const plain = await o.run(false, plainIds);
  await setDelay(o.base, o.delayMs);
  try {
    const delayed = await o.run(true, delayedIds);
    return { roundTrips: (delayed.p50Ms - plain.p50Ms) / o.delayMs, plain, delayed };
  } finally {
    await setDelay(o.base, 0);
  }
}
