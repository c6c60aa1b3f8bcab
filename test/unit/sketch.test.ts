/**
 * The sketch math of stats (src/stats/sketch.ts): buckets within 1 % of what they hold, quantiles
 * within 1 % of the exact ones (interpolated the same way), merging equal to sketching the union,
 * and the whole-millisecond table the ledger's SQL uses agreeing with the buckets.
 */
import { describe, expect, it } from "vitest";
import {
  addToSketch,
  bucketOf,
  bucketValue,
  mergeSketch,
  newSketch,
  RELATIVE_ACCURACY,
  type Sketch,
  sketchQuantile,
  TOP_BUCKET,
  wholeMillisecondBuckets,
  ZERO_BUCKET,
} from "../../src/stats/sketch";
import { exactQuantileMs } from "../helpers/open-times";

const DAY_MS = 86_400_000;

/** The exact q-quantile (ms) of values; they are never empty here. */
const exactQuantile = (values: number[], q: number): number => exactQuantileMs(values, q) ?? NaN;

function sketchOf(values: number[]): Sketch {
  const sketch = newSketch();
  for (const value of values) addToSketch(sketch, bucketOf(value), 1);
  return sketch;
}

/** A deterministic generator: the same "random" durations on every run. */
function durations(count: number, seed: number, maxExponent = 9.6): number[] {
  let state = seed;
  const next = () => {
    state = (state * 48_271) % 2_147_483_647;
    return state / 2_147_483_647;
  };
  return Array.from({ length: count }, () => Math.floor(10 ** (next() * maxExponent)));
}

const withinAccuracy = (estimate: number | null, exact: number) => {
  expect(estimate).not.toBeNull();
  expect(Math.abs((estimate ?? 0) - exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY * exact + 1e-9);
};

describe("buckets", () => {
  it("stand for every whole millisecond they hold within 1 %, from 1 ms to 60 days", () => {
    let worst = 0;
    const check = (ms: number) => {
      worst = Math.max(worst, Math.abs(bucketValue(bucketOf(ms)) - ms) / ms);
    };
    for (let ms = 1; ms <= 200_000; ms++) check(ms);
    for (const ms of durations(20_000, 11)) if (ms >= 1 && ms <= 60 * DAY_MS) check(ms);
    check(60 * DAY_MS);
    expect(worst).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-12);
    expect(worst).toBeGreaterThan(RELATIVE_ACCURACY * 0.9);
  });

  it("grow with the duration; 0 ms and negative ones share the zero bucket", () => {
    expect(bucketOf(0)).toBe(ZERO_BUCKET);
    expect(bucketOf(-250)).toBe(ZERO_BUCKET);
    expect(bucketValue(ZERO_BUCKET)).toBe(0);
    expect(bucketOf(1)).toBe(0);
    let previous = ZERO_BUCKET;
    for (let ms = 0; ms < 100_000; ms += 7) {
      expect(bucketOf(ms)).toBeGreaterThanOrEqual(previous);
      previous = bucketOf(ms);
    }
  });

  it("count durations beyond 60 days in the top bucket", () => {
    expect(bucketOf(60 * DAY_MS)).toBe(TOP_BUCKET);
    expect(bucketOf(400 * DAY_MS)).toBe(TOP_BUCKET);
    expect(bucketOf(60 * DAY_MS - 60_000)).toBeLessThanOrEqual(TOP_BUCKET);
    expect(TOP_BUCKET).toBeLessThan(1200);
  });

  it("the whole-millisecond table names, for each bucket, the largest millisecond it holds", () => {
    const table = wholeMillisecondBuckets();
    expect(table[0]).toEqual([1, 0]);
    const wrong = table.filter(([maxMs, bucket], i) => {
      const before = table[i - 1];
      const last = i === table.length - 1;
      return (
        bucketOf(maxMs) !== bucket ||
        (!last && bucketOf(maxMs + 1) <= bucket) ||
        (before !== undefined && bucketOf(before[0] + 1) !== bucket)
      );
    });
    expect(wrong).toEqual([]);
    expect(table.at(-1)?.[1]).toBe(TOP_BUCKET);
  });
});

describe("quantiles", () => {
  it("are within 1 % of the exact ones over nine orders of magnitude", () => {
    for (const [count, seed] of [
      [1, 3],
      [2, 5],
      [101, 7],
      [1_000, 13],
      [20_000, 17],
    ] as const) {
      const values = durations(count, seed);
      const sketch = sketchOf(values);
      for (const q of [0, 0.1, 0.5, 0.9, 0.99, 1]) {
        withinAccuracy(sketchQuantile(sketch, q), exactQuantile(values, q));
      }
    }
  });

  it("take the mean of the two middle values for an even count, like the exact median", () => {
    const sketch = sketchOf([1_000, 100_000]);
    withinAccuracy(sketchQuantile(sketch, 0.5), 50_500);
    withinAccuracy(sketchQuantile(sketch, 0.9), 90_100);
  });

  it("count zero and negative times as 0 ms; an empty sketch has none", () => {
    const sketch = sketchOf([-40, 0, 0, 5_000]);
    expect(sketchQuantile(sketch, 0.5)).toBe(0);
    withinAccuracy(sketchQuantile(sketch, 1), 5_000);
    expect(sketchQuantile(newSketch(), 0.5)).toBeNull();
    const zero = newSketch();
    addToSketch(zero, 12, 0);
    expect(sketchQuantile(zero, 0.5)).toBeNull();
  });

  it("of merged sketches equal those of one sketch of every value", () => {
    const parts = [durations(500, 19), durations(1_200, 23), durations(3, 29)];
    const merged = newSketch();
    for (const part of parts) mergeSketch(merged, sketchOf(part));
    const whole = sketchOf(parts.flat());
    expect(merged).toEqual(whole);
    for (const q of [0.5, 0.9]) {
      expect(sketchQuantile(merged, q)).toBe(sketchQuantile(whole, q));
      withinAccuracy(sketchQuantile(merged, q), exactQuantile(parts.flat(), q));
    }
  });
});
