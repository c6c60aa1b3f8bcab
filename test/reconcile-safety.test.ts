/**
 * Reconcile safety: runs that die mid-way, runs that overlap, contacts Qualtrics refuses. A "dead"
 * run is one whose promise never settles (its wait or its request never returns), so none of
 * its own clean-up runs, as when the runtime kills it; the next run comes after its lease expired.
 */
import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import worker from "../src/index";
import { runReconcile } from "../src/reconcile/run";
import { eventually } from "./helpers/api";
import {
  afterLease,
  callWorker,
  control,
  exactlyOnce,
  fakeState,
  fast,
  inviteRows,
  never,
  pushedOnce,
  qualtricsEnv,
  resetLedger,
  seedInvites,
  startFake,
  stopFakes,
} from "./helpers/reconcile";

beforeEach(resetLedger);
afterEach(stopFakes);

interface RunListed {
  id: string;
  status: string;
  pushed: number;
  error: string | null;
}

describe("a run that dies", () => {
  it("between the import and its poll is finished by the next run: pushed once", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const env = qualtricsEnv(fake);
    const ids = await seedInvites(50);
    let waiting = false;
    // The run sends its import, then waits before polling, and never wakes up.
    void runReconcile(
      env,
      fast({
        sleep: () => {
          waiting = true;
          return never();
        },
      }),
    );
    await eventually(async () => expect(waiting).toBe(true));
    const mid = await fakeState(fake);
    expect(mid.transactions).toHaveLength(50);
    expect((await inviteRows()).every((r) => r.push_ref !== null && r.pushed_at === null)).toBe(
      true,
    );

    // While its lease lasts, nobody else runs.
    const early = await runReconcile(env, fast());
    expect(early.status).toBe("skipped");
    expect(early.error).toContain("holds the reconcile lease");

    const next = await runReconcile(env, fast({ now: afterLease() }));
    expect(next).toMatchObject({ status: "ok", imports: 0, pushed: 50, qualtrics_calls: 1 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(50));
    const runs = await callWorker(env, "/v1/reconcile/runs");
    const listed = ((await runs.json()) as { runs: RunListed[] }).runs;
    const dead = listed.find((r) => r.status === "abandoned");
    expect(dead?.error).toContain(`${next.id} took over`);
  });

  it("while sending an import leaves it unknown: held, never re-sent, resolved by an operator", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const env = qualtricsEnv(fake);
    const ids = await seedInvites(20);
    let sending = false;
    // The import POST leaves and nothing ever comes back (the run is killed mid-request).
    const killedMidRequest: typeof fetch = (input, init) => {
      if (init?.method === "POST" && String(input).endsWith("/transactioncontacts")) {
        sending = true;
        return never();
      }
      return fetch(input, init);
    };
    void runReconcile(env, fast({ client: { fetch: killedMidRequest, timeoutMs: 600_000 } }));
    await eventually(async () => expect(sending).toBe(true));

    const next = await runReconcile(env, fast({ now: afterLease() }));
    expect(next).toMatchObject({ status: "failed", imports: 0, pushed: 0, on_hold: 20 });
    expect(next.error).toContain("left sending by a run that stopped");
    const held = await callWorker(env, "/v1/reconcile/imports?status=unknown");
    const [entry] = ((await held.json()) as { imports: { id: string; contacts: number }[] })
      .imports;
    expect(entry?.contacts).toBe(20);

    // Later runs leave the held invites alone.
    expect(await runReconcile(env, fast({ now: afterLease(2_000) }))).toMatchObject({
      imports: 0,
      on_hold: 20,
    });
    expect((await fakeState(fake)).transactions).toHaveLength(0);

    await callWorker(env, `/v1/reconcile/imports/${entry?.id}/resolve`, {
      method: "POST",
      json: { outcome: "not_accepted" },
    });
    const after = await runReconcile(env, fast({ now: afterLease(3_000) }));
    expect(after).toMatchObject({ status: "ok", pushed: 20, on_hold: 0 });
    expect(exactlyOnce(await fakeState(fake), ids).once).toBe(20);
  });
});

describe("overlapping runs", () => {
  it("two runs at once: one works, the other is recorded as skipped", async () => {
    const fake = await startFake({ pollsToComplete: 2 });
    const env = qualtricsEnv(fake);
    const ids = await seedInvites(200);
    const runs = await Promise.all([runReconcile(env, fast()), runReconcile(env, fast())]);
    expect(runs.map((r) => r.status).sort()).toEqual(["ok", "skipped"]);
    expect(runs.find((r) => r.status === "skipped")?.error).toContain("holds the reconcile lease");
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(200));
  });

  it("the Cron Trigger and POST /v1/reconcile at once: invites pushed once", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const env = qualtricsEnv(fake);
    const ids = await seedInvites(100);
    const ctx = createExecutionContext();
    const controller = createScheduledController({ cron: "*/10 * * * *" });
    const [api] = await Promise.all([
      callWorker(env, "/v1/reconcile", { method: "POST" }),
      worker.scheduled(controller, env).then(() => waitOnExecutionContext(ctx)),
    ]);
    expect(api.status).toBe(200);
    const listed = (
      (await (await callWorker(env, "/v1/reconcile/runs")).json()) as { runs: RunListed[] }
    ).runs;
    expect(listed.map((r) => r.status).sort()).toEqual(["ok", "skipped"]);
    expect(exactlyOnce(await fakeState(fake), ids).once).toBe(100);
  });

  it("a slow run that outlived its lease: the next one takes over and nothing is pushed twice", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const env = qualtricsEnv(fake);
    const first = await seedInvites(50, { prefix: "a" });
    let wake: () => void = () => {};
    let waiting = false;
    const slow = runReconcile(
      env,
      fast({
        sleep: () => {
          waiting = true;
          return new Promise<void>((resolve) => {
            wake = resolve;
          });
        },
      }),
    );
    await eventually(async () => expect(waiting).toBe(true));
    const more = await seedInvites(10, { prefix: "b" });

    const next = await runReconcile(env, fast({ now: afterLease() }));
    // It settles the slow run's import and pushes only the invites nobody had reserved.
    expect(next).toMatchObject({ status: "ok", imports: 1, pushed: 60 });

    wake();
    const late = await slow;
    expect(late).toMatchObject({ status: "failed", pushed: 0 });
    expect(late.error).toContain("lost the reconcile lease");
    expect(exactlyOnce(await fakeState(fake), [...first, ...more])).toEqual(pushedOnce(60));
  });
});

describe("contacts Qualtrics refuses", () => {
  it("unprocessed contacts are reported, queued again and pushed by the next run", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const env = qualtricsEnv(fake);
    const ids = await seedInvites(10);
    await control(fake.url, "POST", "/_fake/failing-contacts", {
      extRefs: ["customer-s-3", "customer-s-7"],
    });
    const first = await runReconcile(env, fast());
    expect(first).toMatchObject({ status: "ok", imports: 1, pushed: 8, unprocessed: 2 });
    const refused = (await inviteRows()).filter((r) => r.pushed_at === null);
    expect(refused.map((r) => r.customer_ref).sort()).toEqual(["customer-s-3", "customer-s-7"]);
    expect(refused.every((r) => r.push_attempts === 1 && r.push_ref === null)).toBe(true);

    await control(fake.url, "DELETE", "/_fake/failing-contacts");
    const second = await runReconcile(env, fast());
    expect(second).toMatchObject({ status: "ok", imports: 1, pushed: 2, unprocessed: 0 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(10));
  });

  it("a contact refused five times is given up on and reported in the backlog, until an operator retries it", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const env = qualtricsEnv(fake);
    const [id] = await seedInvites(1, { customer: "bad-customer" });
    for (let i = 0; i < 5; i++) {
      expect(await runReconcile(env, fast())).toMatchObject({ unprocessed: 1, pushed: 0 });
    }
    expect(await runReconcile(env, fast())).toMatchObject({ imports: 0, qualtrics_calls: 0 });
    const res = await callWorker(env, "/v1/reconcile/runs");
    expect(((await res.json()) as { backlog: unknown }).backlog).toEqual({
      queued: 0,
      inFlight: 0,
      onHold: 0,
      gaveUp: 1,
    });

    // The cause fixed in the directory, the operator clears it: the next run pushes it.
    const retry = await callWorker(env, `/v1/reconcile/invites/${id}/retry`, { method: "POST" });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ id, pushed: false, pushAttempts: 0 });
    expect(await runReconcile(env, fast())).toMatchObject({ imports: 1, unprocessed: 1 });
    const unknown = await callWorker(env, "/v1/reconcile/invites/AAnot-an-invite-id-000000/retry", {
      method: "POST",
    });
    expect(unknown.status).toBe(404);
  });
});
