/**
 * Who gets invited, as pure logic in plain Node: rule scope and counting, `eligibleAt`, the
 * first suppressing rule, cap shares and days, the public sampling hash (the documented worked
 * example, the share over 1,000 customers, stickiness), and CONTACT_RULES' problems, each named
 * by its path.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/config";
import type { ContactRule } from "../../src/config/contact-rules";
import type { Env } from "../../src/config/env";
import {
  type ContactEvent,
  capShare,
  countedTimes,
  eligibleAt,
  frequencyVerdict,
  nextUtcDay,
  optedOutOf,
  rulesFor,
  utcDay,
} from "../../src/rules/evaluate";
import { inSample, samplingValue } from "../../src/rules/sampling";
import { CONFIG_ENV as base, SURVEY } from "../fixtures/config-env";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 8, 12);

const rule = (r: Partial<ContactRule> & Pick<ContactRule, "id">): ContactRule => ({
  max: 1,
  days: 30,
  count: "issued",
  ...r,
});

const event = (daysAgo: number, e: Partial<ContactEvent> = {}): ContactEvent => ({
  survey: "demo",
  trigger: "scan",
  decidedAt: NOW - daysAgo * DAY,
  openedAt: null,
  completedAt: null,
  ...e,
});

describe("rules", () => {
  it("apply by survey and trigger, never to exempt triggers", () => {
    const rules = [
      rule({ id: "all" }),
      rule({ id: "scans", triggers: ["scan"] }),
      rule({ id: "other", surveys: ["other"] }),
      rule({ id: "exempt", exemptTriggers: ["complaint"] }),
    ];
    expect(rulesFor(rules, "demo", "scan").map((r) => r.id)).toEqual(["all", "scans", "exempt"]);
    expect(rulesFor(rules, "demo", "complaint").map((r) => r.id)).toEqual(["all"]);
    expect(rulesFor(rules, "other", "order").map((r) => r.id)).toEqual(["all", "other", "exempt"]);
  });

  it("count issues, first opens or completions inside their window, exempt triggers included", () => {
    const events = [
      event(40),
      event(10, { trigger: "complaint", openedAt: NOW - 9 * DAY }),
      event(5, { survey: "other", completedAt: NOW - DAY }),
    ];
    expect(countedTimes(rule({ id: "a" }), events, NOW)).toEqual([NOW - 10 * DAY, NOW - 5 * DAY]);
    expect(countedTimes(rule({ id: "o", count: "opened" }), events, NOW)).toEqual([NOW - 9 * DAY]);
    const completed = rule({ id: "c", count: "completed", surveys: ["other"] });
    expect(countedTimes(completed, events, NOW)).toEqual([NOW - DAY]);
    expect(countedTimes(rule({ id: "t", triggers: ["scan"] }), events, NOW)).toEqual([
      NOW - 5 * DAY,
    ]);
  });

  it("eligibleAt is when enough counted events have left the window to fall under max", () => {
    const r = rule({ id: "two", max: 2, days: 30 });
    const times = [NOW - 20 * DAY, NOW - 10 * DAY, NOW - DAY];
    // Three counted, max 2: two must leave, the second oldest leaves at -10 + 30 days.
    expect(eligibleAt(r, times)).toBe(NOW + 20 * DAY);
    expect(eligibleAt(r, times.slice(1))).toBe(NOW + 20 * DAY);
    expect(eligibleAt(r, times.slice(2))).toBeNull();
  });

  it("name the first suppressing rule in order, and the time every rule allows", () => {
    const rules = [rule({ id: "week", days: 7 }), rule({ id: "quarter", max: 2, days: 90 })];
    const verdict = frequencyVerdict(rules, [event(60), event(3)], NOW);
    // week lifts in 4 days, quarter when the event of 60 days ago leaves its 90 days.
    expect(verdict).toEqual({ rule: "week", eligibleAt: NOW + 30 * DAY });
    expect(frequencyVerdict(rules, [event(60)], NOW)).toBeNull();
  });

  it("opt-outs cover every survey or the ones listed", () => {
    expect(optedOutOf([{ surveys: null, since: 0 }], "demo")).toBe(true);
    expect(optedOutOf([{ surveys: ["other"], since: 0 }], "demo")).toBe(false);
    expect(optedOutOf([], "demo")).toBe(false);
  });
});

describe("daily caps", () => {
  it("split the cap into ⌈cap ÷ shards⌉ per shard, on UTC days", () => {
    expect(capShare(10, 1)).toBe(10);
    expect(capShare(10, 4)).toBe(3); // 12 at most on 4 shards: within N − 1 of the cap
    expect(capShare(1, 4)).toBe(1);
    expect(utcDay(Date.UTC(2026, 11, 8, 23, 59))).toBe(utcDay(Date.UTC(2026, 11, 8)));
    expect(nextUtcDay(Date.UTC(2026, 11, 8, 23, 59))).toBe(Date.UTC(2026, 11, 9));
  });
});

describe("sampling", () => {
  it("follows the documented worked example", async () => {
    // SHA-256("demo\n\ncustomer-42"): first 8 bytes 02c0815dcd1b389c, about 0.0107 × 2^64.
    expect((await samplingValue("demo", "", "customer-42")).toString(16)).toBe("2c0815dcd1b389c");
    expect(await inSample("demo", "", "customer-42", 0.1)).toBe(true);
    expect(await inSample("demo", "", "customer-42", 0.01)).toBe(false);
    expect(await inSample("demo", "", "customer-42", 1)).toBe(true);
  });

  it("takes about the configured share of 1,000 customers, the same ones every time", async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `customer-${i}`);
    const draw = () => Promise.all(ids.map((id) => inSample("demo", "seed", id, 0.1)));
    const first = await draw();
    const taken = first.filter(Boolean).length;
    // Binomial(1000, 0.1): ±5 standard deviations, so this fails only when sampling is wrong.
    expect(taken).toBeGreaterThan(52);
    expect(taken).toBeLessThan(148);
    expect(await draw()).toEqual(first);
    const reseeded = await Promise.all(ids.map((id) => inSample("demo", "other", id, 0.1)));
    expect(reseeded).not.toEqual(first);
  });
});

describe("CONTACT_RULES", () => {
  const contact = (rules: unknown, extra: Partial<Env> = {}) =>
    parseConfig({
      ...base,
      CUSTOMER_HASH_KEY: "unit-customer-hash-key",
      CONTACT_RULES: JSON.stringify(rules),
      ...extra,
    }).contact;

  it("parses rules with their defaults", () => {
    const { rules, problems, hashKeys } = contact([{ id: "monthly", max: 1, days: 30 }]);
    expect(problems).toEqual([]);
    expect(rules).toEqual([{ id: "monthly", max: 1, days: 30, count: "issued" }]);
    expect(hashKeys).toEqual([{ version: 1, secret: "unit-customer-hash-key" }]);
  });

  it("names each bad field by its path, all at once", () => {
    const { problems } = contact([
      { id: "Bad Id", max: 0, days: 400, count: "clicked" },
      { id: "ok", max: 1.5, days: 1, surveys: ["nope"], triggers: ["bad trigger"] },
      { id: "ok", max: 1, days: 1, exemptTriggers: [""], extra: 1 },
    ]);
    const paths = problems.map((p) => p.split(":")[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        "CONTACT_RULES.0.id",
        "CONTACT_RULES.0.max",
        "CONTACT_RULES.0.days",
        "CONTACT_RULES.0.count",
        "CONTACT_RULES.1.max",
        "CONTACT_RULES.1.triggers.0",
        "CONTACT_RULES.2.exemptTriggers.0",
        "CONTACT_RULES.2",
      ]),
    );
  });

  it("checks ids are unique and surveys exist once the rest parses", () => {
    const { problems } = contact([
      { id: "a", max: 1, days: 1, surveys: ["nope"] },
      { id: "a", max: 1, days: 1 },
    ]);
    expect(problems).toEqual([
      'CONTACT_RULES.0.surveys.0: unknown survey "nope"',
      'CONTACT_RULES.1.id: "a" is used twice',
    ]);
  });

  it("needs CUSTOMER_HASH_KEY once there are rules, and honours every key version", () => {
    const noKey = contact([{ id: "a", max: 1, days: 1 }], { CUSTOMER_HASH_KEY: undefined });
    expect(noKey.problems).toEqual([
      "CUSTOMER_HASH_KEY is not set (required while CONTACT_RULES has rules)",
    ]);
    const rotated = contact([], {
      CUSTOMER_HASH_KEY: JSON.stringify({
        "1": "old-secret-long-enough",
        "2": "new-secret-long-enough",
      }),
    });
    expect(rotated.hashKeys.map((k) => k.version)).toEqual([2, 1]);
  });

  it("puts sample, sampleSeed and dailyCap on surveys, checked", () => {
    const parsed = parseConfig({ ...base });
    expect(parsed.surveys.get("demo")).toMatchObject({ sample: 1, sampleSeed: "" });
    const surveys = { demo: { ...SURVEY, sample: 0, dailyCap: 0 } };
    expect(() => parseConfig({ ...base, SURVEYS: surveys as never })).toThrow(
      /SURVEYS\.demo\.sample: must be more than 0.*SURVEYS\.demo\.dailyCap: must be at least 1/,
    );
  });
});
