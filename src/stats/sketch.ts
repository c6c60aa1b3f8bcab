/**
 * Mergeable sketches of durations in milliseconds (DDSketch-style log buckets), the math only.
 * Bucket i ≥ 0 holds the durations in (γ^(i-1), γ^i] with γ = 101/99, so the value a bucket
 * stands for, 2γ^i/(γ+1), is within 1 % of every duration in it; bucket -1 holds 0 ms and the
 * negative durations clock skew produces. Buckets cover 1 ms to 60 days; longer durations count
 * in the top bucket. Sketches add up bucket by bucket, so shards and groups merge exactly, and
 * any quantile of the merged sketch is within 1 % of the same quantile of the durations.
 *
 * The ledger keeps its sketches in SQL (migration 0014): its bucket table holds, per bucket, the
 * largest whole millisecond in it, computed with the same multiplications in the same order
 * as `UPPER` below, so a duration lands in the same bucket on both sides (a test compares them).
 * Time to open uses it today; any other duration (time to complete) can reuse it as it is.
 */

/** Relative accuracy of every quantile read from a sketch. */
export const RELATIVE_ACCURACY = 0.01;

/** (1 + α) / (1 − α) for α = 1 %, written as a ratio of integers so SQL computes the same double. */
const GAMMA = 101 / 99;

/** The bucket of 0 ms and of negative durations. */
export const ZERO_BUCKET = -1;

/** The longest duration the sketch resolves: 60 days. */
const MAX_MS = 60 * 86_400_000;

/** γ^i for every bucket i, by repeated multiplication (as SQL does it), up to the first ≥ 60 days. */
const UPPER: readonly number[] = (() => {
  const bounds = [1];
  for (let upper = 1; upper < MAX_MS; ) {
    upper *= GAMMA;
    bounds.push(upper);
  }
  return bounds;
})();

/** The highest bucket: durations beyond 60 days count here. */
export const TOP_BUCKET = UPPER.length - 1;

/**
 * Count of durations per bucket, bucket b at index b − ZERO_BUCKET: a dense array (about nine
 * kilobytes), so that adding and merging thousands of buckets is plain arithmetic.
 */
export type Sketch = Float64Array;

/** A sketch of no duration. */
export const newSketch = (): Sketch => new Float64Array(TOP_BUCKET - ZERO_BUCKET + 1);

/**
 * The bucket of a duration: the smallest i with γ^i ≥ ms (durations ≤ 0 in `ZERO_BUCKET`).
 *
 * @example bucketOf(1) // 0
 * @example bucketOf(1000) // 346
 */
export function bucketOf(ms: number): number {
  if (ms <= 0) return ZERO_BUCKET;
  if (ms > (UPPER[TOP_BUCKET] ?? MAX_MS)) return TOP_BUCKET;
  let lo = 0;
  let hi = TOP_BUCKET;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((UPPER[mid] ?? 0) >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The duration a bucket stands for: within 1 % of every duration in it (0 for the zero bucket). */
export function bucketValue(bucket: number): number {
  if (bucket <= ZERO_BUCKET) return 0;
  const upper = UPPER[Math.min(bucket, TOP_BUCKET)] ?? 0;
  return (2 * upper) / (GAMMA + 1);
}

/**
 * Per bucket that can hold a whole millisecond, the largest one it holds: the SQL side's
 * lookup table (migration 0014), as [max ms, bucket]; buckets too narrow to hold one are left out.
 */
export function wholeMillisecondBuckets(): [maxMs: number, bucket: number][] {
  const table: [number, number][] = [];
  UPPER.forEach((upper, bucket) => {
    const maxMs = Math.floor(upper);
    if (table.at(-1)?.[0] !== maxMs) table.push([maxMs, bucket]);
  });
  return table;
}

/** Adds `count` durations to a bucket of `sketch` (a bucket beyond the top counts in the top). */
export function addToSketch(sketch: Sketch, bucket: number, count: number): void {
  const index = Math.min(Math.max(bucket, ZERO_BUCKET), TOP_BUCKET) - ZERO_BUCKET;
  sketch[index] = (sketch[index] ?? 0) + count;
}

/** Adds every bucket of `from` to `into`: the sketch of both sets of durations. */
export function mergeSketch(into: Sketch, from: Sketch): void {
  from.forEach((count, index) => {
    into[index] = (into[index] ?? 0) + count;
  });
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of the durations a sketch holds, in ms, interpolated between the
 * two nearest ranks as spreadsheets do (q = 0.5 of an even count: the mean of the two middle
 * values); within 1 % of the same quantile of the exact durations. Null for an empty sketch.
 *
 * @example
 * const sketch = newSketch();
 * addToSketch(sketch, bucketOf(1000), 3);
 * sketchQuantile(sketch, 0.5); // ≈ 1000 (within 1 %)
 */
export function sketchQuantile(sketch: Sketch, q: number): number | null {
  let total = 0;
  for (const n of sketch) if (n > 0) total += n;
  if (total === 0) return null;
  const position = (total - 1) * Math.min(Math.max(q, 0), 1);
  const below = Math.floor(position);
  const atRank = (rank: number): number => {
    let seen = 0;
    let last = ZERO_BUCKET;
    for (let index = 0; index < sketch.length; index++) {
      const n = sketch[index] ?? 0;
      if (n <= 0) continue;
      last = index + ZERO_BUCKET;
      seen += n;
      if (rank < seen) return bucketValue(last);
    }
    return bucketValue(last);
  };
  const low = atRank(below);
  const fraction = position - below;
  return fraction === 0 ? low : low + fraction * (atRank(below + 1) - low);
}
