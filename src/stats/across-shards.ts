/**
 * Invite counts and times to open over every ledger shard, in one round: each shard answers its
 * counts and its time-to-open sketches per group in one round trip, the counts are added up and
 * the sketches merged bucket by bucket (src/stats/sketch.ts), and the median and 90th percentile
 * are read from the merged sketches: within 1 % of the exact values, and no shard ever ships its
 * times to open.
 *
 * The buckets are exclusive, so for every group `issued = opened + revoked + expired + live`
 * (live: not opened, not revoked, not yet expired; not returned, it is the remainder).
 */

import { onEveryShard, type Store } from "../store/store";
import {
  addCounts,
  type CountsRow,
  type GroupKey,
  type InviteCounts,
  readShardStats,
  type SketchRow,
  type StatsDimension,
  type StatsFilter,
} from "./shard-queries";
import { addToSketch, newSketch, type Sketch, sketchQuantile } from "./sketch";

/** Percentiles of the time from issue to first open over opened invites, ms; null when none. */
export interface OpenTimes {
  medianMsToOpen: number | null;
  p90MsToOpen: number | null;
}

export interface GroupStats extends InviteCounts, OpenTimes {
  key: GroupKey;
}

interface InviteStats {
  /** One entry per group that has invites, in no particular order. */
  groups: GroupStats[];
  /** Over every opened invite matched (not a median of medians). */
  totalOpenTimes: OpenTimes;
}

/** No opened invite: no percentile. */
export const NO_OPEN_TIMES: Readonly<OpenTimes> = { medianMsToOpen: null, p90MsToOpen: null };

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

const COLON = 58;
const COMMA = 44;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

/**
 * Adds a group's sketch rows (`{"bucket":count,…},{…}`, shard-queries.ts) to both sketches,
 * read character by character: an answer over many shards carries hundreds of thousands of
 * buckets. Quotes and braces only separate; a count of 0 (a time moved away) adds nothing.
 */
function addPacked(packed: string, group: Sketch, total: Sketch): void {
  let value = 0;
  let negative = false;
  let bucket = 0;
  for (let i = 0; i <= packed.length; i++) {
    const c = i < packed.length ? packed.charCodeAt(i) : COMMA;
    if (c === COLON) {
      bucket = negative ? -value : value;
    } else if (c === COMMA) {
      const count = negative ? -value : value;
      addToSketch(group, bucket, count);
      addToSketch(total, bucket, count);
    } else if (c === MINUS) {
      negative = true;
      continue;
    } else {
      if (c >= ZERO && c <= NINE) value = value * 10 + (c - ZERO);
      continue;
    }
    value = 0;
    negative = false;
  }
}

/** The shards' sketch rows merged per group, and over all groups. */
function mergeSketches(rows: SketchRow[]): { byGroup: Map<GroupKey, Sketch>; total: Sketch } {
  const byGroup = new Map<GroupKey, Sketch>();
  const total = newSketch();
  for (const row of rows) {
    let sketch = byGroup.get(row.key);
    if (!sketch) {
      sketch = newSketch();
      byGroup.set(row.key, sketch);
    }
    addPacked(row.buckets, sketch, total);
  }
  return { byGroup, total };
}

const openTimes = (sketch: Sketch | undefined): OpenTimes =>
  sketch
    ? { medianMsToOpen: sketchQuantile(sketch, 0.5), p90MsToOpen: sketchQuantile(sketch, 0.9) }
    : NO_OPEN_TIMES;

/**
 * Counts and times to open per group for the invites issued in the filter's days, over every
 * shard, in one round.
 *
 * @example
 * const { groups } = await readInviteStats(store, { fromDay, beforeDay, now }, "survey");
 */
export async function readInviteStats(
  store: Store,
  filter: StatsFilter,
  groupBy: StatsDimension,
): Promise<InviteStats> {
  const shards = await onEveryShard(store, (db) => readShardStats(db, filter, groupBy));
  const counts = mergeCounts(shards.flatMap((s) => s.counts));
  const sketches = mergeSketches(shards.flatMap((s) => s.sketches));
  return {
    groups: counts.map((row) => ({ ...row, ...openTimes(sketches.byGroup.get(row.key)) })),
    totalOpenTimes: openTimes(sketches.total),
  };
}
