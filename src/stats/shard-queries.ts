/**
 * The stats queries of one ledger shard, read from the rollups that triggers on `invites` keep
 * exact: `invite_counts` per issue day, survey, trigger, channel and expiry day (migration 0004),
 * and the time-to-open sketches per issue day and group (`time_sketches`, also added up per day
 * and survey, and per day; migration 0014). One round trip reads rollup rows and the invites expiring today —
 * never every invite of a range. Only group keys and numbers leave this module, never a customer
 * id or embedded data. Adding shards up and reading percentiles is `across-shards.ts`.
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
  /** Requests not issued (src/rules/), by request day; never in `issued`. */
  suppressed: number;
  suppressedOptedOut: number;
  suppressedSampledOut: number;
  suppressedFrequency: number;
  suppressedCap: number;
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
  suppressed: 0,
  suppressedOptedOut: 0,
  suppressedSampledOut: 0,
  suppressedFrequency: 0,
  suppressedCap: 0,
};

/** The suppression counts of a rollup row, by the reason column they add up. */
const SUPPRESSED_COLUMNS = `SUM(suppressed) AS suppressed,
  SUM(iif(reason = 'opted_out', suppressed, 0)) AS suppressedOptedOut,
  SUM(iif(reason = 'sampled_out', suppressed, 0)) AS suppressedSampledOut,
  SUM(iif(reason = 'frequency', suppressed, 0)) AS suppressedFrequency,
  SUM(iif(reason = 'cap', suppressed, 0)) AS suppressedCap`;

type SuppressedRow = Pick<
  CountsRow,
  | "key"
  | "suppressed"
  | "suppressedOptedOut"
  | "suppressedSampledOut"
  | "suppressedFrequency"
  | "suppressedCap"
>;

/** Adds every count of `from` to `into`. */
export function addCounts(into: InviteCounts, from: InviteCounts): void {
  for (const field of Object.keys(ZERO_COUNTS) as (keyof InviteCounts)[]) {
    into[field] += from[field];
  }
}

export interface CountsRow extends InviteCounts {
  key: GroupKey;
}

/**
 * A group's sketches of times to open in one shard (src/stats/sketch.ts): the JSON objects
 * (bucket → count) of its rollup rows, comma-separated (a bucket may come more than once: counts
 * add up). One row per group: a shard answers a few dozen rows, not one per bucket.
 */
export interface SketchRow {
  key: GroupKey;
  buckets: string;
}

const ZERO_SUPPRESSED = {
  suppressed: 0,
  suppressedOptedOut: 0,
  suppressedSampledOut: 0,
  suppressedFrequency: 0,
  suppressedCap: 0,
};

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

/** The sketch metric of the time from issue to first open (time_sketches.metric). */
const OPEN_METRIC = "open";

/**
 * The sketch table to read: the smallest that holds what the answer needs. Added up over
 * survey, trigger and channel for the dashboard's chart (by day, nothing filtered); over trigger
 * and channel when neither is grouped or filtered on; else the full one.
 */
function sketchTable(filter: StatsFilter, groupBy: StatsDimension): string {
  const needsTriggerOrChannel =
    groupBy === "trigger" ||
    groupBy === "channel" ||
    filter.trigger !== undefined ||
    filter.channel !== undefined;
  if (needsTriggerOrChannel) return "time_sketches";
  if (groupBy === "day" && filter.survey === undefined) return "time_sketches_by_day";
  return "time_sketches_by_survey";
}

/**
 * One round trip: the counts per group (with the invites that expired earlier today, which a
 * rollup row cannot know), and each group's sketch of times to open.
 */
export async function readShardStats(
  db: D1Database,
  filter: StatsFilter,
  groupBy: StatsDimension,
): Promise<{ counts: CountsRow[]; sketches: SketchRow[] }> {
  const key = ROLLUP_KEY[groupBy];
  const rollup = rollupWhere(filter);
  const invites = inviteWhere(filter);
  const today = dayNumber(filter.now);
  const [countResult, expiredTodayResult, sketchResult, suppressedResult] = await db.batch<
    CountsRow | { key: GroupKey; expired: number } | SketchRow | SuppressedRow
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
    // One sketch row per group and day: the Worker adds up a group's rows, bucket by bucket.
    db
      .prepare(
        `SELECT ${key} AS key, group_concat(buckets) AS buckets
         FROM ${sketchTable(filter, groupBy)}
         WHERE metric = ? AND ${rollup.sql}
         GROUP BY key`,
      )
      .bind(OPEN_METRIC, ...rollup.params),
    // Suppressions (migration 0016), by request day: counted beside the invites, never in them.
    db
      .prepare(
        `SELECT ${key} AS key, ${SUPPRESSED_COLUMNS}
         FROM suppression_counts WHERE ${rollup.sql} GROUP BY key`,
      )
      .bind(...rollup.params),
  ]);
  const expiredToday = new Map<GroupKey, number>();
  for (const row of (expiredTodayResult?.results ?? []) as { key: GroupKey; expired: number }[]) {
    expiredToday.set(row.key, row.expired);
  }
  const suppressed = new Map<GroupKey, SuppressedRow>();
  for (const row of (suppressedResult?.results ?? []) as SuppressedRow[]) {
    suppressed.set(row.key, row);
  }
  const counts = ((countResult?.results ?? []) as CountsRow[]).map((row) => ({
    ...row,
    ...(suppressed.get(row.key) ?? ZERO_SUPPRESSED),
    expired: row.expired + (expiredToday.get(row.key) ?? 0),
  }));
  // Groups with suppressions and no invite.
  const invited = new Set(counts.map((row) => row.key));
  for (const row of suppressed.values()) {
    if (!invited.has(row.key)) counts.push({ ...ZERO_COUNTS, ...row });
  }
  return { counts, sketches: (sketchResult?.results ?? []) as SketchRow[] };
}
