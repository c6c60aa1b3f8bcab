/**
 * Reconcile under Qualtrics faults, against the fake over real HTTP: 429 storms, 5xx, timeouts,
 * dropped connections, a bad token, a wrong mailing list, a day-long outage, the call budget.
 * The fake's own record (one transaction per invite id) is the judge of "pushed exactly once".
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runReconcile } from "../src/reconcile/run";
import { issue, tap } from "./helpers/api";
import {
  addResponses,
  callWorker,
  clearFaults,
  exactlyOnce,
  type Fake,
  fakeState,
  fast,
  injectFault,
  inviteRows,
  pushedOnce,
  qualtricsEnv,
  resetLedger,
  seedInvites,
  startFake,
  stopFakes,
} from "./helpers/reconcile";

beforeEach(resetLedger);
afterEach(stopFakes);

const noWait = async () => {};

const ENDPOINTS = [
  "createTransactionBatch",
  "importTransactionContacts",
  "getTransactionImport",
  "startResponseExport",
  "getResponseExport",
  "getResponseExportFile",
  "startUpdateResponses",
  "getUpdateResponses",
];

/** Issues `n` demo links, taps the first `answered` and adds their responses to the fake. */
async function invitesWithResponses(fake: Fake, n: number, answered: number): Promise<string[]> {
  const links = await Promise.all(Array.from({ length: n }, () => issue()));
  for (const link of links.slice(0, answered)) {
    const res = await tap(link.id);
    const values = Object.fromEntries(new URL(res.headers.get("Location") ?? "").searchParams);
    await addResponses(fake, "SV_demo", [{ embeddedData: values }]);
  }
  return links.map((l) => l.id);
}

interface ImportBody {
  id: string;
  status: string;
  contacts: number;
  pushed: number | null;
  error: string | null;
}

async function imports(fake: Fake, query = ""): Promise<ImportBody[]> {
  const res = await callWorker(qualtricsEnv(fake), `/v1/reconcile/imports${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { imports: ImportBody[] }).imports;
}

describe("rate limits", () => {
  it("a 429 storm on every endpoint is waited out: each invite pushed once, everything stamped", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await invitesWithResponses(fake, 8, 3);
    for (const endpoint of ENDPOINTS) {
      await injectFault(fake, { status: 429, retryAfter: 0, count: 3, endpoint });
    }
    const run = await runReconcile(qualtricsEnv(fake), fast());
    expect(run).toMatchObject({ status: "ok", pushed: 8, completions: 3, stamped: 3 });
    const state = await fakeState(fake);
    expect(state.calls.byStatus["429"]).toBe(3 * ENDPOINTS.length);
    expect(run.qualtrics_calls).toBe(state.calls.total);
    expect(exactlyOnce(state, ids)).toEqual(pushedOnce(8));
  });

  it("the fake's own per-minute limits answer 429 with Retry-After and the run waits them out", async () => {
    const fake = await startFake({
      pollsToComplete: 1,
      rateLimits: { windowMs: 1000, brand: 4 },
    });
    const ids = await invitesWithResponses(fake, 5, 2);
    const run = await runReconcile(qualtricsEnv(fake), fast());
    expect(run).toMatchObject({ status: "ok", pushed: 5, completions: 2, stamped: 2 });
    const state = await fakeState(fake);
    expect(state.calls.byStatus["429"]).toBeGreaterThan(0);
    expect(exactlyOnce(state, ids).once).toBe(5);
  });

  it("a 429 storm outlasting the retries leaves the invites queued; the next run pushes them once", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await invitesWithResponses(fake, 4, 0);
    // The client tries 1 + 4 times: five 429s exhaust one run.
    await injectFault(fake, {
      status: 429,
      retryAfter: 0,
      count: 5,
      endpoint: "importTransactionContacts",
    });
    const first = await runReconcile(qualtricsEnv(fake), fast());
    expect(first).toMatchObject({ status: "failed", imports: 1, pushed: 0, on_hold: 0 });
    expect(first.error).toContain("429");
    expect(await imports(fake, "?status=not_sent")).toHaveLength(1);
    expect((await inviteRows()).every((r) => r.push_ref === null)).toBe(true);

    const second = await runReconcile(qualtricsEnv(fake), fast());
    expect(second).toMatchObject({ status: "ok", pushed: 4 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(4));
  });
});

describe("5xx, timeouts and dropped connections", () => {
  it("calls that are safe to repeat are retried: the run succeeds", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await invitesWithResponses(fake, 6, 2);
    await injectFault(fake, { status: 500, count: 2, endpoint: "createTransactionBatch" });
    await injectFault(fake, { hang: true, endpoint: "getTransactionImport" });
    await injectFault(fake, { status: 503, endpoint: "startResponseExport" });
    await injectFault(fake, { reset: true, endpoint: "getResponseExportFile" });
    await injectFault(fake, { status: 504, endpoint: "startUpdateResponses" });
    const run = await runReconcile(qualtricsEnv(fake), fast({ client: { timeoutMs: 200 } }));
    expect(run).toMatchObject({ status: "ok", pushed: 6, completions: 2, stamped: 2 });
    const state = await fakeState(fake);
    expect(state.calls.byEndpoint.createTransactionBatch).toBe(3);
    expect(exactlyOnce(state, ids).once).toBe(6);
  });

  it("a 500 on the import is not repeated: its invites are held, then resolved as not received", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await invitesWithResponses(fake, 5, 0);
    await injectFault(fake, { status: 500, endpoint: "importTransactionContacts" });

    const first = await runReconcile(qualtricsEnv(fake), fast());
    expect(first).toMatchObject({ status: "failed", imports: 1, pushed: 0, on_hold: 5 });
    expect(first.error).toContain("outcome unknown");
    expect((await fakeState(fake)).calls.byEndpoint.importTransactionContacts).toBe(1);

    // Held invites are not sent again by later runs.
    const second = await runReconcile(qualtricsEnv(fake), fast());
    expect(second).toMatchObject({ status: "ok", imports: 0, pushed: 0, on_hold: 5 });
    const runs = await callWorker(qualtricsEnv(fake), "/v1/reconcile/runs");
    expect(((await runs.json()) as { backlog: unknown }).backlog).toEqual({
      queued: 0,
      inFlight: 0,
      onHold: 5,
      gaveUp: 0,
    });

    // The operator checks the batch in XM Directory: nothing arrived (the fake agrees).
    expect((await fakeState(fake)).transactions).toHaveLength(0);
    const [held] = await imports(fake);
    expect(held).toMatchObject({ status: "unknown", contacts: 5 });
    const resolved = await callWorker(
      qualtricsEnv(fake),
      `/v1/reconcile/imports/${held?.id}/resolve`,
      { method: "POST", json: { outcome: "not_accepted" } },
    );
    expect(resolved.status).toBe(200);
    expect(await resolved.json()).toMatchObject({ status: "abandoned" });

    const third = await runReconcile(qualtricsEnv(fake), fast());
    expect(third).toMatchObject({ status: "ok", pushed: 5, on_hold: 0 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(5));
  });

  it("a timeout after Qualtrics did the import is not repeated; resolved as received, nothing is sent twice", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await invitesWithResponses(fake, 5, 0);
    await injectFault(fake, { hang: true, after: true, endpoint: "importTransactionContacts" });

    const first = await runReconcile(qualtricsEnv(fake), fast({ client: { timeoutMs: 300 } }));
    expect(first).toMatchObject({ status: "failed", imports: 1, pushed: 0, on_hold: 5 });
    expect(first.error).toContain("timed out");
    // Qualtrics has the transactions even though the answer never came.
    expect(exactlyOnce(await fakeState(fake), ids).once).toBe(5);

    const [held] = await imports(fake);
    const env = qualtricsEnv(fake);
    const path = `/v1/reconcile/imports/${held?.id}/resolve`;
    const resolved = await callWorker(env, path, {
      method: "POST",
      json: { outcome: "accepted" },
    });
    expect(await resolved.json()).toMatchObject({ status: "complete", pushed: 5 });
    expect((await inviteRows()).every((r) => r.pushed_at !== null)).toBe(true);
    const twice = await callWorker(env, path, { method: "POST", json: { outcome: "accepted" } });
    expect(twice.status).toBe(409);
    const unknownId = await callWorker(env, "/v1/reconcile/imports/imp_nope/resolve", {
      method: "POST",
      json: { outcome: "accepted" },
    });
    expect(unknownId.status).toBe(404);
    const badBody = await callWorker(env, path, { method: "POST", json: { outcome: "maybe" } });
    expect(badBody.status).toBe(400);

    const next = await runReconcile(qualtricsEnv(fake), fast());
    expect(next).toMatchObject({ status: "ok", imports: 0, on_hold: 0 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(5));
  });
});

describe("credentials and configuration", () => {
  it("a bad token fails the run with the 401, sends nothing more, and the fixed token pushes once", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await invitesWithResponses(fake, 3, 0);
    const bad = await runReconcile(
      qualtricsEnv(fake, { QUALTRICS_API_TOKEN: "expired-token" }),
      fast(),
    );
    expect(bad).toMatchObject({ status: "failed", pushed: 0, qualtrics_calls: 1 });
    expect(bad.error).toContain("401");
    expect((await fakeState(fake)).calls.byStatus).toEqual({ "401": 1 });

    const good = await runReconcile(qualtricsEnv(fake), fast());
    expect(good).toMatchObject({ status: "ok", pushed: 3 });
    expect(exactlyOnce(await fakeState(fake), ids).once).toBe(3);
  });

  it("a wrong mailing list (100% with nothing recorded) is reported and the invites stay queued", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await invitesWithResponses(fake, 3, 0);
    const wrong = await runReconcile(
      qualtricsEnv(fake, { QUALTRICS_MAILING_LIST_ID: "CG_wrong" }),
      fast(),
    );
    expect(wrong).toMatchObject({ status: "failed", imports: 1, pushed: 0 });
    expect(wrong.error).toContain("QUALTRICS_MAILING_LIST_ID");
    expect((await fakeState(fake)).transactions).toHaveLength(0);

    const right = await runReconcile(qualtricsEnv(fake), fast());
    expect(right).toMatchObject({ status: "ok", pushed: 3 });
    expect(exactlyOnce(await fakeState(fake), ids).once).toBe(3);
  });

  it("a run stops at its call budget and the next run carries on", async () => {
    const fake = await startFake({ pollsToComplete: 3 });
    const ids = await invitesWithResponses(fake, 3, 2);
    const budget = qualtricsEnv(fake, { QUALTRICS_MAX_CALLS_PER_RUN: "10" });
    const first = await runReconcile(budget, fast());
    // batch, import, 3 polls; an export that fails (start, 3 polls), another (start, 1 poll) = 10.
    expect(first).toMatchObject({ status: "failed", pushed: 3, completions: 0, stamped: 0 });
    expect(first.qualtrics_calls).toBe(10);
    expect(first.error).toContain("budget");
    expect((await fakeState(fake)).calls.total).toBe(10);

    // The export is polled on where it stood; its file, then the stamp job, fit this time.
    const second = await runReconcile(budget, fast());
    expect(second).toMatchObject({ status: "ok", completions: 2, stamped: 2 });
    expect(exactlyOnce(await fakeState(fake), ids).once).toBe(3);
  });
});

describe("Qualtrics down for a day", () => {
  // 145 runs: a failing push no longer ends a run, so each also looks for completions and
  // stamps (a few ledger reads); on a busy two-core machine that passes the default 30 s.
  it("invites queue through a day of failed cron runs and are pushed, once, when it returns", {
    timeout: 120_000,
  }, async () => {
    // 145 runs: most of a minute on a busy 2-core machine
    const fake = await startFake({ pollsToComplete: 1 });
    await injectFault(fake, { status: 503, count: 1_000_000 });
    const env = qualtricsEnv(fake);
    const ids: string[] = [];
    const start = Date.parse("2026-11-28T00:00:00Z");
    // A cron run every 10 minutes for 24 hours; invites keep being issued meanwhile.
    for (let tick = 0; tick < 144; tick++) {
      if (tick % 12 === 0) ids.push(...(await invitesWithResponses(fake, 2, 0)));
      if (tick === 72) {
        // For an hour the outage changes shape: connections dropped instead of answered (six
        // runs of two attempts; workerd logs each dropped socket, hence only an hour of it).
        await clearFaults(fake);
        await injectFault(fake, { reset: true, count: 12 });
        await injectFault(fake, { status: 503, count: 1_000_000 });
      }
      // What the Cron Trigger calls (test/reconcile.test.ts drives the handler itself), with the
      // backoff between retries skipped (its waits are the client tests' business), so that a
      // day of runs takes seconds.
      const run = await runReconcile(
        env,
        fast({ trigger: "cron", now: () => start + tick * 600_000, client: { sleep: noWait } }),
      );
      expect(run.status).toBe("failed");
    }
    const during = await fakeState(fake);
    // Only transaction batches were attempted (safe to repeat); no import was ever sent.
    expect(during.transactions).toHaveLength(0);
    expect(Object.keys(during.calls.byEndpoint)).toEqual(["createTransactionBatch"]);
    const dayRuns = await callWorker(env, "/v1/reconcile/runs?limit=200");
    const day = (await dayRuns.json()) as {
      runs: { status: string; pushed: number; onHold: number }[];
      backlog: { queued: number; onHold: number };
    };
    expect(day.runs).toHaveLength(144);
    expect(day.runs.every((r) => r.status === "failed" && r.pushed === 0 && r.onHold === 0)).toBe(
      true,
    );
    expect(day.backlog).toMatchObject({ queued: ids.length, onHold: 0 });

    await clearFaults(fake);
    const back = await runReconcile(env, fast({ trigger: "cron", now: () => start + 86_400_000 }));
    expect(back).toMatchObject({ status: "ok", imports: 1, pushed: ids.length });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(ids.length));
  });

  it("volume seeded directly is pushed the same way after an outage", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = await seedInvites(1_500);
    await injectFault(fake, { status: 503, count: 1_000_000 });
    for (let i = 0; i < 3; i++) {
      expect((await runReconcile(qualtricsEnv(fake), fast())).status).toBe("failed");
    }
    await clearFaults(fake);
    expect(await runReconcile(qualtricsEnv(fake), fast())).toMatchObject({ pushed: 1_500 });
    expect(exactlyOnce(await fakeState(fake), ids).once).toBe(1_500);
  });
});
