/**
 * The stats queries of one ledger shard, read from the rollups that triggers on `invites` keep
 * exact (migration 0004): `invite_counts` per issue day, survey, trigger, channel and expiry day,
 * and `invite_open_times`, a histogram of times to open (also added up per day and survey,
 * migration 0011). Each statement reads rollup rows, the invites expiring today, or the opened
 * invites of a narrow range of times to open — never every invite of a range. Only group keys
 * and numbers leave this module, never a customer id or embedded data. Merging shards and
 * finding exact medians is `across-shards.ts`.
 */

/** What rows are grouped by. The SQL expressions come from these tables, never from input. */
export type StatsDimension = "day" | "survey" | "trigger" | "channel";

export const MS_PER_DAY = 86_400_000;

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

/** The same keys as `invites_open_time` holds them (migration 0010): read from it alone. */
const OPEN_TIME_KEY: Record<StatsDimension, string> = { ...INVITE_KEY, day: "issue_day" };

export interface StatsFilter {
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

/** Day number (group key of a day), survey, trigger, or channel (`null`: no channel). */
export type GroupKey = string | number | null;

export interface InviteCounts {
  /** Invites issued in the range. */
  issued: number;
  /** Of those, claimed by a tap (consumed). Includes invites revoked after their open. */
  opened: number;
  /** Extra opens from the browser that claimed the invite (or another on the same device). */
  reopened: number;
  /** Of those, from another browser on the same device, inside its same-device window. */
  crossBrowser: number;
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

/** No invites at all. */
export const ZERO_COUNTS: Readonly<InviteCounts> = {
  issued: 0,
  opened: 0,
  reopened: 0,
  crossBrowser: 0,
  previews: 0,
  blocked: 0,
  expired: 0,
  revoked: 0,
  completed: 0,
};

/** Adds every count of `from` to `into`. */
export function addCounts(into: InviteCounts, from: InviteCounts): void {
  for (const field of Object.keys(ZERO_COUNTS) as (keyof InviteCounts)[]) {
    into[field] += from[field];
  }
}

export interface CountsRow extends InviteCounts {
  key: GroupKey;
}

/** Opened invites of a group per digit count of their time to open: [key, digits, n10, …, n99]. */
export type OpenTimesRow = [GroupKey, number, ...number[]];

/** Opened invites per (span, group, bin) of a narrowing search (see `readOpenTimeBins`). */
interface BinRow {
  span: number;
  key: GroupKey;
  bin: number;
  n: number;
}

/** The day number `readInviteCounts` uses as the key of a day group. */
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

/** The first two digits of a time to open, as rollup columns n10 … n99 count them. */
export const FIRST_TWO_DIGITS = Array.from({ length: 90 }, (_, i) => i + 10);

/**
 * The open-time histogram table to read: the one added up over trigger and channel (migration
 * 0011, about a tenth of the rows) when the answer needs neither, else the full one.
 */
function openTimesTable(filter: StatsFilter, groupBy: StatsDimension): string {
  const bySurvey =
    (groupBy === "day" || groupBy === "survey") &&
    filter.trigger === undefined &&
    filter.channel === undefined;
  return bySurvey ? "invite_open_times_by_survey" : "invite_open_times";
}

/**
 * One round trip: the counts per group (with the invites that expired earlier today, which a
 * rollup row cannot know), and each group's histogram of times to open by digit count and first
 * two digits (the first two steps of an exact median).
 */
export async function readInviteCounts(
  db: D1Database,
  filter: StatsFilter,
  groupBy: StatsDimension,
): Promise<{ counts: CountsRow[]; openTimes: OpenTimesRow[] }> {
  const key = ROLLUP_KEY[groupBy];
  const rollup = rollupWhere(filter);
  const invites = inviteWhere(filter);
  const today = dayNumber(filter.now);
  const [countResult, expiredTodayResult, openTimesResult] = await db.batch<
    CountsRow | { key: GroupKey; expired: number } | Record<string, number | string | null>
  >([
    // In rows whose expiry day is before today, every invite still unclaimed has expired.
    // (A row can hold zeros once its invites moved away: HAVING keeps such groups out.)
    db
      .prepare(
        `SELECT ${key} AS key,
           SUM(issued) AS issued, SUM(opened) AS opened, SUM(reopened) AS reopened,
           SUM(cross_browser) AS crossBrowser,
           SUM(previews) AS previews, SUM(blocked) AS blocked, SUM(revoked) AS revoked,
           SUM(completed) AS completed,
           SUM(iif(expiry_day < ?, issued - opened - revoked, 0)) AS expired
         FROM invite_counts
         WHERE ${rollup.sql}
         GROUP BY key
         HAVING SUM(issued) > 0`,
      )
      .bind(today, ...rollup.params),
    db
      .prepare(
        `SELECT ${INVITE_KEY[groupBy]} AS key, COUNT(*) AS expired
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
        `SELECT ${key} AS key, digits, ${FIRST_TWO_DIGITS.map((d) => `SUM(n${d}) AS n${d}`).join(", ")}
         FROM ${openTimesTable(filter, groupBy)}
         WHERE ${rollup.sql}
         GROUP BY key, digits`,
      )
      .bind(...rollup.params),
  ]);
  const expiredToday = new Map<GroupKey, number>();
  for (const row of (expiredTodayResult?.results ?? []) as { key: GroupKey; expired: number }[]) {
    expiredToday.set(row.key, row.expired);
  }
  const counts = ((countResult?.results ?? []) as CountsRow[]).map((row) => ({
    ...row,
    expired: row.expired + (expiredToday.get(row.key) ?? 0),
  }));
  const openTimes = ((openTimesResult?.results ?? []) as Record<string, number | null>[]).map(
    (row): OpenTimesRow => [
      row.key ?? null,
      Number(row.digits),
      ...FIRST_TWO_DIGITS.map((d) => Number(row[`n${d}`] ?? 0)),
    ],
  );
  return { counts, openTimes };
}

/** A range of times to open to count in `step`-wide bins (step 0: one bin per value). */
export interface Span {
  lo: number;
  hi: number;
  step: number;
  /** Issue days to read: one for a day group's own search, else every day of the range. */
  days: number[];
  /** Counted per group (some group's middle value is in it), or only over all groups. */
  byGroup: boolean;
}

/**
 * Opened invites per span, group (for spans counted per group; else key null) and bin:
 * bin = lo + ⌊(time − lo) / step⌋ · step, or the time itself for step 0. Reads only the index on
 * (issue day, time to open, group columns), over each span's days, never the invite rows.
 */
export async function readOpenTimeBins(
  db: D1Database,
  filter: StatsFilter,
  groupBy: StatsDimension,
  spans: readonly Span[],
): Promise<BinRow[]> {
  const invites = inviteWhere(filter);
  const probes = spans.flatMap((span, i) =>
    span.days.map((day) => [i, day, span.lo, span.hi, span.step, span.byGroup ? 1 : 0]),
  );
  const { results } = await db
    .prepare(
      `WITH probes AS MATERIALIZED (
         SELECT value ->> '$[0]' AS span, value ->> '$[1]' AS day, value ->> '$[2]' AS lo,
           value ->> '$[3]' AS hi, value ->> '$[4]' AS step, value ->> '$[5]' AS by_group
         FROM json_each(?)
       )
       SELECT probes.span AS span,
         CASE WHEN probes.by_group THEN ${OPEN_TIME_KEY[groupBy]} END AS key,
         CASE WHEN probes.step = 0 THEN open_ms
           ELSE probes.lo + (open_ms - probes.lo) / probes.step * probes.step
         END AS bin,
         COUNT(*) AS n
       FROM probes CROSS JOIN invites INDEXED BY invites_open_time
       WHERE issue_day = probes.day AND open_ms BETWEEN probes.lo AND probes.hi${invites.sql}
       GROUP BY span, key, bin`,
    )
    .bind(JSON.stringify(probes), ...invites.params)
    .all<BinRow>();
  return results;
}
