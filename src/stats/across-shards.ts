/**
 * Invite counts and exact medians over every ledger shard. Counts add up shard by shard. A median
 * is narrowed down round by round (see `stats/median.ts`): each round asks every shard, in
 * parallel, for its counts of the same bins and adds them up, so the answer is exact and no
 * shard ever ships its times to open.
 *
 * The buckets are exclusive, so for every group `issued = opened + revoked + expired + live`
 * (live: not opened, not revoked, not yet expired; not returned, it is the remainder).
 */

import { onEveryShard, type Store } from "../store/store";
import {
  add,
  binAt,
  binStep,
  binsPerTarget,
  bucketRange,
  locateMiddle,
  type Narrowing,
  narrowTo,
  sortedBins,
} from "./median";
import {
  addCounts,
  type CountsRow,
  FIRST_TWO_DIGITS,
  type GroupKey,
  type InviteCounts,
  type OpenTimesRow,
  readInviteCounts,
  readOpenTimeBins,
  type Span,
  type StatsDimension,
  type StatsFilter,
} from "./shard-queries";

export interface GroupStats extends InviteCounts {
  key: GroupKey;
  /** Median of `consumed_at - issued_at` over the group's opened invites; null when none. */
  medianMsToOpen: number | null;
}

interface InviteStats {
  /** One entry per group that has invites, in no particular order. */
  groups: GroupStats[];
  /** Median time to open over every opened invite matched (not a median of medians). */
  totalMedianMsToOpen: number | null;
}

/** A middle value to find: of one group, or of every group (`total`). */
interface Target extends Narrowing {
  total: boolean;
  key: GroupKey;
}

/** Adds up the shards' rows of each group. */
function mergeCounts(rows: CountsRow[]): CountsRow[] {
  const merged = new Map<GroupKey, CountsRow>();
  for (const row of rows) {
    const into = merged.get(row.key);
    if (into) addCounts(into, row);
    else merged.set(row.key, { ...row });
  }
  return [...merged.values()];
}

/**
 * Counts and medians per group for the invites issued in the filter's days, over every shard.
 *
 * @example
 * const { groups } = await readInviteStats(store, { fromDay, beforeDay, now }, "survey");
 */
export async function readInviteStats(
  store: Store,
  filter: StatsFilter,
  groupBy: StatsDimension,
): Promise<InviteStats> {
  const shards = await onEveryShard(store, (db) => readInviteCounts(db, filter, groupBy));
  const counts = mergeCounts(shards.flatMap((s) => s.counts));
  const histograms = openTimeHistograms(shards.flatMap((s) => s.openTimes));

  // Step 1: the digit count of each middle value, per group and over all groups.
  const pending = [...histograms.byDigits].flatMap(([id, histogram]) => {
    const [total, key] = JSON.parse(id) as [boolean, GroupKey];
    return locateMiddle(histogram).map(({ bin, rank }) => ({ total, key, digits: bin, rank }));
  });
  // Step 2: its first two digits, from the same rows.
  const targets = pending.map((p): Target => {
    const bins = sortedBins(histograms.of(p.total, p.key, p.digits));
    const at = binAt(bins, p.rank);
    if (at === undefined) throw new Error("a median's rank is beyond its digit count's histogram");
    const [lo, hi] = bucketRange(p.digits, at.bin);
    return { total: p.total, key: p.key, lo, hi, rank: at.rank, count: at.count };
  });
  await narrowDown(store, filter, groupBy, targets);
  const median = (total: boolean, key: GroupKey): number | null => {
    const values = targets.filter((t) => t.total === total && t.key === key).map((t) => t.lo);
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
  };
  return {
    groups: counts.map((row) => ({ ...row, medianMsToOpen: median(false, row.key) })),
    totalMedianMsToOpen: median(true, null),
  };
}

/**
 * The shards' open-time rows added up: per group and over all groups, a histogram over digit
 * counts, and per digit count one over first two digits.
 */
function openTimeHistograms(rows: OpenTimesRow[]) {
  const byDigits = new Map<string, Map<number, number>>();
  const byFirstTwo = new Map<string, Map<number, number>>();
  const histogram = (maps: Map<string, Map<number, number>>, id: string) => {
    const found = maps.get(id) ?? new Map<number, number>();
    maps.set(id, found);
    return found;
  };
  for (const [key, digits, ...perFirstTwo] of rows) {
    for (const [total, groupKey] of [
      [false, key],
      [true, null],
    ] as const) {
      const digitsHistogram = histogram(byDigits, JSON.stringify([total, groupKey]));
      const firstTwoHistogram = histogram(byFirstTwo, JSON.stringify([total, groupKey, digits]));
      perFirstTwo.forEach((count, i) => {
        if (count === 0) return;
        add(digitsHistogram, digits, count);
        add(firstTwoHistogram, FIRST_TWO_DIGITS[i] ?? 0, count);
      });
    }
  }
  return {
    byDigits,
    of: (total: boolean, key: GroupKey, digits: number) =>
      histogram(byFirstTwo, JSON.stringify([total, total ? null : key, digits])),
  };
}

/**
 * Step 3: narrows every target to one value. Each round gathers the targets' bins into spans
 * (targets sharing a range share a span), asks every shard for its counts per span, group and
 * bin, adds them up, and keeps the bin holding each target's rank.
 */
async function narrowDown(
  store: Store,
  filter: StatsFilter,
  groupBy: StatsDimension,
  targets: Target[],
): Promise<void> {
  const everyDay = Array.from(
    { length: filter.beforeDay - filter.fromDay },
    (_, i) => filter.fromDay + i,
  );
  for (;;) {
    const open = targets.filter((t) => t.lo < t.hi);
    if (open.length === 0) return;
    const perTarget = binsPerTarget(open.length);
    const spans = new Map<string, Span & { index: number; dayset: Set<number> }>();
    const spanOf = new Map<Target, Span & { index: number }>();
    for (const t of open) {
      const step = binStep(t.lo, t.hi, t.count, perTarget);
      const id = `${t.lo}:${t.hi}:${step}`;
      const span = spans.get(id) ?? {
        index: spans.size,
        lo: t.lo,
        hi: t.hi,
        step,
        days: [],
        dayset: new Set<number>(),
        byGroup: false,
      };
      // Counted per group only when a group's middle value is in it: totals need no split.
      if (!t.total) span.byGroup = true;
      spans.set(id, span);
      // A day group's times all lie in its own day; anything else spans the whole range.
      for (const day of !t.total && groupBy === "day" ? [Number(t.key)] : everyDay) {
        span.dayset.add(day);
      }
      spanOf.set(t, span);
    }
    const list = [...spans.values()].map((s) => ({ ...s, days: [...s.dayset] }));
    const rows = (
      await onEveryShard(store, (db) => readOpenTimeBins(db, filter, groupBy, list))
    ).flat();
    // Counts per span and group, and per span over all groups.
    const bins = new Map<string, Map<number, number>>();
    const binsOf = (span: number, total: boolean, key: GroupKey) => {
      const id = JSON.stringify([span, total, total ? null : key]);
      const histogram = bins.get(id) ?? new Map<number, number>();
      bins.set(id, histogram);
      return histogram;
    };
    for (const row of rows) {
      if (row.key !== null || list[row.span]?.byGroup)
        add(binsOf(row.span, false, row.key), row.bin, row.n);
      add(binsOf(row.span, true, null), row.bin, row.n);
    }
    for (const t of open) {
      const span = spanOf.get(t);
      if (!span) throw new Error("every open target has a span");
      Object.assign(t, narrowTo(sortedBins(binsOf(span.index, t.total, t.key)), t.rank, span.step));
    }
  }
}
