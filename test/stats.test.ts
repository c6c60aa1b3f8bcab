/**
 * The analyst stats: a scripted scenario of issues, taps, re-opens, refusals, previews, expiries
 * and revocations, counted exactly per group and in totals, in JSON and CSV. Tests share storage
 * within this file, so each one tags its invites with its own trigger (or day window).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Stats, StatsRow, StatsTotals } from "../src/stats/schema";
import { bucketOf, wholeMillisecondBuckets } from "../src/stats/sketch";
import {
  ADMIN_KEY,
  ANALYST_KEY,
  api,
  cookieFrom,
  type IssuedLink,
  issue,
  linkRequest,
  tap,
  uniqueTxn,
} from "./helpers/api";
import { allShards, fromEveryShard, ledgerOf, onEveryShard } from "./helpers/ledger";
import { expectOpenTimes } from "./helpers/open-times";

const BOT_UA = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
const DAY_MS = 86_400_000;

const uniqueTrigger = (name: string) => uniqueTxn(`stats-${name}`).slice(0, 64);

function stats(query: Record<string, string>, init: RequestInit & { key?: string | null } = {}) {
  return api(`/v1/stats?${new URLSearchParams(query)}`, { key: ANALYST_KEY, ...init });
}

async function statsJson(query: Record<string, string>): Promise<Stats> {
  const res = await stats(query);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

interface LinkStatusBody {
  issuedAt: string;
  openedAt: string | null;
  reopens: number;
  blocked: number;
  previews: number;
}

async function linkStatus(id: string): Promise<LinkStatusBody> {
  const res = await api(`/v1/links/${id}`);
  expect(res.status).toBe(200);
  return res.json();
}

type Counters = Partial<Pick<LinkStatusBody, "reopens" | "blocked" | "previews">>;

/**
 * Re-opens, refusals and previews are counted in `waitUntil`, after the tap's response: poll the
 * link's status until its counters show what the test did.
 */
async function countersSettled(id: string, expected: Counters): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const status = await linkStatus(id);
    const seen = { reopens: status.reopens, blocked: status.blocked, previews: status.previews };
    if (Object.entries(expected).every(([name, n]) => seen[name as keyof Counters] === n)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `counters of ${id}: ${JSON.stringify(seen)}, want ${JSON.stringify(expected)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Expiry cannot be waited for (the minimum lifetime is a minute): move it into the past. */
async function expireNow(id: string): Promise<void> {
  await ledgerOf(id)
    .prepare("UPDATE invites SET expires_at = ? WHERE id = ?")
    .bind(Date.now() - 1_000, id)
    .run();
}

/** Reconciliation is another issue; mark a completion the way it will. */
async function markCompleted(id: string): Promise<void> {
  await ledgerOf(id)
    .prepare("UPDATE invites SET completed_at = ? WHERE id = ?")
    .bind(Date.now(), id)
    .run();
}

/** Moves an invite `days` earlier, keeping its time to open and its lifetime. */
async function moveDaysBack(id: string, days: number): Promise<void> {
  const shift = days * DAY_MS;
  await ledgerOf(id)
    .prepare(
      `UPDATE invites SET issued_at = issued_at - ?1, expires_at = expires_at - ?1,
       consumed_at = consumed_at - ?1 WHERE id = ?2`,
    )
    .bind(shift, id)
    .run();
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The exact times to open (ms) of these links, from their status. */
async function openTimes(ids: string[]): Promise<number[]> {
  return Promise.all(
    ids.map(async (id) => {
      const s = await linkStatus(id);
      if (!s.openedAt) throw new Error(`${id} was not opened`);
      return Date.parse(s.openedAt) - Date.parse(s.issuedAt);
    }),
  );
}

/** A row's (or the totals') median and 90th percentile against the exact times of `ids`. */
async function expectOpenTimesOf(row: StatsTotals | undefined, ids: string[]): Promise<void> {
  expectOpenTimes(row, await openTimes(ids));
}

type TimesToOpen = "medianSecondsToOpen" | "p90SecondsToOpen";
type Counts = Omit<StatsTotals, "openRate" | "completionRate" | TimesToOpen>;

const NONE: Counts = {
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
  suppressedByReason: { opted_out: 0, sampled_out: 0, frequency: 0, cap: 0 },
};

/** The counts a group must show, with the rates derived from them. */
function expected(counts: Partial<Counts>): Omit<StatsTotals, TimesToOpen> {
  const c = { ...NONE, ...counts };
  const rate = (n: number) =>
    c.issued === 0 ? null : Math.round((n / c.issued) * 10_000) / 10_000;
  return { ...c, openRate: rate(c.opened), completionRate: rate(c.completed) };
}

const withoutMedian = ({
  medianSecondsToOpen: _,
  p90SecondsToOpen: __,
  ...rest
}: StatsTotals | StatsRow) => rest;

/** Parses the CSV this API writes (no quoted cells: keys are plain) back into numbers. */
function parseCsv(text: string): {
  header: string[];
  rows: Record<string, string | number | null>[];
} {
  expect(text.endsWith("\r\n")).toBe(true);
  const [headerLine, ...lines] = text.slice(0, -2).split("\r\n");
  const header = (headerLine ?? "").split(",");
  const rows = lines.map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(
      header.map((name, i) => {
        const cell = cells[i] ?? "";
        if (i === 0) return [name, cell];
        return [name, cell === "" ? null : Number(cell)];
      }),
    );
  });
  return { header, rows };
}

describe("GET /v1/stats: a scripted scenario", () => {
  const trigger = uniqueTrigger("scenario");
  const links: Record<string, IssuedLink> = {};
  let opened: { demo: string[]; ws: string[] };
  const ip = "198.51.100.10";

  beforeAll(async () => {
    const make = async (name: string, survey: string, channel: string | undefined) => {
      links[name] = await issue({ survey, trigger, channel });
    };
    await make("a1", "demo", "in_app");
    await make("a2", "demo", "in_app");
    await make("a3", "demo", "sms");
    await make("a4", "demo", "sms");
    await make("a5", "demo", undefined);
    await make("b1", "demo-ws", "push");
    await make("b2", "demo-ws", "push");
    await make("b3", "demo-ws", "email");
    await make("b4", "demo-ws", "email");
    const id = (name: string) => links[name]?.id ?? "";

    // a1: opened, re-opened twice by the same browser, refused once elsewhere, completed.
    const first = await tap(id("a1"), { ip });
    expect(first.status).toBe(302);
    const cookie = cookieFrom(first);
    expect((await tap(id("a1"), { ip, cookie })).status).toBe(302);
    expect((await tap(id("a1"), { ip, cookie })).status).toBe(302);
    expect((await tap(id("a1"), { ip })).status).toBe(410);
    await markCompleted(id("a1"));
    // a2: previewed by HEAD, then opened.
    expect((await tap(id("a2"), { ip, method: "HEAD" })).status).toBe(200);
    expect((await tap(id("a2"), { ip })).status).toBe(302);
    // a3: unfurled by a chat bot, never opened, still live.
    expect((await tap(id("a3"), { ip, ua: BOT_UA })).status).toBe(200);
    // a4: expires unopened; a tap afterwards is refused.
    await expireNow(id("a4"));
    expect((await tap(id("a4"), { ip })).status).toBe(410);
    // a5: untouched, live.
    // b1: revoked before any tap; a tap afterwards is refused.
    expect((await api(`/v1/links/${id("b1")}`, { method: "DELETE" })).status).toBe(200);
    expect((await tap(id("b1"), { ip })).status).toBe(410);
    // b2: opened, then revoked: it stays counted as opened.
    expect((await tap(id("b2"), { ip })).status).toBe(302);
    expect((await api(`/v1/links/${id("b2")}`, { method: "DELETE" })).status).toBe(200);
    // b3: opened, refused twice elsewhere, then its time runs out: still opened, not expired.
    expect((await tap(id("b3"), { ip })).status).toBe(302);
    expect((await tap(id("b3"), { ip: "198.51.100.11" })).status).toBe(410);
    expect((await tap(id("b3"), { ip: "198.51.100.12" })).status).toBe(410);
    // b4: two HEAD previews, then expires unopened.
    expect((await tap(id("b4"), { ip, method: "HEAD" })).status).toBe(200);
    expect((await tap(id("b4"), { ip, method: "HEAD" })).status).toBe(200);

    await countersSettled(id("a1"), { reopens: 2, blocked: 1 });
    await countersSettled(id("a2"), { previews: 1 });
    await countersSettled(id("a3"), { previews: 1 });
    await countersSettled(id("b3"), { blocked: 2 });
    await countersSettled(id("b4"), { previews: 2 });
    await expireNow(id("b3"));
    await expireNow(id("b4"));
    opened = { demo: [id("a1"), id("a2")], ws: [id("b2"), id("b3")] };
  });

  const demo = expected({
    issued: 5,
    opened: 2,
    reopened: 2,
    previews: 2,
    blocked: 1,
    expired: 1,
    completed: 1,
  });
  const demoWs = expected({
    issued: 4,
    opened: 2,
    previews: 2,
    blocked: 2,
    expired: 1,
    revoked: 1,
  });
  const totals = expected({
    issued: 9,
    opened: 4,
    reopened: 2,
    previews: 4,
    blocked: 3,
    expired: 2,
    revoked: 1,
    completed: 1,
  });

  it("counts every outcome per survey and in totals, and the buckets add up", async () => {
    const answer = await statsJson({ trigger, groupBy: "survey" });
    expect(answer.groupBy).toBe("survey");
    expect(answer.rows.map((r) => r.key)).toEqual(["demo", "demo-ws"]);
    const [rowDemo, rowWs] = answer.rows;
    expect(rowDemo && withoutMedian(rowDemo)).toEqual({ key: "demo", ...demo });
    expect(rowWs && withoutMedian(rowWs)).toEqual({ key: "demo-ws", ...demoWs });
    expect(withoutMedian(answer.totals)).toEqual(totals);
    // Still live: a3 and a5 (demo); none in demo-ws.
    expect(demo.issued - demo.opened - demo.revoked - demo.expired).toBe(2);
    expect(demoWs.issued - demoWs.opened - demoWs.revoked - demoWs.expired).toBe(0);
  });

  it("gives the median and 90th percentile time to open, per group and over all opened invites", async () => {
    const answer = await statsJson({ trigger, groupBy: "survey" });
    await expectOpenTimesOf(answer.rows[0], opened.demo);
    await expectOpenTimesOf(answer.rows[1], opened.ws);
    await expectOpenTimesOf(answer.totals, [...opened.demo, ...opened.ws]);
  });

  it("groups by channel, naming invites without one 'unspecified'", async () => {
    const answer = await statsJson({ trigger, groupBy: "channel" });
    expect(answer.rows.map(withoutMedian)).toEqual([
      { key: "email", ...expected({ issued: 2, opened: 1, previews: 2, blocked: 2, expired: 1 }) },
      {
        key: "in_app",
        ...expected({ issued: 2, opened: 2, reopened: 2, previews: 1, blocked: 1, completed: 1 }),
      },
      { key: "push", ...expected({ issued: 2, opened: 1, revoked: 1 }) },
      { key: "sms", ...expected({ issued: 2, previews: 1, expired: 1 }) },
      { key: "unspecified", ...expected({ issued: 1 }) },
    ]);
    expect(withoutMedian(answer.totals)).toEqual(totals);
  });

  it("groups by trigger and by day with the same totals", async () => {
    const byTrigger = await statsJson({ trigger, groupBy: "trigger" });
    expect(byTrigger.rows.map(withoutMedian)).toEqual([{ key: trigger, ...totals }]);
    const byDay = await statsJson({ trigger });
    expect(byDay.groupBy).toBe("day");
    expect(byDay.rows).toHaveLength(30);
    expect(byDay.rows.filter((r) => r.issued > 0).map(withoutMedian)).toEqual([
      { key: byDay.to, ...totals },
    ]);
    expect(byDay.totals).toEqual(byTrigger.totals);
  });

  it("filters by survey and channel", async () => {
    const demoOnly = await statsJson({ trigger, survey: "demo", groupBy: "channel" });
    expect(demoOnly.rows.map((r) => r.key)).toEqual(["in_app", "sms", "unspecified"]);
    expect(withoutMedian(demoOnly.totals)).toEqual(demo);
    const noChannel = await statsJson({ trigger, channel: "unspecified", groupBy: "survey" });
    expect(noChannel.rows.map(withoutMedian)).toEqual([
      { key: "demo", ...expected({ issued: 1 }) },
    ]);
    const push = await statsJson({ trigger, channel: "push", groupBy: "survey" });
    expect(withoutMedian(push.totals)).toEqual(expected({ issued: 2, opened: 1, revoked: 1 }));
    await expectOpenTimesOf(push.totals, [links.b2?.id ?? ""]);
  });

  it("answers CSV with a header row that parses back to the same numbers", async () => {
    const json = await statsJson({ trigger, groupBy: "survey" });
    const res = await stats({ trigger, groupBy: "survey", format: "csv" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/csv/);
    expect(res.headers.get("Content-Disposition")).toBe(
      `attachment; filename="invite-stats-${json.from}-${json.to}.csv"`,
    );
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const csv = parseCsv(await res.text());
    expect(csv.header).toEqual([
      "survey",
      "issued",
      "opened",
      "reopened",
      "crossBrowser",
      "previews",
      "blocked",
      "expired",
      "revoked",
      "completed",
      "openRate",
      "completionRate",
      "medianSecondsToOpen",
      "p90SecondsToOpen",
      "suppressed",
      "suppressed_opted_out",
      "suppressed_sampled_out",
      "suppressed_frequency",
      "suppressed_cap",
    ]);
    // The CSV spells suppressedByReason as one column per reason.
    const flat = ({ suppressedByReason: by, ...rest }: StatsTotals) => ({
      ...rest,
      suppressed_opted_out: by.opted_out,
      suppressed_sampled_out: by.sampled_out,
      suppressed_frequency: by.frequency,
      suppressed_cap: by.cap,
    });
    const fromJson = [
      ...json.rows.map(({ key, ...rest }) => ({ survey: key, ...flat(rest) })),
      { survey: "(total)", ...flat(json.totals) },
    ];
    expect(csv.rows).toEqual(fromJson);
  });

  it("answers CSV for Accept: text/csv, and JSON when format=json overrides it", async () => {
    const csv = await stats({ trigger }, { headers: { Accept: "text/csv" } });
    expect(csv.status).toBe(200);
    const parsed = parseCsv(await csv.text());
    expect(parsed.header[0]).toBe("day");
    expect(parsed.rows).toHaveLength(31);
    expect(parsed.rows.at(-1)).toMatchObject({ day: "(total)", issued: 9, opened: 4 });
    const json = await stats({ trigger, format: "json" }, { headers: { Accept: "text/csv" } });
    expect(json.headers.get("Content-Type")).toMatch(/^application\/json/);
  });

  it("never shows customer ids, transactions or embedded data", async () => {
    const answers = await Promise.all(
      ["survey", "channel", "trigger", "day"].flatMap((groupBy) =>
        ["json", "csv"].map(async (format) => {
          const res = await stats({ trigger, groupBy, format });
          return { what: `${groupBy} ${format}`, status: res.status, body: await res.text() };
        }),
      ),
    );
    for (const { what, status, body } of answers) {
      // The answer is the stats themselves (an error page would hold no personal data either).
      expect(status, what).toBe(200);
      expect(body, what).toMatch(
        what.endsWith("csv") ? /^\(total\),9,4,/m : /"issued":9,"opened":4,/,
      );
      expect(body).not.toContain("customer-42");
      expect(body).not.toContain("Arena North");
      expect(body).not.toContain("B12");
      expect(body).not.toMatch(/txn-/);
      for (const link of Object.values(links)) expect(body).not.toContain(link.id);
    }
  });
});

describe("GET /v1/stats: days", () => {
  it("lists every day of the range in order, zeros included, by issue day", async () => {
    const trigger = uniqueTrigger("days");
    const today = await issue({ trigger });
    const alsoToday = await issue({ trigger });
    const earlier = await issue({ trigger });
    expect((await tap(earlier.id, { ip: "198.51.100.20" })).status).toBe(302);
    expect((await tap(today.id, { ip: "198.51.100.20" })).status).toBe(302);
    await moveDaysBack(earlier.id, 2);
    const day = Date.parse((await linkStatus(today.id)).issuedAt);
    const answer = await statsJson({
      trigger,
      from: isoDay(day - 3 * DAY_MS),
      to: isoDay(day),
    });
    expect(answer.from).toBe(isoDay(day - 3 * DAY_MS));
    expect(answer.to).toBe(isoDay(day));
    expect(answer.rows.map((r) => [r.key, r.issued, r.opened])).toEqual([
      [isoDay(day - 3 * DAY_MS), 0, 0],
      [isoDay(day - 2 * DAY_MS), 1, 1],
      [isoDay(day - DAY_MS), 0, 0],
      [isoDay(day), 2, 1],
    ]);
    const empty = answer.rows[0];
    expect(empty).toEqual({
      key: isoDay(day - 3 * DAY_MS),
      ...expected({}),
      medianSecondsToOpen: null,
      p90SecondsToOpen: null,
    });
    await expectOpenTimesOf(answer.rows[1], [earlier.id]);
    await expectOpenTimesOf(answer.rows[3], [today.id]);
    expect(withoutMedian(answer.totals)).toEqual(expected({ issued: 3, opened: 2 }));
    await expectOpenTimesOf(answer.totals, [today.id, earlier.id]);
    // `to` is inclusive and `from` too: a one-day range holds exactly that day.
    const single = await statsJson({ trigger, from: isoDay(day), to: isoDay(day) });
    expect(single.rows.map((r) => [r.key, r.issued])).toEqual([[isoDay(day), 2]]);
    expect(alsoToday.id).not.toBe(today.id);
  });

  it("defaults to the last 30 days, today included", async () => {
    const answer = await statsJson({ trigger: uniqueTrigger("default") });
    expect(answer.rows).toHaveLength(30);
    expect(answer.to).toBe(isoDay(Date.now()));
    expect(answer.from).toBe(isoDay(Date.now() - 29 * DAY_MS));
    expect(answer.totals).toEqual({
      ...expected({}),
      medianSecondsToOpen: null,
      p90SecondsToOpen: null,
    });
  });
});

describe("GET /v1/stats: times to open", () => {
  it("median and 90th percentile are within 1 % of an exact recount, from milliseconds to weeks", async () => {
    const trigger = uniqueTrigger("sketch");
    const channels = ["in_app", "sms", "email"] as const;
    const items = Array.from({ length: 301 }, (_, i) =>
      linkRequest({ trigger, channel: channels[i % 3], transactionId: uniqueTxn("sketch") }),
    );
    const res = await api("/v1/links/batch", { method: "POST", json: { links: items } });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { status: number; link: IssuedLink }[] };
    expect(results.every((r) => r.status === 201)).toBe(true);

    // Deterministic times spread over nine orders of magnitude, with ties, 0 ms, a negative one
    // (clocks of two machines disagree) and one beyond the sketch's 60 days.
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const special = [0, 999, 1_000, 1_099, 1_100, 1_100, -5, 86_400_000, 70 * DAY_MS];
    const times = new Map<string, number>();
    results.forEach(({ link }, i) => {
      if (i % 10 === 9) return; // not opened
      times.set(link.id, special[i] ?? Math.floor(10 ** (random() * 9.4)));
    });
    await Promise.all(
      [...times].map(([id, ms]) =>
        ledgerOf(id)
          .prepare("UPDATE invites SET consumed_at = issued_at + ? WHERE id = ?")
          .bind(ms, id)
          .run(),
      ),
    );
    // The exact times, recounted from the ledger itself (every shard), per channel.
    const recount = await fromEveryShard<{ channel: string; ms: number }>(
      `SELECT channel, consumed_at - issued_at AS ms FROM invites
       WHERE trigger = ? AND consumed_at IS NOT NULL`,
      trigger,
    );
    expect(recount).toHaveLength(times.size);
    const byChannel = new Map<string, number[]>();
    for (const { channel, ms } of recount) {
      byChannel.set(channel, [...(byChannel.get(channel) ?? []), ms]);
    }
    // Beyond 60 days a time counts in the top bucket: the recount's longest is compared as such.
    const resolved = (ms: number[]) => ms.map((t) => Math.min(t, 60 * DAY_MS));

    const answer = await statsJson({ trigger, groupBy: "channel" });
    expect(answer.rows.map((r) => [r.key, r.issued, r.opened])).toEqual(
      ["email", "in_app", "sms"].map((c) => [
        c,
        100 + (c === "in_app" ? 1 : 0),
        byChannel.get(c)?.length,
      ]),
    );
    for (const row of answer.rows) expectOpenTimes(row, resolved(byChannel.get(row.key) ?? []));
    expect(answer.totals.opened).toBe(times.size);
    expectOpenTimes(answer.totals, resolved(recount.map((r) => r.ms)));
    // One group per channel filter: the same percentiles again, odd and even sized.
    for (const channel of channels) {
      const one = await statsJson({ trigger, channel, groupBy: "survey" });
      expectOpenTimes(one.totals, resolved(byChannel.get(channel) ?? []));
      expect(one.totals.medianSecondsToOpen).toBe(
        answer.rows.find((r) => r.key === channel)?.medianSecondsToOpen,
      );
    }
  });
});

describe("GET /v1/stats: rollups kept by triggers (migrations 0004, 0012)", () => {
  interface LedgerRow {
    issued_at: number;
    expires_at: number;
    survey: string;
    trigger: string;
    channel: string | null;
    consumed_at: number | null;
    revoked_at: number | null;
    completed_at: number | null;
    reopen_count: number;
    blocked_count: number;
    preview_count: number;
  }

  /** The rollups recomputed from every invite in JS, independently of the migration's SQL. */
  async function recount(db: D1Database) {
    const { results } = await db
      .prepare(
        `SELECT issued_at, expires_at, survey, trigger, channel, consumed_at, revoked_at,
         completed_at, reopen_count, blocked_count, preview_count FROM invites`,
      )
      .all<LedgerRow>();
    const counts = new Map<string, number[]>();
    const sketches = new Map<string, number>();
    for (const r of results) {
      const day = Math.floor(r.issued_at / DAY_MS);
      const group = [day, r.survey, r.trigger, r.channel ?? ""];
      const countKey = JSON.stringify([...group, Math.floor(r.expires_at / DAY_MS)]);
      const row = counts.get(countKey) ?? [0, 0, 0, 0, 0, 0, 0];
      const add = [
        1,
        r.consumed_at !== null ? 1 : 0,
        r.reopen_count,
        r.preview_count,
        r.blocked_count,
        r.consumed_at === null && r.revoked_at !== null ? 1 : 0,
        r.completed_at !== null ? 1 : 0,
      ];
      counts.set(
        countKey,
        row.map((n, i) => n + (add[i] ?? 0)),
      );
      if (r.consumed_at === null) continue;
      const bucket = bucketOf(r.consumed_at - r.issued_at);
      for (const sketchKey of [
        JSON.stringify(["open", ...group, bucket]),
        JSON.stringify(["open", day, r.survey, bucket]),
        JSON.stringify(["open", day, bucket]),
      ]) {
        sketches.set(sketchKey, (sketches.get(sketchKey) ?? 0) + 1);
      }
    }
    return { counts, sketches };
  }

  /** The rollup tables as they are, rows that went back to zero left out. */
  async function rollups(db: D1Database) {
    const counts = new Map<string, number[]>();
    const countRows = await db
      .prepare(
        `SELECT day, survey, trigger, channel, expiry_day, issued, opened, reopened, previews,
         blocked, revoked, completed FROM invite_counts`,
      )
      .raw<(string | number)[]>();
    for (const [day, survey, trigger, channel, expiryDay, ...values] of countRows) {
      if (values.every((v) => v === 0)) continue;
      counts.set(JSON.stringify([day, survey, trigger, channel, expiryDay]), values as number[]);
    }
    const sketches = new Map<string, number>();
    for (const table of ["time_sketches", "time_sketches_by_survey", "time_sketches_by_day"]) {
      const rows = await db
        .prepare(`SELECT * FROM ${table}`)
        .all<Record<string, string | number>>();
      for (const { buckets, ...key } of rows.results) {
        const counts = JSON.parse(String(buckets)) as Record<string, number>;
        for (const [bucket, n] of Object.entries(counts)) {
          if (n !== 0) sketches.set(JSON.stringify([...Object.values(key), Number(bucket)]), n);
        }
      }
    }
    return { counts, sketches };
  }

  /**
   * Rows of days a recount can still see: the retention job removes invites past RETENTION_DAYS
   * (other files of this runtime make it run on rows they moved 100 days back), and the rollups
   * keep their counts on purpose. This file's own invites are at most a few days old.
   */
  const recountable = <V>(map: Map<string, V>, dayAt: number) => {
    const from = Math.floor(Date.now() / DAY_MS) - 60;
    return new Map([...map].filter(([key]) => Number(JSON.parse(key)[dayAt]) >= from));
  };

  /** Each shard's rollups against a recount of that shard's invites. */
  async function expectRollupsToMatchLedger() {
    for (const db of allShards()) {
      const [actual, wanted] = [await rollups(db), await recount(db)];
      expect(recountable(actual.counts, 0)).toEqual(recountable(wanted.counts, 0));
      expect(recountable(actual.sketches, 1)).toEqual(recountable(wanted.sketches, 1));
    }
  }

  it("put a time in the bucket the Worker's sketch math names (the SQL table is the same)", async () => {
    for (const db of allShards()) {
      const table = await db
        .prepare("SELECT max_ms, bucket FROM sketch_buckets ORDER BY max_ms")
        .raw<[number, number]>();
      expect(table).toEqual(wholeMillisecondBuckets());
    }
  });

  /** Every shard's rollups. */
  const allRollups = () => Promise.all(allShards().map(rollups));

  it("match a recount of the ledger after every kind of write", async () => {
    const trigger = uniqueTrigger("rollups");
    const made = await Promise.all(
      ["in_app", "sms", undefined, "email", "push", "in_app", "sms", "web"].map((channel) =>
        issue({ trigger, channel }),
      ),
    );
    const [opened, reopened, previewed, revoked, completed, moved, unopened, deleted] = made.map(
      (link) => link.id,
    ) as [string, string, string, string, string, string, string, string];
    const ip = "198.51.100.30";
    const first = await tap(opened, { ip });
    expect(first.status).toBe(302);
    expect((await tap(opened, { ip, cookie: cookieFrom(first) })).status).toBe(302);
    expect((await tap(opened, { ip: "198.51.100.31" })).status).toBe(410);
    expect((await tap(reopened, { ip })).status).toBe(302);
    expect((await tap(previewed, { ip, method: "HEAD" })).status).toBe(200);
    expect((await api(`/v1/links/${revoked}`, { method: "DELETE" })).status).toBe(200);
    expect((await api(`/v1/links/${revoked}`, { method: "DELETE" })).status).toBe(200);
    expect((await tap(completed, { ip })).status).toBe(302);
    await countersSettled(opened, { reopens: 1, blocked: 1 });
    await countersSettled(previewed, { previews: 1 });
    await markCompleted(completed);
    // Operator edits the service never makes: move days, channel, time to open; un-open; delete.
    expect((await tap(moved, { ip })).status).toBe(302);
    await moveDaysBack(moved, 3);
    await ledgerOf(moved)
      .prepare("UPDATE invites SET channel = NULL, consumed_at = consumed_at + 12345 WHERE id = ?")
      .bind(moved)
      .run();
    await ledgerOf(reopened)
      .prepare("UPDATE invites SET consumed_at = NULL WHERE id = ?")
      .bind(reopened)
      .run();
    await ledgerOf(unopened)
      .prepare("UPDATE invites SET consumed_at = issued_at - 3 WHERE id = ?")
      .bind(unopened)
      .run();
    await ledgerOf(deleted).prepare("DELETE FROM invites WHERE id = ?").bind(deleted).run();
    await expireNow(revoked);

    await expectRollupsToMatchLedger();
    const from = isoDay(Date.now() - 5 * DAY_MS);
    const answer = await statsJson({ trigger, from });
    expect(withoutMedian(answer.totals)).toEqual(
      expected({
        issued: 7,
        opened: 4,
        reopened: 1,
        previews: 1,
        blocked: 1,
        revoked: 1,
        completed: 1,
      }),
    );
    // The deleted invite was the only one on "web": no empty group is left behind.
    const byChannel = await statsJson({ trigger, from, groupBy: "channel" });
    expect(byChannel.rows.map((r) => [r.key, r.issued])).toEqual([
      ["email", 1],
      ["in_app", 1],
      ["push", 1],
      ["sms", 2],
      ["unspecified", 2],
    ]);
  });

  it("ignore updates of other columns: the retention job's purge changes no count", async () => {
    const trigger = uniqueTrigger("retention");
    const links = await Promise.all([issue({ trigger }), issue({ trigger }), issue({ trigger })]);
    const [a, b] = links.map((l) => l.id) as [string, string];
    expect((await tap(a, { ip: "198.51.100.40" })).status).toBe(302);
    expect((await tap(b, { ip: "198.51.100.40", method: "HEAD" })).status).toBe(200);
    await countersSettled(b, { previews: 1 });
    const before = {
      stats: await statsJson({ trigger, groupBy: "channel" }),
      rollups: await allRollups(),
    };
    // What the retention job does (src/retention/), and
    // reconciliation's push bookkeeping.
    await onEveryShard(
      `UPDATE invites SET customer_ref = NULL, embedded_data = NULL, purged_at = ?1,
         pushed_at = ?1, push_ref = 'import-1' WHERE trigger = ?2`,
      Date.now(),
      trigger,
    );
    const after = {
      stats: await statsJson({ trigger, groupBy: "channel" }),
      rollups: await allRollups(),
    };
    expect(after).toEqual(before);
    expect(withoutMedian(after.stats.totals)).toEqual(
      expected({ issued: 3, opened: 1, previews: 1 }),
    );
  });

  it("count expired invites exactly, whether they expired on an earlier day or today", async () => {
    const trigger = uniqueTrigger("expired");
    const ids = (await Promise.all(Array.from({ length: 6 }, () => issue({ trigger })))).map(
      (l) => l.id,
    ) as [string, string, string, string, string, string];
    const [yesterday, earlierToday, laterToday, openedThenExpired, revokedThenExpired] = ids;
    const now = Date.now();
    const setExpiry = (id: string, at: number) =>
      ledgerOf(id).prepare("UPDATE invites SET expires_at = ? WHERE id = ?").bind(at, id).run();
    expect((await tap(openedThenExpired, { ip: "198.51.100.50" })).status).toBe(302);
    expect((await api(`/v1/links/${revokedThenExpired}`, { method: "DELETE" })).status).toBe(200);
    // Read through the rollup (an expiry day before today) and through today's index.
    await setExpiry(yesterday, now - DAY_MS);
    await setExpiry(earlierToday, Math.max(Math.floor(now / DAY_MS) * DAY_MS, now - 60_000));
    await setExpiry(laterToday, now + 60_000);
    await setExpiry(openedThenExpired, now - DAY_MS);
    await setExpiry(revokedThenExpired, now - DAY_MS);
    // ids[5] stays live for its whole lifetime.
    const answer = await statsJson({ trigger });
    expect(withoutMedian(answer.totals)).toEqual(
      expected({ issued: 6, opened: 1, revoked: 1, expired: 2 }),
    );
  });
});

describe("GET /v1/stats: access and validation", () => {
  it("needs an API key with stats:read", async () => {
    const anonymous = await stats({}, { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    const issuer = await stats({}, { key: "dev-issuer-key" });
    expect(issuer.status).toBe(403);
    expect(await issuer.json()).toMatchObject({ error: { code: "forbidden" } });
    expect((await stats({}, { key: ADMIN_KEY })).status).toBe(200);
  });

  const invalid: [string, Record<string, string>, string][] = [
    ["a date that does not exist", { from: "2026-02-30" }, "from"],
    ["a date with a time", { to: "2026-11-28T10:00:00Z" }, "to"],
    ["an unknown grouping", { groupBy: "week" }, "groupBy"],
    ["an unknown channel", { channel: "fax" }, "channel"],
    ["an unknown format", { format: "xlsx" }, "format"],
    ["a survey with spaces", { survey: "my survey" }, "survey"],
    ["from after to", { from: "2026-11-02", to: "2026-11-01" }, "from"],
    ["more than 366 days", { from: "2025-01-01", to: "2026-01-02" }, "to"],
    ["an unknown parameter", { grouby: "survey" }, "grouby"],
  ];
  for (const [what, query, path] of invalid) {
    it(`rejects ${what} with a 400 naming ${path}`, async () => {
      const res = await stats(query);
      expect(res.status).toBe(400);
      const body = (await res.json()) as {
        error: { code: string; details: { path: string; message: string }[] };
      };
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.details.map((d) => d.path)).toContain(path);
    });
  }

  it("accepts a full leap year (366 days)", async () => {
    const answer = await statsJson({ from: "2028-01-01", to: "2028-12-31" });
    expect(answer.rows).toHaveLength(366);
  });

  it("is described in /openapi.json", async () => {
    const spec = (await (await api("/openapi.json", { key: null })).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    };
    const operation = spec.paths["/v1/stats"]?.get;
    expect(operation?.parameters?.map((p) => p.name).sort()).toEqual([
      "channel",
      "format",
      "from",
      "groupBy",
      "survey",
      "to",
      "trigger",
    ]);
  });
});

describe("GET /dashboard", () => {
  it("serves the page with a Content-Security-Policy of this origin only", async () => {
    const res = await api("/dashboard", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe|https?:|\*/);
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/dashboard.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/dashboard.css">');
    // Nothing inline that the policy would block, nothing from another origin.
    expect(html).not.toMatch(/<script>|<style|style="|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).toContain('<label for="key">Analyst API key</label>');
  });

  it("serves its script and stylesheet from this origin", async () => {
    const js = await api("/dashboard.js", { key: null });
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    const script = await js.text();
    expect(script).toContain("sessionStorage");
    expect(script).not.toContain("localStorage");
    expect(script).not.toContain("innerHTML");
    expect(script).toContain("/v1/stats?");
    const css = await api("/dashboard.css", { key: null });
    expect(css.status).toBe(200);
    expect(css.headers.get("Content-Type")).toMatch(/^text\/css/);
  });
});
