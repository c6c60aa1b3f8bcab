/**
 * Invite counts for analysts, computed in D1 in two statements that read only the
 * `invites_stats` covering index (migration 0002): one batch counts every group and histograms
 * its times to open, then one statement fetches the few exact times the medians need. Only
 * group keys and numbers leave this module, never a customer id or embedded data.
 *
 * The buckets are exclusive, so for every group `issued = opened + revoked + expired + live`
 * (live: not opened, not revoked, not yet expired; not returned, it is the remainder).
 */

/** What rows are grouped by. The SQL expression comes from this table, never from input. */
export type StatsDimension = "day" | "survey" | "trigger" | "channel";

const MS_PER_DAY = 86_400_000;

const GROUP_KEY: Record<StatsDimension, string> = {
  // Integer division: the UTC day number since 1970-01-01.
  day: `issued_at / ${MS_PER_DAY}`,
  survey: "survey",
  trigger: "trigger",
  channel: "channel",
};

export interface StatsFilter {
  /** Issue time range, Unix ms: `issuedFrom` inclusive, `issuedBefore` exclusive. */
  issuedFrom: number;
  issuedBefore: number;
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
  key: string | number | null;
  /** Median of `consumed_at - issued_at` over the group's opened invites; null when none. */
  medianMsToOpen: number | null;
}

export interface InviteStats {
  /** One entry per group that has invites, ordered by key. */
  groups: GroupStats[];
  /** Median time to open over every opened invite matched (not a median of medians). */
  totalMedianMsToOpen: number | null;
}

/** The day number `readInviteStats` uses as the key of a day group. */
export const dayNumber = (ms: number): number => Math.floor(ms / MS_PER_DAY);

function whereClause(filter: StatsFilter): { sql: string; params: (string | number)[] } {
  const conditions = ["issued_at >= ?", "issued_at < ?"];
  const params: (string | number)[] = [filter.issuedFrom, filter.issuedBefore];
  if (filter.survey !== undefined) {
    conditions.push("survey = ?");
    params.push(filter.survey);
  }
  if (filter.trigger !== undefined) {
    conditions.push("trigger = ?");
    params.push(filter.trigger);
  }
  if (filter.channel === null) {
    conditions.push("channel IS NULL");
  } else if (filter.channel !== undefined) {
    conditions.push("channel = ?");
    params.push(filter.channel);
  }
  return { sql: conditions.join(" AND "), params };
}

/**
 * Times to open (ms) bucketed by digit count and first two digits: 0…99 ms one bucket each,
 * then 100-109 ms … 990-999 ms, 1000-1099 ms …, so a bucket spans under 10% of its values and
 * about 90 buckets cover each power of ten. Buckets only grow with the time, so a histogram of
 * them locates a median's bucket and its rank there. Negative times (clock skew) count as 0.
 */
/**
 * Every statement reads the covering index (migration 0002). Pinned because, without ANALYZE
 * statistics, SQLite may pick UNIQUE(survey, transaction_id) for a survey filter: every invite
 * of that survey ever issued, table rows (personal data) included.
 */
const SOURCE = "invites INDEXED BY invites_stats";

const OPEN_MS = "MAX(consumed_at - issued_at, 0)";
const OPEN_BUCKET = `(length(${OPEN_MS}) * 100 + substr(${OPEN_MS}, 1, 2))`;

interface CountsRow extends InviteCounts {
  key: string | number | null;
}

/** How many of a group's opened invites have a time to open in `bucket`. */
interface HistogramRow {
  key: string | number | null;
  bucket: number;
  opened: number;
}

/** Where a median's middle value sits: its bucket and its 1-based rank inside the bucket. */
interface Target {
  total: 0 | 1;
  key: string | number | null;
  bucket: number;
  rank: number;
}

interface TargetRow extends Target {
  ms: number;
}

/** The middle one or two positions (1-based) of `n` sorted values. */
const middle = (n: number): number[] => (n % 2 === 1 ? [(n + 1) / 2] : [n / 2, n / 2 + 1]);

/** The bucket and in-bucket rank of each middle value of a histogram. */
function locate(histogram: Map<number, number>, key: Target["key"], total: 0 | 1): Target[] {
  const buckets = [...histogram.entries()].sort(([a], [b]) => a - b);
  const n = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (n === 0) return [];
  return middle(n).map((position) => {
    let below = 0;
    for (const [bucket, count] of buckets) {
      if (position <= below + count) return { total, key, bucket, rank: position - below };
      below += count;
    }
    throw new Error("median position beyond the histogram");
  });
}

const targetId = (t: Target): string => JSON.stringify([t.total, t.key, t.bucket, t.rank]);

function median(targets: Target[], found: Map<string, number>): number | null {
  if (targets.length === 0) return null;
  const values = targets.map((t) => found.get(targetId(t)));
  if (values.some((v) => v === undefined)) throw new Error("a median's middle value is missing");
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Counts and medians per group for the invites issued in the filter's range.
 *
 * @example
 * const { groups } = await readInviteStats(env.DB, { issuedFrom, issuedBefore, now }, "survey");
 */
export async function readInviteStats(
  db: D1Database,
  filter: StatsFilter,
  groupBy: StatsDimension,
): Promise<InviteStats> {
  const key = GROUP_KEY[groupBy];
  const where = whereClause(filter);
  // Counts per group, and a histogram of each group's times to open (narrow rows: a wide row
  // per bucket would make long ranges heavy to return). One round trip.
  const [countResult, histogramResult] = await db.batch<CountsRow | HistogramRow>([
    db
      .prepare(
        `SELECT ${key} AS key,
           COUNT(*) AS issued,
           COUNT(consumed_at) AS opened,
           SUM(reopen_count) AS reopened,
           SUM(preview_count) AS previews,
           SUM(blocked_count) AS blocked,
           SUM(consumed_at IS NULL AND revoked_at IS NULL AND expires_at <= ?) AS expired,
           SUM(consumed_at IS NULL AND revoked_at IS NOT NULL) AS revoked,
           COUNT(completed_at) AS completed
         FROM ${SOURCE}
         WHERE ${where.sql}
         GROUP BY key
         ORDER BY key`,
      )
      .bind(filter.now, ...where.params),
    db
      .prepare(
        `SELECT ${key} AS key, ${OPEN_BUCKET} AS bucket, COUNT(*) AS opened
         FROM ${SOURCE}
         WHERE ${where.sql} AND consumed_at IS NOT NULL
         GROUP BY key, bucket`,
      )
      .bind(...where.params),
  ]);
  const histograms = new Map<CountsRow["key"], Map<number, number>>();
  const everyOpen = new Map<number, number>();
  for (const row of (histogramResult?.results ?? []) as HistogramRow[]) {
    const histogram = histograms.get(row.key) ?? new Map<number, number>();
    histogram.set(row.bucket, row.opened);
    histograms.set(row.key, histogram);
    everyOpen.set(row.bucket, (everyOpen.get(row.bucket) ?? 0) + row.opened);
  }

  // SQLite has no MEDIAN, and sorting every opened invite is the slow part of a big range. The
  // histograms say which bucket holds each middle value and at which rank; this statement ranks
  // only the invites in those buckets (per group, and across groups for the total).
  const groupTargets = new Map(
    [...histograms].map(([groupKey, histogram]) => [groupKey, locate(histogram, groupKey, 0)]),
  );
  const totalTargets = locate(everyOpen, null, 1);
  const targets = [...[...groupTargets.values()].flat(), ...totalTargets];
  const found = new Map<string, number>();
  if (targets.length > 0) {
    const buckets = [...new Set(targets.map((t) => t.bucket))];
    const { results } = await db
      .prepare(
        `WITH candidates AS MATERIALIZED (
           SELECT ${key} AS key, ${OPEN_BUCKET} AS bucket, consumed_at - issued_at AS ms
           FROM ${SOURCE}
           WHERE ${where.sql} AND consumed_at IS NOT NULL
             AND ${OPEN_BUCKET} IN (SELECT value FROM json_each(?))
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
         targets AS (
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
        ...where.params,
        JSON.stringify(buckets),
        JSON.stringify(targets.map((t) => [t.total, t.key, t.bucket, t.rank])),
      )
      .all<TargetRow>();
    for (const row of results) found.set(targetId(row), row.ms);
  }

  const countRows = (countResult?.results ?? []) as CountsRow[];
  return {
    groups: countRows.map((row) => ({
      key: row.key,
      issued: row.issued,
      opened: row.opened,
      reopened: row.reopened ?? 0,
      previews: row.previews ?? 0,
      blocked: row.blocked ?? 0,
      expired: row.expired ?? 0,
      revoked: row.revoked ?? 0,
      completed: row.completed,
      medianMsToOpen: median(groupTargets.get(row.key) ?? [], found),
    })),
    totalMedianMsToOpen: median(totalTargets, found),
  };
}
