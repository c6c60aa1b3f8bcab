/**
 * Stats on four shards equal stats on one for the same scripted scenario: every count of every
 * grouping, and the same percentiles (sketches merge exactly), within 1 % of an exact recount.
 * The one-shard deployment has a ledger of its own (DB_7 as its DB): a ledger that served four
 * shards refuses to serve with one (src/store/shard-counts.ts).
 */
import { applyD1Migrations, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { shardBinding } from "../src/config/config";
import type { Env } from "../src/config/env";
import type { Stats } from "../src/stats/schema";
import { inviteIdShard } from "../src/tokens/ids";
import { ANALYST_KEY, apiRequest, fetchWorker, type IssuedLink, linkRequest } from "./helpers/api";
import { migrateShards } from "./helpers/ledger";
import { expectOpenTimes } from "./helpers/open-times";
import { tapRequest } from "./security/helpers";

/** The one-shard deployment's own ledger database. */
const ONE_SHARD_LEDGER = "DB_7";

beforeAll(async () => {
  await migrateShards(4);
  await applyD1Migrations(env[ONE_SHARD_LEDGER] as D1Database, env.TEST_MIGRATIONS);
});

const ON_ONE: Env = { ...env, LEDGER_SHARDS: "1", DB: env[ONE_SHARD_LEDGER] as D1Database };
const ON_FOUR: Env = { ...env, LEDGER_SHARDS: "4" };
const onShards = (shards: 1 | 4): Env => (shards === 1 ? ON_ONE : ON_FOUR);

/** The shard of `workerEnv` that holds invite `id`. */
const ledgerIn = (workerEnv: Env, id: string): D1Database =>
  workerEnv[shardBinding(inviteIdShard(id))] as D1Database;

/** Times to open (ms) spanning every digit count, the first bucket's odd cases and ties. */
const TIMES = [
  -5, 0, 3, 10, 10, 99, 100, 109, 999, 1_000, 1_099, 1_100, 4_321, 59_999, 60_000, 61_234, 99_999,
  123_456, 3_599_999, 3_600_000, 7_654_321, 86_399_999, 86_400_000, 1_234_567_890,
];
const SURVEYS = ["demo", "demo-ws"];
const CHANNELS = ["in_app", "sms", undefined, "email"];

/** A tap from one fixed address, on `workerEnv` (one shard or four). */
function tapOnce(workerEnv: Env, id: string, init: { method?: string; cookie?: string } = {}) {
  return fetchWorker(tapRequest(id, { ...init, ip: "198.51.100.77" }), workerEnv);
}

/** The same scenario on `workerEnv`, tagged with `trigger`; returns the invite ids in order. */
async function playScenario(workerEnv: Env, trigger: string): Promise<string[]> {
  const links: IssuedLink[] = [];
  for (let i = 0; i < 40; i++) {
    const body = linkRequest({
      trigger,
      survey: SURVEYS[i % SURVEYS.length],
      channel: CHANNELS[i % CHANNELS.length],
    });
    const res = await fetchWorker(
      apiRequest("/v1/links", { method: "POST", json: body }),
      workerEnv,
    );
    expect(res.status).toBe(201);
    links.push(await res.json());
  }
  const ids = links.map((l) => l.id);
  for (const [i, id] of ids.entries()) {
    const ms = TIMES[i];
    if (ms !== undefined) {
      const first = await tapOnce(workerEnv, id);
      expect(first.status).toBe(302);
      if (i % 5 === 0) {
        const cookie = (first.headers.get("Set-Cookie") ?? "").split(";")[0];
        expect((await tapOnce(workerEnv, id, { cookie })).status).toBe(302);
      }
      if (i % 4 === 1) expect((await tapOnce(workerEnv, id)).status).toBe(410);
      await ledgerIn(workerEnv, id)
        .prepare("UPDATE invites SET consumed_at = issued_at + ? WHERE id = ?")
        .bind(ms, id)
        .run();
      if (i % 3 === 0) {
        await ledgerIn(workerEnv, id)
          .prepare("UPDATE invites SET completed_at = consumed_at + 1 WHERE id = ?")
          .bind(id)
          .run();
      }
    } else if (i % 4 === 0) {
      expect((await tapOnce(workerEnv, id, { method: "HEAD" })).status).toBe(200);
    } else if (i % 4 === 1) {
      const revoked = await fetchWorker(
        apiRequest(`/v1/links/${id}`, { method: "DELETE" }),
        workerEnv,
      );
      expect(revoked.status).toBe(200);
    } else if (i % 4 === 2) {
      await ledgerIn(workerEnv, id)
        .prepare("UPDATE invites SET expires_at = ? WHERE id = ?")
        .bind(Date.now() - 1_000, id)
        .run();
    }
  }
  return ids;
}

async function stats(workerEnv: Env, trigger: string, groupBy: string): Promise<Stats> {
  const res = await fetchWorker(
    apiRequest(`/v1/stats?trigger=${trigger}&groupBy=${groupBy}`, {}, ANALYST_KEY),
    workerEnv,
  );
  expect(res.status).toBe(200);
  return res.json();
}

describe("stats on 4 shards and on 1 shard", () => {
  it("agree on every count and percentile of every grouping", async () => {
    const tag = Date.now().toString(36);
    const [one, four] = [`one_${tag}`, `four_${tag}`];
    const idsOnOne = await playScenario(onShards(1), one);
    const idsOnFour = await playScenario(onShards(4), four);
    expect(new Set(idsOnOne.map((id) => id.slice(0, 2))).size).toBe(1);
    expect(new Set(idsOnFour.map((id) => id.slice(0, 2))).size).toBe(4);

    for (const groupBy of ["survey", "channel", "day", "trigger"]) {
      const [a, b] = [
        await stats(onShards(1), one, groupBy),
        await stats(onShards(4), four, groupBy),
      ];
      const rename = (s: Stats) =>
        s.rows.map((row) => ({ ...row, key: groupBy === "trigger" ? "t" : row.key }));
      expect(rename(b)).toEqual(rename(a));
      expect(b.totals).toEqual(a.totals);
    }
    const totals = (await stats(onShards(4), four, "survey")).totals;
    expect(totals).toMatchObject({ issued: 40, opened: TIMES.length, revoked: 4, expired: 4 });
    expectOpenTimes(totals, TIMES);
    // Per group too: the demo survey holds the even-indexed times.
    const demo = (await stats(onShards(4), four, "survey")).rows.find((r) => r.key === "demo");
    expectOpenTimes(
      demo,
      TIMES.filter((_, i) => i % 2 === 0),
    );
  });
});

describe("answers filtered by nothing or by survey only", () => {
  /** The exact times to open of the invites issued today on 4 shards. */
  async function recount(survey?: string) {
    const today = Math.floor(Date.now() / 86_400_000);
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { results } = await (env[shardBinding(i)] as D1Database)
        .prepare(
          `SELECT consumed_at - issued_at AS ms FROM invites
           WHERE consumed_at IS NOT NULL AND issued_at / 86400000 = ? AND survey LIKE ?`,
        )
        .bind(today, survey ?? "%")
        .all<{ ms: number }>();
      times.push(...results.map((r) => r.ms));
    }
    return times;
  }

  it("read the sketches added up per day and per survey, within 1 % of a recount too", async () => {
    await playScenario(onShards(4), `bysurvey_${Date.now().toString(36)}`);
    const today = new Date().toISOString().slice(0, 10);
    const read = async (query: string): Promise<Stats> => {
      const res = await fetchWorker(
        apiRequest(`/v1/stats?from=${today}&to=${today}&${query}`, {}, ANALYST_KEY),
        onShards(4),
      );
      expect(res.status).toBe(200);
      return res.json();
    };
    const all = await recount();
    const byDay = await read("groupBy=day");
    expect(byDay.totals.opened).toBe(all.length);
    expectOpenTimes(byDay.totals, all);
    expectOpenTimes(byDay.rows[0], all);
    // The full table (grouped by channel) merges to the same sketch as the per-survey one.
    const byChannel = await read("groupBy=channel");
    expect(byChannel.totals).toEqual(byDay.totals);
    const bySurvey = await read("groupBy=survey");
    for (const survey of SURVEYS) {
      const wanted = await recount(survey);
      const row = bySurvey.rows.find((r) => r.key === survey);
      expect(row?.opened).toBe(wanted.length);
      expectOpenTimes(row, wanted);
      const filtered = await read(`groupBy=day&survey=${survey}`);
      expectOpenTimes(filtered.totals, wanted);
    }
  });
});
