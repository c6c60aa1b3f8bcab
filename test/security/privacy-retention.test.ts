/**
 * The retention job (on the cron): customer ids and embedded data of invites issued more than
 * RETENTION_DAYS ago are deleted from the ledger (and a still-live token from KV) in bounded
 * batches, while every count stays. Scheduled jobs run independently and report failures.
 */
import { createScheduledController, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { purgeExpiredPersonalData } from "../../src/retention/purge";
import { retentionJob, runScheduledJobs, type ScheduledJob } from "../../src/scheduled";
import { api, cookieFrom, eventually, issue, tap, WEBSERVICE_SECRET } from "../helpers/api";
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
    expect((await ledgerRow(link.id))?.token).toBeTruthy();
    // A KV entry for it (a consumed mark, or the token of a link issued before tokens moved
    // into the ledger) goes too.
    await env.LINKS.put(link.id, "legacy-token-with-customer-old-2", { expirationTtl: 3600 });

    await runCron();

    expect(await env.LINKS.get(link.id)).toBeNull();
    expect((await ledgerRow(link.id))?.token).toBeNull();
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

    // A run stops after maxBatches batches of at most batchSize (a batch reads one shard).
    const first = await purgeExpiredPersonalData(env, { batchSize: 2, maxBatches: 2 });
    expect(first).toMatchObject({ batches: 2, done: false });
    expect(first.purged).toBeGreaterThanOrEqual(2);
    expect(first.purged).toBeLessThanOrEqual(4);
    expect(await purgedRows()).toHaveLength(first.purged);

    let total = first.purged;
    for (let run = 0; run < 5; run++) {
      const next = await purgeExpiredPersonalData(env, { batchSize: 2, maxBatches: 2 });
      expect(next.batches).toBeLessThanOrEqual(2);
      total += next.purged;
      if (next.done) break;
    }
    expect(total).toBe(5);
    expect(await purgedRows()).toHaveLength(5);
    const last = await purgeExpiredPersonalData(env, { batchSize: 2, maxBatches: 2 });
    expect(last).toMatchObject({ purged: 0, batches: 0, done: true });
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
