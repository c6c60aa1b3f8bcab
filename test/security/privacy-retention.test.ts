/**
 * The retention job (on the cron): an invite past RETENTION_DAYS whose link expired, that nothing
 * holds in flight with Qualtrics and whose completion window closed leaves its shard (its id then
 * answers 404 unknown_or_purged); one that must stay a while longer loses its customer id and
 * embedded data (and a still-live token in KV). Bounded batches, every count kept. Scheduled jobs
 * run independently and report failures.
 */
import { createScheduledController, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { purgeExpiredPersonalData } from "../../src/retention/purge";
import { retentionJob, runScheduledJobs, type ScheduledJob } from "../../src/scheduled";
import {
  ANALYST_KEY,
  api,
  cookieFrom,
  eventually,
  issue,
  tap,
  uniqueTxn,
  WEBSERVICE_SECRET,
} from "../helpers/api";
import { ledgerOf, wrapShards } from "../helpers/ledger";
import { clickOutcomes, ledgerRow } from "./helpers";

const DAY = 86_400_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Moves an invite's issue time into the past (as if it was issued `days` ago). */
async function issuedDaysAgo(id: string, days: number) {
  await ledgerOf(id)
    .prepare("UPDATE invites SET issued_at = ? WHERE id = ?")
    .bind(Date.now() - days * DAY, id)
    .run();
}

/** Moves an invite's whole life into the past: issued, opened (if it was) and expired. */
async function livedDaysAgo(id: string, days: number) {
  const issuedAt = Date.now() - days * DAY;
  await ledgerOf(id)
    .prepare(
      `UPDATE invites SET issued_at = ?1, expires_at = ?1 + 7 * ${DAY},
         consumed_at = iif(consumed_at IS NULL, NULL, ?1 + 60000) WHERE id = ?2`,
    )
    .bind(issuedAt, id)
    .run();
}

/** Issued, opened and completed counts of one trigger since `days` ago (the stats API). */
async function triggerTotals(trigger: string, days: number) {
  const from = new Date(Date.now() - days * DAY).toISOString().slice(0, 10);
  const res = await api(`/v1/stats?${new URLSearchParams({ trigger, from })}`, {
    key: ANALYST_KEY,
  });
  expect(res.status).toBe(200);
  const { totals } = (await res.json()) as {
    totals: { issued: number; opened: number; reopened: number; expired: number };
  };
  return totals;
}

const cronController = () =>
  createScheduledController({ scheduledTime: Date.now(), cron: "*/10 * * * *" });

async function runCron(testEnv = env) {
  await worker.scheduled(cronController(), testEnv);
}

/** Clears the due rows left by earlier tests in this file, so counts below are exact. */
async function purgeEverythingDue() {
  await purgeExpiredPersonalData(env, { maxBatches: 1_000 });
}

describe("retention job on the cron", () => {
  it("deletes customer ids and embedded data after RETENTION_DAYS (90) and keeps the counts", async () => {
    const old = await issue({ customerId: "customer-old-1" });
    const recent = await issue({ customerId: "customer-recent-1" });
    const first = await tap(old.id);
    expect(first.status).toBe(302);
    expect((await tap(old.id, { ip: "198.51.100.40" })).status).toBe(410);
    expect((await tap(old.id, { cookie: cookieFrom(first) })).status).toBe(302);
    expect((await tap(old.id, { method: "HEAD" })).status).toBe(200);
    // Re-open, refusal and preview counters are written just after the answers (batched).
    await eventually(async () =>
      expect(await ledgerRow(old.id)).toMatchObject({
        reopen_count: 1,
        blocked_count: 1,
        preview_count: 1,
      }),
    );
    await issuedDaysAgo(old.id, 91);
    await issuedDaysAgo(recent.id, 89);
    const before = await ledgerRow(old.id);
    const eventsBefore = await clickOutcomes(old.id);

    await runCron();

    const after = await ledgerRow(old.id);
    expect(after?.customer_ref).toBeNull();
    expect(after?.embedded_data).toBeNull();
    expect(after?.token).toBeNull();
    expect(after?.sig).toBeNull();
    // What could be matched back to the customer goes too: the request hash, the transaction id.
    expect(after?.request_hash).toBe("");
    expect(after?.transaction_id).toBe(`erased:${old.id}`);
    expect(after?.transaction_id).not.toBe(before?.transaction_id);
    expect(after?.purged_at).toEqual(expect.any(Number));
    // Counts and lifecycle stay.
    expect(after).toMatchObject({
      id: old.id,
      survey: before?.survey,
      trigger: before?.trigger,
      channel: before?.channel,
      issued_at: before?.issued_at,
      expires_at: before?.expires_at,
      consumed_at: before?.consumed_at,
      reopen_count: 1,
      blocked_count: 1,
      preview_count: 1,
    });
    expect(await clickOutcomes(old.id)).toEqual(eventsBefore);
    const status = await api(`/v1/links/${old.id}`);
    expect(await status.json()).toMatchObject({ status: "opened", reopens: 1, blocked: 1 });

    // The recent invite is untouched.
    const kept = await ledgerRow(recent.id);
    expect(kept?.customer_ref).toBe("customer-recent-1");
    expect(kept?.embedded_data).not.toBeNull();
    expect(kept?.purged_at).toBeNull();
  });

  it("clears a still-live link's token and KV entry, so a purged invite can no longer reveal its data", async () => {
    const link = await issue({ survey: "demo-ws", customerId: "customer-old-2" });
    await issuedDaysAgo(link.id, 120);
    expect((await ledgerRow(link.id))?.sig).toBeTruthy();
    // A KV entry for it (a consumed mark, or the token of a link issued before tokens moved
    // into the ledger) goes too.
    await env.LINKS.put(link.id, "legacy-token-with-customer-old-2", { expirationTtl: 3600 });

    await runCron();

    expect(await env.LINKS.get(link.id)).toBeNull();
    expect((await ledgerRow(link.id))?.sig).toBeNull();
    const res = await tap(link.id);
    expect(res.status).not.toBe(302);
    expect([404, 410]).toContain(res.status);
    const data = await api(`/v1/invites/${link.id}/data`, {
      key: null,
      headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
    });
    expect(data.status).toBe(410);
    expect(await data.text()).not.toContain("customer-old-2");
  });

  it("follows RETENTION_DAYS from the configuration", async () => {
    await purgeEverythingDue();
    const twoDays = await issue();
    const halfDay = await issue();
    await issuedDaysAgo(twoDays.id, 2);
    await issuedDaysAgo(halfDay.id, 0.5);

    await runCron({ ...env, RETENTION_DAYS: "1" });

    expect((await ledgerRow(twoDays.id))?.customer_ref).toBeNull();
    expect((await ledgerRow(halfDay.id))?.customer_ref).not.toBeNull();
  });

  it("works in bounded batches; the next run continues where the last stopped", async () => {
    await purgeEverythingDue();
    const links = await Promise.all(Array.from({ length: 5 }, () => issue()));
    for (const link of links) await issuedDaysAgo(link.id, 100);
    const purgedRows = async () =>
      (await Promise.all(links.map((l) => ledgerRow(l.id)))).filter((r) => r?.purged_at !== null);

    // A run stops after maxBatches steps (one shard each): the first deletes what may leave,
    // the next clear personal data, at most batchSize at a time.
    const limits = { batchSize: 2, maxBatches: 2 };
    const first = await purgeExpiredPersonalData(env, limits);
    expect(first).toMatchObject({ batches: 2, done: false, removed: 0 });
    expect(first.purged).toBeLessThanOrEqual(2);
    expect(await purgedRows()).toHaveLength(first.purged);

    let total = first.purged;
    for (let run = 0; run < 20; run++) {
      const next = await purgeExpiredPersonalData(env, limits);
      expect(next.batches).toBeLessThanOrEqual(2);
      total += next.purged;
      if (next.done) break;
    }
    expect(total).toBe(5);
    expect(await purgedRows()).toHaveLength(5);
    const last = await purgeExpiredPersonalData(env, { maxBatches: 1_000 });
    expect(last).toMatchObject({ purged: 0, removed: 0, done: true });
  });
});

describe("rows that leave their shard", () => {
  it("an expired, settled invite past RETENTION_DAYS leaves: its id answers 404 unknown_or_purged, its counts stay", async () => {
    await purgeEverythingDue();
    const trigger = uniqueTxn("leaving").slice(0, 64);
    const opened = await issue({ trigger, customerId: "customer-leaving-1" });
    const unopened = await issue({ trigger, customerId: "customer-leaving-2" });
    expect((await tap(opened.id)).status).toBe(302);
    expect((await tap(opened.id, { ip: "198.51.100.41" })).status).toBe(410);
    await eventually(async () => expect((await ledgerRow(opened.id))?.blocked_count).toBe(1));
    await livedDaysAgo(opened.id, 100);
    await livedDaysAgo(unopened.id, 100);
    // Its consumed mark in KV expires with the link (here moved into the past by hand).
    await env.LINKS.delete(opened.id);
    const before = await triggerTotals(trigger, 101);
    expect(before).toMatchObject({ issued: 2, opened: 1, expired: 1 });

    const report = await purgeExpiredPersonalData(env, { maxBatches: 1_000 });

    expect(report.removed).toBe(2);
    expect(await ledgerRow(opened.id)).toBeNull();
    expect(await ledgerRow(unopened.id)).toBeNull();
    expect(await clickOutcomes(opened.id)).toEqual([]);
    // The rollups carry what the rows counted.
    expect(await triggerTotals(trigger, 101)).toEqual(before);
    for (const id of [opened.id, unopened.id]) {
      const status = await api(`/v1/links/${id}`);
      expect(status.status).toBe(404);
      expect(await status.json()).toMatchObject({ error: { code: "unknown_or_purged" } });
      const data = await api(`/v1/invites/${id}/data`, {
        key: null,
        headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
      });
      expect(data.status).toBe(404);
      // The tap's answer stays a page for people.
      const page = await tap(id);
      expect(page.status).toBe(404);
      expect(page.headers.get("Content-Type")).toContain("text/html");
    }
  });

  it("stays while its link is live, an import or a stamp job holds it, or its response may still come", async () => {
    await purgeEverythingDue();
    const [live, importing, stamping, awaiting, erased] = await Promise.all(
      Array.from({ length: 5 }, () => issue()),
    );
    if (!live || !importing || !stamping || !awaiting || !erased) throw new Error("five links");
    expect((await tap(awaiting.id)).status).toBe(302);
    for (const link of [importing, stamping, awaiting, erased]) await livedDaysAgo(link.id, 100);
    await issuedDaysAgo(live.id, 100);
    const set = (id: string, sql: string) =>
      ledgerOf(id).prepare(`UPDATE invites SET ${sql} WHERE id = ?`).bind(id).run();
    await set(importing.id, "push_ref = 'import-in-flight'");
    await set(stamping.id, "stamp_ref = 'stamp-in-flight'");
    // Opened 10 days ago, no response yet: its completion window is open.
    await set(awaiting.id, `consumed_at = ${Date.now() - 10 * DAY}`);
    await set(
      erased.id,
      `erased_at = ${Date.now() - 50 * DAY}, purged_at = ${Date.now() - 50 * DAY}`,
    );

    const report = await purgeExpiredPersonalData(env, { maxBatches: 1_000 });

    expect(report.removed).toBe(1);
    expect(await ledgerRow(erased.id)).toBeNull();
    for (const link of [live, importing, stamping, awaiting]) {
      const row = await ledgerRow(link.id);
      expect(row).toMatchObject({ customer_ref: null, embedded_data: null });
      expect(row?.purged_at).toEqual(expect.any(Number));
    }
    // Released, expired and past its window, each leaves with the next run.
    await set(importing.id, "push_ref = NULL");
    await set(stamping.id, "stamp_ref = NULL");
    await set(awaiting.id, `consumed_at = ${Date.now() - 99 * DAY}`);
    await set(live.id, `expires_at = ${Date.now() - DAY}`);
    const next = await purgeExpiredPersonalData(env, { maxBatches: 1_000 });
    expect(next.removed).toBe(4);
  });
});

describe("scheduled jobs", () => {
  it("run independently: a failing job does not stop the retention job, and is reported", async () => {
    const log = vi.spyOn(console, "log");
    const link = await issue();
    await issuedDaysAgo(link.id, 100);
    const failing: ScheduledJob = {
      name: "reconcile",
      budgetShare: 2 / 3,
      run: () => Promise.reject(new Error("Qualtrics unreachable")),
    };

    await expect(runScheduledJobs([failing, retentionJob], env, cronController())).rejects.toThrow(
      "scheduled jobs failed: reconcile",
    );
    expect((await ledgerRow(link.id))?.purged_at).not.toBeNull();
    const lines = log.mock.calls.map((c) => String(c[0]));
    expect(lines.find((l) => l.includes('"event":"scheduled_job_failed"'))).toContain(
      '"job":"reconcile"',
    );
    const done = lines.find((l) => l.includes('"event":"scheduled_job_done"'));
    expect(JSON.parse(done ?? "{}")).toMatchObject({
      job: "retention",
      purged: 1,
      linksDeleted: 1,
      done: true,
    });
  });

  it("the cron invocation fails when its jobs fail (D1 down)", async () => {
    const log = vi.spyOn(console, "log");
    const down = wrapShards(
      (db) =>
        new Proxy(db, {
          get: (target, property) =>
            property === "prepare"
              ? () => {
                  throw new Error("D1_ERROR: simulated outage");
                }
              : Reflect.get(target, property),
        }),
    );
    await expect(runCron({ ...env, ...down })).rejects.toThrow(
      "scheduled jobs failed: reconcile, retention",
    );
    expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toContain("simulated outage");
  });
});
