/**
 * Exact medians from histograms. SQLite has no MEDIAN, and sorting every opened invite is what
 * made big ranges slow; across shards it would mean shipping every time to open. Instead a median
 * is found by narrowing: the rollups bucket times to open by digit count and first two digits
 * (migration 0004): `digits` 2 holds 0…99 ms one value each (under 10 ms, and negative times, all
 * in 10), then 100-109 ms … 990-999 ms, 1000-1099 ms …; buckets only grow with the time. Which
 * digit count holds a middle value, then which first two digits, come from the rollups; within
 * that bucket, each round counts the opened invites in equal bins (added up over the shards)
 * and keeps the bin holding the middle value's rank, until a bin is one millisecond wide.
 */

/** The middle one or two positions (1-based) of `n` sorted values. */
const middle = (n: number): number[] => (n % 2 === 1 ? [(n + 1) / 2] : [n / 2, n / 2 + 1]);

/**
 * The bin holding the `position`-th value (1-based) of a histogram whose bins are in order, that
 * value's 1-based rank in the bin and the bin's count; undefined when the histogram holds fewer
 * values.
 *
 * @example binAt([[10, 2], [11, 3]], 4) // { bin: 11, rank: 2, count: 3 }
 */
export function binAt(
  bins: readonly (readonly [number, number])[],
  position: number,
): { bin: number; rank: number; count: number } | undefined {
  let below = 0;
  for (const [bin, count] of bins) {
    if (position <= below + count) return { bin, rank: position - below, count };
    below += count;
  }
  return undefined;
}

/** A histogram's bins in order, without empty ones. */
export const sortedBins = (histogram: ReadonlyMap<number, number>): [number, number][] =>
  [...histogram.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => a - b);

/** Where each middle value of a histogram sits: its bin and its 1-based rank in the bin. */
export function locateMiddle(
  histogram: ReadonlyMap<number, number>,
): { bin: number; rank: number }[] {
  const bins = sortedBins(histogram);
  const total = bins.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return [];
  return middle(total).map((position) => {
    const at = binAt(bins, position);
    if (at === undefined) throw new Error("median position beyond the histogram");
    return at;
  });
}

/** Adds `count` to `map[key]`. */
export function add<K>(map: Map<K, number>, key: K, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

/** The lowest time the first bucket holds: it also holds negative times (clock skew). */
const FIRST_BUCKET_LOW = Number.MIN_SAFE_INTEGER;

/** The times to open (ms) bucket (digit count, first two digits) holds, both ends inclusive. */
export function bucketRange(digits: number, firstTwo: number): [number, number] {
  const unit = 10 ** (digits - 2);
  const hi = (firstTwo + 1) * unit - 1;
  return [digits === 2 && firstTwo === 10 ? FIRST_BUCKET_LOW : firstTwo * unit, hi];
}

/**
 * Bins per narrowing round, shared by the middle values narrowed in that round: each shard
 * answers at most about this many (span, group, bin) rows. A middle value whose range holds no
 * more values than its share of bins is counted value by value and found in that round; a wider
 * one is split into its share of equal bins. Each round is one query per shard, so fewer rounds
 * is what keeps an answer fast.
 */
const BINS_PER_ROUND = 8000;
const MIN_BINS = 16;
const MAX_BINS = 2000;

/** Bins each of `targets` middle values gets in one round. */
export const binsPerTarget = (targets: number): number =>
  Math.max(MIN_BINS, Math.min(MAX_BINS, Math.floor(BINS_PER_ROUND / Math.max(targets, 1))));

/**
 * The bin width for the next round over [lo, hi], which holds `count` values, in at most `bins`
 * bins: 1 ms (each value its own bin: the round finds the exact value) when the values are few
 * enough, else equal bins; 0 (one bin per distinct value) for the first bucket, whose values under
 * 10 ms and negative ones cannot be split evenly.
 */
export function binStep(lo: number, hi: number, count: number, bins: number): number {
  if (lo === FIRST_BUCKET_LOW) return 0;
  if (count <= bins) return 1;
  return Math.ceil((hi - lo + 1) / bins);
}

/** A middle value being narrowed down: the `rank`-th of the `count` times in [lo, hi]. */
export interface Narrowing {
  lo: number;
  hi: number;
  rank: number;
  count: number;
}

/** The range a round's bin stands for: [bin, bin + step − 1] (one value when step ≤ 1). */
export function narrowTo(
  bins: readonly (readonly [number, number])[],
  rank: number,
  step: number,
): Narrowing {
  const at = binAt(bins, rank);
  if (at === undefined) throw new Error("a median's rank is beyond its bins");
  return { lo: at.bin, hi: at.bin + Math.max(step, 1) - 1, rank: at.rank, count: at.count };
}
