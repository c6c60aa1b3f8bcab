/**
 * Exact times to open for checking the stats' sketch percentiles: the q-quantile of exact times
 * (interpolated between the nearest ranks, as the API's sketch does), and the check that an
 * answer is within the sketch's 1 % of it (plus half a millisecond: answers are rounded to ms).
 */
import { expect } from "vitest";
import { RELATIVE_ACCURACY } from "../../src/stats/sketch";

/** The q-quantile of exact times (ms; negative ones count as 0) in ms, or null for none. */
export function exactQuantileMs(times: readonly number[], q: number): number | null {
  if (times.length === 0) return null;
  const sorted = times.map((t) => Math.max(t, 0)).sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const low = sorted[below] ?? 0;
  const high = sorted[Math.min(below + 1, sorted.length - 1)] ?? 0;
  return low + (position - below) * (high - low);
}

/** `seconds` (an answer's field) is within 1 % of the exact q-quantile of `times`. */
export function expectNearQuantile(
  seconds: number | null | undefined,
  times: readonly number[],
  q: number,
): void {
  const exact = exactQuantileMs(times, q);
  if (exact === null) {
    expect(seconds).toBeNull();
    return;
  }
  expect(seconds, `q=${q} of ${times.length} times`).not.toBeNull();
  const error = Math.abs((seconds ?? 0) * 1000 - exact);
  expect(error, `${seconds} s for an exact ${exact} ms (q=${q})`).toBeLessThanOrEqual(
    RELATIVE_ACCURACY * exact + 0.5,
  );
}

/** Median and 90th percentile of an answer's row or totals are both within 1 % of `times`. */
export function expectOpenTimes(
  row: { medianSecondsToOpen: number | null; p90SecondsToOpen: number | null } | undefined,
  times: readonly number[],
): void {
  expectNearQuantile(row?.medianSecondsToOpen, times, 0.5);
  expectNearQuantile(row?.p90SecondsToOpen, times, 0.9);
}
