/**
 * The contact decision as pure logic (no storage): which rules apply to a request, what each
 * counts, which suppresses it and when the customer is eligible again, and the daily cap's share
 * and day. The conditional write in `home-rows.ts` applies the same rules inside the customer's
 * shard, where concurrent requests are serialised; this module explains its answer.
 */
import type { ContactRule } from "../config/contact-rules";

const DAY_MS = 86_400_000;

/** Why an invite was not issued, in the order the checks run. */
export const SUPPRESSION_REASONS = ["opted_out", "sampled_out", "frequency", "cap"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** One issued invite in a customer's contact history (times in Unix ms). */
export interface ContactEvent {
  survey: string;
  trigger: string;
  decidedAt: number;
  openedAt: number | null;
  completedAt: number | null;
}

/** An opt-out as recorded: every survey (`null`) or the ones listed. */
export interface OptOutRecord {
  surveys: readonly string[] | null;
  since: number;
}

const inList = (list: readonly string[] | undefined, value: string) =>
  list === undefined || list.includes(value);

/** The rules a request for `survey` with `trigger` must pass: in scope and not exempt. */
export function rulesFor(
  rules: readonly ContactRule[],
  survey: string,
  trigger: string,
): ContactRule[] {
  return rules.filter(
    (r) =>
      inList(r.surveys, survey) &&
      inList(r.triggers, trigger) &&
      !(r.exemptTriggers ?? []).includes(trigger),
  );
}

/** When `event` counts for `rule` (its issue, first open or completion), or null if it does not. */
function countedAt(rule: ContactRule, event: ContactEvent): number | null {
  if (!inList(rule.surveys, event.survey) || !inList(rule.triggers, event.trigger)) return null;
  if (rule.count === "opened") return event.openedAt;
  if (rule.count === "completed") return event.completedAt;
  return event.decidedAt;
}

/** The times `rule` counts in its window ending at `now`, oldest first. */
export function countedTimes(
  rule: ContactRule,
  events: readonly ContactEvent[],
  now: number,
): number[] {
  const since = now - rule.days * DAY_MS;
  return events
    .map((e) => countedAt(rule, e))
    .filter((t): t is number => t !== null && t > since)
    .sort((a, b) => a - b);
}

/**
 * When the customer falls under `rule.max` again: once enough of the counted events have left
 * the window (an event counts while it is less than `days` old). Null when already under.
 */
export function eligibleAt(rule: ContactRule, times: readonly number[]): number | null {
  const excess = times.length - rule.max;
  if (excess < 0) return null;
  const leaving = times[excess] as number; // the (excess+1)-th oldest must leave
  return leaving + rule.days * DAY_MS;
}

interface FrequencyVerdict {
  /** The first suppressing rule in CONTACT_RULES order. */
  rule: string;
  /** When the customer is eligible under every rule. */
  eligibleAt: number;
}

/** The frequency verdict for a request (rules already filtered by `rulesFor`), or null: allowed. */
export function frequencyVerdict(
  rules: readonly ContactRule[],
  events: readonly ContactEvent[],
  now: number,
): FrequencyVerdict | null {
  let verdict: FrequencyVerdict | null = null;
  for (const rule of rules) {
    const at = eligibleAt(rule, countedTimes(rule, events, now));
    if (at === null) continue;
    verdict = verdict
      ? { rule: verdict.rule, eligibleAt: Math.max(verdict.eligibleAt, at) }
      : { rule: rule.id, eligibleAt: at };
  }
  return verdict;
}

/** Whether any of the customer's opt-outs covers `survey`. */
export const optedOutOf = (optOuts: readonly OptOutRecord[], survey: string): boolean =>
  optOuts.some((o) => o.surveys === null || o.surveys.includes(survey));

/** UTC days since 1970-01-01: the cap's day (and the stats' day of a suppression). */
export const utcDay = (at: number): number => Math.floor(at / DAY_MS);

/** The start of the next UTC day: when a capped survey issues again. */
export const nextUtcDay = (at: number): number => (utcDay(at) + 1) * DAY_MS;

/**
 * Each shard's share of a survey's daily cap: ⌈cap ÷ shards⌉, so shards never contend for one
 * counter. Exact on one shard; on N shards at most N − 1 over the cap.
 */
export const capShare = (dailyCap: number, shards: number): number => Math.ceil(dailyCap / shards);

/** The longest window of the rules, in ms (0 without rules): how far back history is read. */
export const longestWindowMs = (rules: readonly ContactRule[]): number =>
  Math.max(0, ...rules.map((r) => r.days * DAY_MS));
