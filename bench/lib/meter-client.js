// @ts-check
/**
 * The bench's side of the storage meter (bench/workers/lib/storage-meter.ts): read and reset the
 * counters of a metered Worker, set its per-round-trip delay. Only the metered entries answer
 * these routes; the service's own entry answers 404.
 */
import { call } from "./service.js";

/** @typedef {import("../workers/lib/storage-meter").Counters} Counters */

/** The meter instance each base answered with last. @type {Map<string, string>} */
const instances = new Map();

/**
 * A control route's JSON answer, after checking that the metered Worker at `base` is the one
 * that answered before: if wrangler dev reloaded it, its counters and delay were lost with it.
 * @param {string} base @param {string} text
 */
function fromSameInstance(base, text) {
  const answer = JSON.parse(text);
  const before = instances.get(base);
  instances.set(base, answer.instance);
  if (before !== undefined && before !== answer.instance) {
    throw new Error("the metered Worker was reloaded mid-measurement (counters and delay lost)");
  }
  return answer;
}

/** Counters of nothing. @returns {Counters} */
export const zeroCounters = () => ({
  requests: 0,
  kvReads: 0,
  kvWrites: 0,
  kvDeletes: 0,
  kvLists: 0,
  kvRoundTrips: 0,
  d1RoundTrips: 0,
  d1Statements: 0,
  d1RowsRead: 0,
  d1RowsWritten: 0,
  d1Unmetered: 0,
  maxInFlight: 0,
});

/**
 * The counters since the last reset, once the Worker's storage calls (waitUntil work included)
 * have settled; `reset` zeroes them after reading.
 * @param {string} base @param {{ reset?: boolean }} [options]
 * @returns {Promise<Counters>}
 */
export async function readCounters(base, { reset = false } = {}) {
  const { status, text } = await call(base, `/__bench/counters${reset ? "?reset=1" : ""}`);
  if (status !== 200) {
    throw new Error(`GET /__bench/counters answered ${status} (not a metered entry?)`);
  }
  return fromSameInstance(base, text).counters;
}

/** Zeroes the counters (after whatever was still settling). @param {string} base */
export async function resetCounters(base) {
  await readCounters(base, { reset: true });
}

/**
 * At most `max` round trips in flight per invocation from now on, the rest queued (0: no cap).
 * @param {string} base @param {number} max
 */
export async function setConnections(base, max) {
  const { status, text } = await call(base, `/__bench/connections?max=${max}`, { method: "PUT" });
  if (status !== 200) {
    throw new Error(`PUT /__bench/connections answered ${status}: ${text.slice(0, 80)}`);
  }
  fromSameInstance(base, text);
}

/** Delays each KV/D1 round trip of the Worker by `ms` from now on. @param {string} base @param {number} ms */
export async function setDelay(base, ms) {
  const { status, text } = await call(base, `/__bench/delay?ms=${ms}`, { method: "PUT" });
  if (status !== 200) {
    throw new Error(`PUT /__bench/delay answered ${status}: ${text.slice(0, 80)}`);
  }
  fromSameInstance(base, text);
}

/** a + b, counter by counter (the most in flight: the larger). @param {Counters} a @param {Counters} b @returns {Counters} */
export function addCounters(a, b) {
  const sum = zeroCounters();
  for (const key of /** @type {(keyof Counters)[]} */ (Object.keys(sum)))
    sum[key] = key === "maxInFlight" ? Math.max(a[key], b[key]) : a[key] + b[key];
  return sum;
}

/** Counters divided by `n` (per operation). @param {Counters} c @param {number} n @returns {Counters} */
export function perOperation(c, n) {
  const per = zeroCounters();
  for (const key of /** @type {(keyof Counters)[]} */ (Object.keys(per))) per[key] = c[key] / n;
  return per;
}
