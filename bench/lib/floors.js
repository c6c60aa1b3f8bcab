// @ts-check
/** The naive floors Worker (bench/workers/floors) outside the timed runs: seeding its ids. */
import { call } from "./service.js";

/**
 * Creates ids `prefix0..prefix(count-1)` in the floors Worker (untimed): KV keys and ledger rows,
 * fresh (`tap`) or already consumed (`refused`).
 * @param {string} base @param {"tap" | "refused"} kind @param {string} prefix @param {number} count
 */
export async function seedFloor(base, kind, prefix, count) {
  for (let from = 0; from < count; from += 5000) {
    const n = Math.min(5000, count - from);
    const { status, text } = await call(
      base,
      `/seed?kind=${kind}&prefix=${prefix}&from=${from}&count=${n}`,
      { method: "POST" },
    );
    if (status !== 200) throw new Error(`floors /seed answered ${status}: ${text.slice(0, 200)}`);
  }
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}
