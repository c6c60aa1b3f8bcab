/**
 * Invite counts for analysts, read from the rollups that triggers on `invites` keep exact
 * (migration 0004): `invite_counts` per issue day, survey, trigger, channel and expiry day, and
 * `invite_open_times`, a histogram of times to open. An answer reads rollup rows (a few per day
 * and group), the invites expiring today, and the few opened invites that the exact medians
 * need, never every invite of its range. Only group keys and numbers leave this module, never a
 * customer id or embedded data.
 *
 * The buckets are exclusive, so for every group `issued = opened + revoked + expired + live`
 * (live: not opened, not revoked, not yet expired; not returned, it is the remainder).
 */

/** What rows are grouped by. The SQL expressions come from these tables, never from input. */
type StatsDimension = "day" | "survey" | "trigger" | "channel";

const MS_PER_DAY = 86_400_000;

/** Group keys in the rollup tables, where an invite without a channel has channel ''. */
const ROLLUP_KEY: Record<StatsDimension, string> = {
  day: "day",
  survey: "survey",
  trigger: "trigger",
  channel: "NULLIF(channel, '')",
};

/** The same keys read from `invites` (the expressions of its indexes, migration 0004). */
const INVITE_KEY: Record<StatsDimension, string> = {
  day: `issued_at / ${MS_PER_DAY}`,
  survey: "survey",
  trigger: "trigger",
  channel: "channel",
};

interface StatsFilter {
  /** Issue days (UTC day numbers, see `dayNumber`): `fromDay` inclusive, `beforeDay` exclusive. */
  fromDay: number;
  beforeDay: number;
  survey?: string;
  trigger?: string;
  /** A channel, or `null` for invites issued without one. */
  channel?: string | null;
  /** The moment "expired" is judged at, Unix ms. */
  now: number;
}

export interface InviteCounts {
  /** Invites issued in the range. */
  issued: number;
  /** Of those, claimed by a tap (consumed). Includes invites revoked after their open. */
  opened: number;
  /** Extra opens from the browser that claimed the invite. */
  reopened: number;
  /** HEAD requests and link-preview bots. */
  previews: number;
  /** Taps refused because the invite was already used. */
  blocked: number;
  /** Never opened, not revoked, and past expiry at `now`. */
  expired: number;
  /** Revoked before anyone opened them. */
  revoked: number;
  /** Marked completed by reconciliation. */
  completed: number;
}

export interface GroupStats extends InviteCounts {
  /** Day number (day grouping), survey, trigger, or channel (`null`: no channel). */
  key: GroupKey;
  /** Median of `consumed_at - issued_at` over the group's opened invites; null when none. */
  medianMsToOpen: number | null;
}

interface InviteStats {
  /** One entry per group that has invites, ordered by key. */
  groups: GroupStats[];
  /** Median time to open over every opened invite matched (not a median of medians). */
  totalMedianMsToOpen: number | null;
}

type GroupKey = string | number | null;

/** The day number `readInviteStats` uses as the key of a day group. */
export const dayNumber = (ms: number): number => Math.floor(ms / MS_PER_DAY);

interface Where {
  sql: string;
  params: (string | number)[];
}

/**
 * The survey, trigger and channel conditions, one per element of `sql`. `noChannel` is how the
 * table spells "no channel": '' in the rollups (key columns are NOT NULL), NULL in `invites`.
 */
function groupConditions(
  filter: StatsFilter,
  noChannel: "channel = ''" | "channel IS NULL",
): { sql: string[]; params: string[] } {
  const sql: string[] = [];
  const params: string[] = [];
  if (filter.survey !== undefined) {
    sql.push("survey = ?");
    params.push(filter.survey);
  }
  if (filter.trigger !== undefined) {
    sql.push("trigger = ?");
    params.push(filter.trigger);
  }
  if (filter.channel === null) {
    sql.push(noChannel);
  } else if (filter.channel !== undefined) {
    sql.push("channel = ?");
    params.push(filter.channel);
  }
  return { sql, params };
}

/** The filter on the rollup tables (issue day, survey, trigger, channel columns). */
function rollupWhere(filter: StatsFilter): Where {
  const group = groupConditions(filter, "channel = ''");
  return {
    sql: ["day >= ?", "day < ?", ...group.sql].join(" AND "),
    params: [filter.fromDay, filter.beforeDay, ...group.params],
  };
}

/** The same filter on `invites`, without the issue range (each statement bounds it its way). */
function inviteWhere(filter: StatsFilter): Where {
  const group = groupConditions(filter, "channel IS NULL");
  return { sql: group.sql.map((c) => ` AND ${c}`).join(""), params: group.params };
}

// ---- medians -------------------------------------------------------------------------------
//
// SQLite has no MEDIAN, and sorting every opened invite is what made big ranges slow. Times to
// open are bucketed by digit count and first two digits (migration 0004): `digits` 2 holds
// 0…99 ms one value each (under 10 ms, and negative times, all in 10), then 100-109 ms …
// 990-999 ms, 1000-1099 ms …; buckets only grow with the time. Three steps, each narrower:
// which digit count holds each middle value (rollup), which first two digits (rollup, only the
// rows of that digit count), and the exact value (index invites_open_time, only the invites of
// that bucket, ranked).

const FIRST_TWO_DIGITS = Array.from({ length: 90 }, (_, i) => i + 10);

/** Bucket id: digit count × 100 + first two digits, as ordered as the times it holds. */
const bucketId = (digits: number, firstTwo: number): number => digits * 100 + firstTwo;

/** The times to open (ms) a bucket holds, both ends inclusive. */
function bucketRange(bucket: number): [number, number] {
  const digits = Math.floor(bucket / 100);
  const firstTwo = bucket % 100;
  const unit = 10 ** (digits - 2);
  const hi = (firstTwo + 1) * unit - 1;
  // The first bucket also holds every time under 10 ms, negative ones (clock skew) included.
  return [digits === 2 && firstTwo === 10 ? Number.MIN_SAFE_INTEGER : firstTwo * unit, hi];
}

/** The middle one or two positions (1-based) of `n` sorted values. */
const middle = (n: number): number[] => (n % 2 === 1 ? [(n + 1) / 2] : [n / 2, n / 2 + 1]);

/**
 * The bin holding the `position`-th value (1-based) of a histogram whose bins are in order, and
 * that value's 1-based rank in the bin; undefined when the histogram holds fewer values.
 */
function binAt(
  bins: [number, number][],
  position: number,
): { bin: number; rank: number } | undefined {
  let below = 0;
  for (const [bin, count] of bins) {
    if (position <= below + count) return { bin, rank: position - below };
    below += count;
  }
  return undefined;
}

/** Where each middle value of a histogram sits: its bin and its 1-based rank in the bin. */
function locate(histogram: Map<number, number>): { bin: number; rank: number }[] {
  const bins = [...histogram.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => a - b);
  const total = bins.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return [];
  return middle(total).map((position) => {
    const at = binAt(bins, position);
    if (at === undefined) throw new Error("median position beyond the histogram");
    return at;
  });
}

/** Adds `count` to `map[key]`. */
function add<K>(map: Map<K, number>, key: K, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

/** A middle value to find: of one group (`total` 0) or of every group (`total` 1). */
interface Target {
  total: 0 | 1;
  key: GroupKey;
  bucket: number;
  rank: number;
}

/** One middle value on its way down: its digit count and its rank among those times. */
interface Pending {
  total: 0 | 1;
  key: GroupKey;
  digits: number;
  rank: number;
}

const targetId = (t: Pick<Target, "total" | "key" | "bucket" | "rank">): string =>
  JSON.stringify([t.total, t.key, t.bucket, t.rank]);

interface DigitsRow {
  key: GroupKey;
  digits: number;
  opened: number;
}

interface CountsRow extends InviteCounts {
  key: GroupKey;
}

interface ExpiredTodayRow {
  key: GroupKey;
  expired: number;
}

/**
 * Counts and medians per group for the invites issued in the filter's days.
 *
 * @example
 * const { groups } = await readInviteStats(env.DB, { fromDay, beforeDay, now }, "survey");
 */
export async function readInviteStats(
  db: D1Database,
  filter: StatsFilter,
  groupBy: StatsDimension,
): Promise<InviteStats> {
  const key = ROLLUP_KEY[groupBy];
  const inviteKey = INVITE_KEY[groupBy];
  const rollup = rollupWhere(filter);
  const invites = inviteWhere(filter);
  const today = dayNumber(filter.now);

  // One round trip: the counts; the invites that expired earlier today (a rollup row only knows
  // its invites' expiry day); and how many opened invites each group has per digit count.
  const [countResult, expiredTodayResult, digitsResult] = await db.batch<
    CountsRow | ExpiredTodayRow | DigitsRow
  >([
    // In rows whose expiry day is before today, every invite still unclaimed has expired.
    // (A row can hold zeros once its invites moved away: HAVING keeps such groups out.)
    db
      .prepare(
        `SELECT ${key} AS key,
           SUM(issued) AS issued, SUM(opened) AS opened, SUM(reopened) AS reopened,
           SUM(previews) AS previews, SUM(blocked) AS blocked, SUM(revoked) AS revoked,
           SUM(completed) AS completed,
           SUM(iif(expiry_day < ?, issued - opened - revoked, 0)) AS expired
         FROM invite_counts
         WHERE ${rollup.sql}
         GROUP BY key
         HAVING SUM(issued) > 0
         ORDER BY key`,
      )
      .bind(today, ...rollup.params),
    db
      .prepare(
        `SELECT ${inviteKey} AS key, COUNT(*) AS expired
         FROM invites INDEXED BY invites_unclaimed_expiry
         WHERE consumed_at IS NULL AND revoked_at IS NULL
           AND expires_at >= ? AND expires_at <= ?
           AND issued_at >= ? AND issued_at < ?${invites.sql}
         GROUP BY key`,
      )
      .bind(
        today * MS_PER_DAY,
        filter.now,
        filter.fromDay * MS_PER_DAY,
        filter.beforeDay * MS_PER_DAY,
        ...invites.params,
      ),
    db
      .prepare(
        `SELECT ${key} AS key, digits, SUM(opened) AS opened
         FROM invite_open_times
         WHERE ${rollup.sql}
         GROUP BY key, digits`,
      )
      .bind(...rollup.params),
  ]);

  // Step 1: the digit count of each middle value, per group and over all groups.
  const byDigits = new Map<GroupKey, Map<number, number>>();
  const totalByDigits = new Map<number, number>();
  for (const row of (digitsResult?.results ?? []) as DigitsRow[]) {
    const histogram = byDigits.get(row.key) ?? new Map<number, number>();
    add(histogram, row.digits, row.opened);
    byDigits.set(row.key, histogram);
    add(totalByDigits, row.digits, row.opened);
  }
  const pending: Pending[] = [
    ...[...byDigits].flatMap(([groupKey, histogram]) =>
      locate(histogram).map(({ bin, rank }) => ({
        total: 0 as const,
        key: groupKey,
        digits: bin,
        rank,
      })),
    ),
    ...locate(totalByDigits).map(({ bin, rank }) => ({
      total: 1 as const,
      key: null,
      digits: bin,
      rank,
    })),
  ];

  const targets = await locateBuckets(db, key, rollup, pending);
  const found = await findTimes(db, filter, groupBy, inviteKey, invites, targets);
  const median = (total: 0 | 1, groupKey: GroupKey): number | null => {
    const values = targets
      .filter((t) => t.total === total && t.key === groupKey)
      .map((t) => found.get(targetId(t)));
    if (values.length === 0) return null;
    if (values.some((v) => v === undefined)) throw new Error("a median's middle value is missing");
    return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
  };

  const expiredToday = new Map<GroupKey, number>();
  for (const row of (expiredTodayResult?.results ?? []) as ExpiredTodayRow[]) {
    expiredToday.set(row.key, row.expired);
  }
  const countRows = (countResult?.results ?? []) as CountsRow[];
  return {
    groups: countRows.map((row) => ({
      key: row.key,
      issued: row.issued,
      opened: row.opened,
      reopened: row.reopened,
      previews: row.previews,
      blocked: row.blocked,
      expired: row.expired + (expiredToday.get(row.key) ?? 0),
      revoked: row.revoked,
      completed: row.completed,
      medianMsToOpen: median(0, row.key),
    })),
    totalMedianMsToOpen: median(1, null),
  };
}

/**
 * Step 2: the first two digits of each middle value, from the histogram rows of its digit
 * count only. Returns each middle value's bucket and its rank among the bucket's times.
 */
async function locateBuckets(
  db: D1Database,
  key: string,
  rollup: Where,
  pending: Pending[],
): Promise<Target[]> {
  if (pending.length === 0) return [];
  const digitsWanted = [...new Set(pending.map((p) => p.digits))];
  const rows = await db
    .prepare(
      `SELECT ${key} AS key, digits, ${FIRST_TWO_DIGITS.map((d) => `SUM(n${d})`).join(", ")}
       FROM invite_open_times
       WHERE ${rollup.sql} AND digits IN (SELECT value FROM json_each(?))
       GROUP BY key, digits`,
    )
    .bind(...rollup.params, JSON.stringify(digitsWanted))
    .raw<[GroupKey, number, ...number[]]>();
  // Histograms over first two digits, per (group, digit count) and per digit count for all.
  const histograms = new Map<string, Map<number, number>>();
  const histogramOf = (total: 0 | 1, groupKey: GroupKey, digits: number) => {
    const id = JSON.stringify([total, total === 1 ? null : groupKey, digits]);
    const histogram = histograms.get(id) ?? new Map<number, number>();
    histograms.set(id, histogram);
    return histogram;
  };
  for (const [groupKey, digits, ...counts] of rows) {
    counts.forEach((count, i) => {
      const firstTwo = FIRST_TWO_DIGITS[i] ?? 0;
      add(histogramOf(0, groupKey, digits), firstTwo, count);
      add(histogramOf(1, null, digits), firstTwo, count);
    });
  }
  return pending.map((p) => {
    // The p.rank-th time of this digit count, among its first-two-digit bins in order.
    const bins = [...histogramOf(p.total, p.key, p.digits)].sort(([a], [b]) => a - b);
    const at = binAt(bins, p.rank);
    if (at === undefined) throw new Error("a median's rank is beyond its digit count's histogram");
    return { total: p.total, key: p.key, bucket: bucketId(p.digits, at.bin), rank: at.rank };
  });
}

/**
 * Step 3: the exact times at the targets' ranks. Reads only the opened invites of the target
 * buckets (per issue day, through the index on issue day and time to open), ranks them per
 * group and bucket, and across groups per bucket for the total.
 */
async function findTimes(
  db: D1Database,
  filter: StatsFilter,
  groupBy: StatsDimension,
  inviteKey: string,
  invites: Where,
  targets: Target[],
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  if (targets.length === 0) return found;
  // Index ranges to read: (issue day, bucket). A day group's bucket lies in its own day; any
  // other group's, and the total's, spans every day of the range.
  const spans = new Map<string, [number, number, number, number]>();
  const addSpan = (day: number, bucket: number) => {
    const [lo, hi] = bucketRange(bucket);
    spans.set(`${day}:${bucket}`, [day, bucket, lo, hi]);
  };
  for (const t of targets) {
    if (t.total === 0 && groupBy === "day") {
      addSpan(Number(t.key), t.bucket);
    } else {
      for (let day = filter.fromDay; day < filter.beforeDay; day++) addSpan(day, t.bucket);
    }
  }
  const { results } = await db
    .prepare(
      `WITH spans AS MATERIALIZED (
         SELECT value ->> '$[0]' AS day, value ->> '$[1]' AS bucket,
           value ->> '$[2]' AS lo, value ->> '$[3]' AS hi
         FROM json_each(?)
       ),
       candidates AS MATERIALIZED (
         SELECT ${inviteKey} AS key, spans.bucket AS bucket, consumed_at - issued_at AS ms
         FROM spans CROSS JOIN invites INDEXED BY invites_open_time
         WHERE issued_at / ${MS_PER_DAY} = spans.day
           AND consumed_at - issued_at BETWEEN spans.lo AND spans.hi
           AND consumed_at IS NOT NULL${invites.sql}
       ),
       ranked AS (
         SELECT 0 AS total, key, bucket, ms,
           ROW_NUMBER() OVER (PARTITION BY key, bucket ORDER BY ms) AS rank
         FROM candidates
         UNION ALL
         SELECT 1 AS total, NULL AS key, bucket, ms,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY ms) AS rank
         FROM candidates
       ),
       targets AS MATERIALIZED (
         SELECT value ->> '$[0]' AS total, value ->> '$[1]' AS key,
           value ->> '$[2]' AS bucket, value ->> '$[3]' AS rank
         FROM json_each(?)
       )
       SELECT ranked.total, ranked.key, ranked.bucket, ranked.rank, ranked.ms
       FROM ranked JOIN targets
         ON targets.total = ranked.total AND targets.key IS ranked.key
         AND targets.bucket = ranked.bucket AND targets.rank = ranked.rank`,
    )
    .bind(
      JSON.stringify([...spans.values()]),
      ...invites.params,
      JSON.stringify(targets.map((t) => [t.total, t.key, t.bucket, t.rank])),
    )
    .all<Target & { ms: number }>();
  for (const row of results) found.set(targetId(row), row.ms);
  return found;
}
