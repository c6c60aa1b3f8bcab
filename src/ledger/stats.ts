/**
 * Invite counts for analysts, computed in D1: one aggregate statement and one median statement,
 * sent in one batch. Both read only the `invites_stats` covering index (migration 0002), and
 * neither returns a customer id or embedded data: only group keys and numbers leave this module.
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

interface CountsRow extends InviteCounts {
  key: string | number | null;
}

interface MedianRow {
  key: string | number | null;
  median_ms: number | null;
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
  const counts = db
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
       FROM invites
       WHERE ${where.sql}
       GROUP BY key
       ORDER BY key`,
    )
    .bind(filter.now, ...where.params);
  // SQLite has no MEDIAN: rank the times to open and average the middle one or two. Ranking is
  // one sort of the opened invites, per group (`groupKey`) or over all of them (null).
  const median = (groupKey: string | null) =>
    db
      .prepare(
        `SELECT key, AVG(ms) AS median_ms
         FROM (
           SELECT ${groupKey ?? "NULL"} AS key, consumed_at - issued_at AS ms,
             ROW_NUMBER() OVER w AS rn,
             COUNT(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
           FROM invites
           WHERE ${where.sql} AND consumed_at IS NOT NULL
           WINDOW w AS (${groupKey ? `PARTITION BY ${groupKey}` : ""} ORDER BY consumed_at - issued_at)
         )
         WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
         GROUP BY key`,
      )
      .bind(...where.params);
  const [countRows, groupMedians, totalMedian] = await db.batch<CountsRow | MedianRow>([
    counts,
    median(key),
    median(null),
  ]);
  const medianByKey = new Map<string | number | null, number | null>(
    ((groupMedians?.results ?? []) as MedianRow[]).map((row) => [row.key, row.median_ms]),
  );
  const totalMedianMsToOpen = (totalMedian?.results[0] as MedianRow | undefined)?.median_ms ?? null;
  const groups = ((countRows?.results ?? []) as CountsRow[]).map((row) => ({
    key: row.key,
    issued: row.issued,
    opened: row.opened,
    reopened: row.reopened ?? 0,
    previews: row.previews ?? 0,
    blocked: row.blocked ?? 0,
    expired: row.expired ?? 0,
    revoked: row.revoked ?? 0,
    completed: row.completed,
    medianMsToOpen: medianByKey.get(row.key) ?? null,
  }));
  return { groups, totalMedianMsToOpen };
}
