/**
 * The stats answer: resolves the day range, asks the ledger for counts and times to open, and
 * shapes rows and totals (rates, seconds, every day of a day grouping). Rows carry group keys and
 * numbers only, never a customer id or embedded data.
 */
import { invalidRequest } from "../http/errors";
import { iso } from "../store/link-status";
import type { Store } from "../store/store";
import { type GroupStats, NO_OPEN_TIMES, type OpenTimes, readInviteStats } from "./across-shards";
import { NO_CHANNEL, type Stats, type StatsQuery, type StatsRow, type StatsTotals } from "./schema";
import { addCounts, dayNumber, type InviteCounts, MS_PER_DAY, ZERO_COUNTS } from "./shard-queries";

/** Longest range one answer covers (a leap year), so one query stays bounded. */
const MAX_RANGE_DAYS = 366;
/** Days in the default range: `to` defaults to today (UTC), `from` to 29 days before `to`. */
const DEFAULT_RANGE_DAYS = 30;

interface DayRange {
  /** First and last day, inclusive, as YYYY-MM-DD (UTC). */
  from: string;
  to: string;
  /** Unix ms: start of `from`, and start of the day after `to`. */
  startMs: number;
  endMs: number;
}

const isoDay = (ms: number): string => iso(ms).slice(0, 10);
const dayStart = (day: string): number => Date.parse(`${day}T00:00:00Z`);

/** The range a query asks for, with its defaults; a 400 naming the field when it makes no sense. */
function resolveRange(query: Pick<StatsQuery, "from" | "to">, now: number): DayRange {
  const toStart = dayStart(query.to ?? isoDay(now));
  const fromStart =
    query.from !== undefined
      ? dayStart(query.from)
      : toStart - (DEFAULT_RANGE_DAYS - 1) * MS_PER_DAY;
  if (fromStart > toStart) {
    throw invalidRequest([{ path: "from", message: `must not be after to (${isoDay(toStart)})` }]);
  }
  if ((toStart - fromStart) / MS_PER_DAY + 1 > MAX_RANGE_DAYS) {
    throw invalidRequest([
      { path: "to", message: `the range may span at most ${MAX_RANGE_DAYS} days` },
    ]);
  }
  return {
    from: isoDay(fromStart),
    to: isoDay(toStart),
    startMs: fromStart,
    endMs: toStart + MS_PER_DAY,
  };
}

const ratio = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.round(ms) / 1000);

function withRates(counts: InviteCounts, times: OpenTimes): StatsTotals {
  return {
    issued: counts.issued,
    opened: counts.opened,
    reopened: counts.reopened,
    crossBrowser: counts.crossBrowser,
    previews: counts.previews,
    blocked: counts.blocked,
    expired: counts.expired,
    revoked: counts.revoked,
    completed: counts.completed,
    // Never in `issued`, nor in any rate's denominator.
    suppressed: counts.suppressed,
    suppressedByReason: {
      opted_out: counts.suppressedOptedOut,
      sampled_out: counts.suppressedSampledOut,
      frequency: counts.suppressedFrequency,
      cap: counts.suppressedCap,
    },
    openRate: ratio(counts.opened, counts.issued),
    completionRate: ratio(counts.completed, counts.issued),
    medianSecondsToOpen: seconds(times.medianMsToOpen),
    p90SecondsToOpen: seconds(times.p90MsToOpen),
  };
}

function sum(groups: InviteCounts[]): InviteCounts {
  const total = { ...ZERO_COUNTS };
  for (const group of groups) addCounts(total, group);
  return total;
}

function groupKey(query: StatsQuery, group: GroupStats): string {
  if (query.groupBy === "day") return isoDay(Number(group.key) * MS_PER_DAY);
  if (group.key === null) return NO_CHANNEL;
  return String(group.key);
}

/** Every day of the range in order; days without invites get zero counts. */
function everyDay(range: DayRange, groups: GroupStats[]): GroupStats[] {
  const byDay = new Map(groups.map((g) => [Number(g.key), g]));
  const days: GroupStats[] = [];
  for (let day = dayNumber(range.startMs); day < dayNumber(range.endMs); day++) {
    days.push(byDay.get(day) ?? { key: day, ...ZERO_COUNTS, ...NO_OPEN_TIMES });
  }
  return days;
}

/**
 * Counts, rates and times to open (median, 90th percentile) for the invites issued in the
 * query's range, grouped as asked.
 *
 * @example
 * const stats = await inviteStats(c.get("store"), { groupBy: "survey" }, Date.now());
 */
export async function inviteStats(store: Store, query: StatsQuery, now: number): Promise<Stats> {
  const range = resolveRange(query, now);
  const { groups, totalOpenTimes } = await readInviteStats(
    store,
    {
      fromDay: dayNumber(range.startMs),
      beforeDay: dayNumber(range.endMs),
      survey: query.survey,
      trigger: query.trigger,
      channel: query.channel === NO_CHANNEL ? null : query.channel,
      now,
    },
    query.groupBy,
  );
  const shown = query.groupBy === "day" ? everyDay(range, groups) : groups;
  const rows: StatsRow[] = shown.map((group) => ({
    key: groupKey(query, group),
    ...withRates(group, group),
  }));
  // Days are in order already; other keys sort by name (the channel "unspecified" among them).
  if (query.groupBy !== "day") rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    from: range.from,
    to: range.to,
    groupBy: query.groupBy,
    rows,
    totals: withRates(sum(groups), totalOpenTimes),
  };
}
