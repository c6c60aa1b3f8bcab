/**
 * Reconcile against the Qualtrics that really exists: the fake answers in the shapes the public
 * record of Qualtrics shows (nulls, bare metas, failed exports, queued update jobs with errors and
 * warnings, refused tokens and values, undeclared fields, deduplication off) and the run must
 * never duplicate a transaction nor wedge a survey. One test per behaviour; the fake's own
 * record is the judge.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HELD_IMPORT_SETTLE_MS } from "../src/reconcile/held-imports";
import { runReconcile } from "../src/reconcile/run";
import { issue, tap } from "./helpers/api";
import { ledgerOf } from "./helpers/ledger";
import {
  addResponses,
  callWorker,
  control,
  DEMO_FIELDS,
  declareEmbeddedData,
  exactlyOnce,
  type Fake,
  fakeState,
  fast,
  INVITE_VALUES,
  injectFault,
  inviteRows,
  pushedOnce,
  qualtricsEnv,
  type RunBody,
  reconcileNow,
  refuseUpdates,
  resetLedger,
  seedInvites,
  startFake,
  stopFakes,
  transactionsPerInvite,
  webserviceValues,
} from "./helpers/reconcile";

beforeEach(resetLedger);
afterEach(stopFakes);

/** Runs ten minutes apart, as the Cron Trigger fires them. */
const every10Minutes = (start: number) => (run: number) => () => start + run * 600_000;

/** Issues `n` links of `survey`, taps them and records their responses in the fake. */
async function answered(fake: Fake, survey: string, surveyId: string, n: number) {
  const links = await Promise.all(Array.from({ length: n }, () => issue({ survey })));
  const responseIds: string[] = [];
  for (const link of links) {
    const landingUrl = (await tap(link.id)).headers.get("Location") ?? "";
    // Recorded as the survey flow reads the link (Q_EED too); web service: the data endpoint.
    const response =
      survey === "demo-ws" ? { embeddedData: await webserviceValues(link.id) } : { landingUrl };
    const { responseIds: ids } = await addResponses(fake, surveyId, [response]);
    responseIds.push(...ids);
  }
  return { ids: links.map((l) => l.id), responseIds };
}

describe("an ambiguous import is held, never re-sent", () => {
  it("a 200 whose body cannot be read: ten runs later each invite is in at most one transaction, and the batch lookup settles it", async () => {
    const fake = await startFake({ pollsToComplete: 1, pageSize: 20 });
    const env = qualtricsEnv(fake);
    const ids = await seedInvites(66);
    await injectFault(fake, {
      reply: "<html><body>502 Bad Gateway</body></html>",
      after: true,
      endpoint: "importTransactionContacts",
    });
    const at = every10Minutes(Date.now());
    const runs = [];
    for (let run = 0; run < 10; run++) {
      runs.push(await runReconcile(env, fast({ now: at(run) })));
      const counts = transactionsPerInvite(await fakeState(fake));
      expect(Math.max(...counts.values())).toBe(1);
    }
    expect(runs[0]).toMatchObject({ status: "failed", imports: 1, pushed: 0, on_hold: 66 });
    expect(runs[0]?.error).toContain("outcome unknown");
    // Held until an hour had passed, then settled by what the batch holds: all 66 are there.
    const settledAt = runs.findIndex((r) => r.pushed > 0);
    expect(settledAt * 600_000).toBeGreaterThanOrEqual(HELD_IMPORT_SETTLE_MS);
    expect(runs[settledAt]).toMatchObject({ status: "ok", imports: 0, pushed: 66, on_hold: 0 });
    const state = await fakeState(fake);
    expect(exactlyOnce(state, ids)).toEqual(pushedOnce(66));
    expect(state.calls.byEndpoint.importTransactionContacts).toBe(1);
    expect((await inviteRows()).every((r) => r.pushed_at !== null)).toBe(true);
  });

  it("an answer without its import id is held too; what the batch lacks is pushed again, once, in a fresh batch", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const env = qualtricsEnv(fake);
    const ids = await seedInvites(5);
    // Qualtrics took three of them, and its answer names no import.
    await control(fake.url, "POST", "/_fake/failing-contacts", {
      extRefs: ["customer-s-2", "customer-s-4"],
    });
    await injectFault(fake, {
      reply: { result: { status: "inProgress", contacts: { unprocessed: null } }, meta: {} },
      after: true,
      endpoint: "importTransactionContacts",
    });
    const at = every10Minutes(Date.now());
    const first = await runReconcile(env, fast({ now: at(0) }));
    expect(first).toMatchObject({ status: "failed", on_hold: 5 });
    await control(fake.url, "DELETE", "/_fake/failing-contacts");

    const later = await runReconcile(env, fast({ now: at(7) }));
    // Three found in the batch (pushed), two absent: sent again in this run's own batch.
    expect(later).toMatchObject({ status: "ok", imports: 1, pushed: 5, on_hold: 0 });
    const state = await fakeState(fake);
    expect(exactlyOnce(state, ids)).toEqual(pushedOnce(5));
    const batchOf = new Map(
      state.transactions.map((t) => [t.transactionData.invite_id, t.batchId]),
    );
    expect(new Set(batchOf.values()).size).toBe(2);
    expect(batchOf.get(ids[1])).not.toBe(batchOf.get(ids[0]));
    const imports = await callWorker(env, "/v1/reconcile/imports?status=complete");
    const listed = ((await imports.json()) as { imports: { error: string | null }[] }).imports;
    expect(listed.some((i) => i.error?.includes("3 invite(s) found there"))).toBe(true);
  });

  it("a batch that cannot be looked up (a scope the OAuth client lacks) stays held; the configured scope settles it", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    // This brand wants the read scope to list transactions.
    await control(fake.url, "POST", "/_fake/scopes", {
      endpoint: "listBatchTransactions",
      scopes: ["read:contact_transactions"],
    });
    const oauth = {
      QUALTRICS_API_TOKEN: undefined,
      QUALTRICS_CLIENT_ID: "fake-client",
      QUALTRICS_CLIENT_SECRET: "fake-secret",
    };
    const ids = await seedInvites(3);
    await injectFault(fake, { status: 503, endpoint: "importTransactionContacts" });
    const at = every10Minutes(Date.now());
    await runReconcile(qualtricsEnv(fake, oauth), fast({ now: at(0) }));

    const refused = await runReconcile(qualtricsEnv(fake, oauth), fast({ now: at(7) }));
    expect(refused).toMatchObject({ status: "failed", pushed: 0, on_hold: 3 });
    expect(refused.error).toContain("could not be looked up");
    expect(refused.error).toContain("403");

    const scopes =
      "write:contact_transactions read:contact_transactions write:mailing_list_contacts " +
      "read:survey_responses write:survey_responses";
    const settled = await runReconcile(
      qualtricsEnv(fake, { ...oauth, QUALTRICS_OAUTH_SCOPES: scopes }),
      fast({ now: at(8) }),
    );
    // Nothing arrived before: all three pushed now, once.
    expect(settled).toMatchObject({ status: "ok", pushed: 3, on_hold: 0 });
    expect(exactlyOnce(await fakeState(fake), ids)).toEqual(pushedOnce(3));
  });
});

describe("one bad survey or invite never blocks the others", () => {
  it("a survey whose export Qualtrics refuses is recorded against it; the other surveys are read and stamped", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const demo = await answered(fake, "demo", "SV_demo", 1);
    const ws = await answered(fake, "demo-ws", "SV_demows", 1);
    // The first survey read (demo) is refused; a refusal is not retried.
    await injectFault(fake, { status: 403, endpoint: "startResponseExport" });
    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "failed", completions: 1, stamped: 1 });
    expect(run.error).toContain("completions for demo: ");
    expect(run.error).not.toContain("demo-ws");
    const rows = await inviteRows([...demo.ids, ...ws.ids]);
    expect(rows.map((r) => r.completed_at !== null)).toEqual(
      rows.map((r) => ws.ids.includes(String(r.id))),
    );
    // The next run reads the refused survey.
    expect(await reconcileNow(fake)).toMatchObject({ status: "ok", completions: 1 });
  });

  it("an export Qualtrics no longer knows is forgotten and a new one started", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    await answered(fake, "demo", "SV_demo", 1);
    // The first export fails (as documented); the one started after it is lost.
    await injectFault(fake, { status: 404, endpoint: "getResponseExport", count: 2 });
    const first = await reconcileNow(fake);
    expect(first.error).toContain("is unknown to Qualtrics");
    expect(first.completions).toBe(0);
    const second = await reconcileNow(fake);
    expect(second).toMatchObject({ status: "ok", completions: 1, stamped: 1 });
    expect(Object.keys((await fakeState(fake)).exports)).toHaveLength(3);
  });

  it("the run ends early only when Qualtrics as a whole fails: one call out of retries is that survey's; two stop the run", async () => {
    const fake = await startFake({ pollsToComplete: 0, failFirstExport: false });
    for (const [survey, id] of [
      ["demo", "SV_demo"],
      ["demo-ws", "SV_demows"],
      ["demo-eed", "SV_demoeed"],
    ] as const) {
      await answered(fake, survey, id, 1);
    }
    // Five 503s use up one export start's attempts: only demo is missed.
    await injectFault(fake, { status: 503, count: 5, endpoint: "startResponseExport" });
    const one = await runReconcile(qualtricsEnv(fake), fast());
    expect(one).toMatchObject({ status: "failed", completions: 2, stamped: 2 });
    expect(one.error).toContain("completions for demo: ");

    // Ten: demo's and demo-ws's exports both run out; the run stops before anything else.
    await answered(fake, "demo-ws", "SV_demows", 1);
    await answered(fake, "demo-eed", "SV_demoeed", 1);
    await injectFault(fake, { status: 503, count: 10, endpoint: "startResponseExport" });
    const before = (await fakeState(fake)).calls.byEndpoint;
    const two = await runReconcile(qualtricsEnv(fake), fast());
    expect(two).toMatchObject({ status: "failed", completions: 0, stamped: 0 });
    expect(two.error).toContain("completions for demo-ws: ");
    // The new invites' push (batch, import, poll), then the ten refused export starts: no more.
    const after = (await fakeState(fake)).calls.byEndpoint;
    const sent = Object.fromEntries(
      Object.entries(after).map(([endpoint, n]) => [endpoint, n - (before[endpoint] ?? 0)]),
    );
    expect(sent).toMatchObject({ startResponseExport: 10, getResponseExport: 0 });
    expect(sent.startUpdateResponses ?? 0).toBe(0);
    expect(two.qualtrics_calls).toBe(13);
  });

  it("a refused continuation token is dropped for an export from the last response read: nothing lost, nothing doubled", async () => {
    const fake = await startFake({ pollsToComplete: 0, failFirstExport: false });
    const [a, b] = await Promise.all([issue(), issue()]);
    const landing = async (id: string) => (await tap(id)).headers.get("Location") ?? "";
    await addResponses(fake, "SV_demo", [{ landingUrl: await landing(a?.id ?? "") }]);
    expect(await reconcileNow(fake)).toMatchObject({ completions: 1, stamped: 1 });
    const readAt = Date.parse(
      String((await fakeState(fake)).surveys.SV_demo?.responses[0]?.values.recordedDate),
    );

    await control(fake.url, "POST", "/_fake/continuation-tokens/expire");
    await addResponses(fake, "SV_demo", [{ landingUrl: await landing(b?.id ?? "") }]);
    const fallback = await reconcileNow(fake);
    // a's response is read again (the overlap) and changes nothing; b completes.
    expect(fallback).toMatchObject({ status: "ok", completions: 1, stamped: 1 });
    let state = await fakeState(fake);
    // The token refused as sent, and once more without sig (in case sig was the cause).
    expect(state.calls.byStatus["400"]).toBe(2);
    expect(state.updatesApplied.map((u) => u.embeddedData.inv).sort()).toEqual(
      [a?.id, b?.id].sort(),
    );
    const exports = Object.values(state.exports);
    const from = Date.parse(String(exports.at(-1)?.request.startDate));
    expect(from).toBeLessThan(readAt);
    expect(from).toBeGreaterThan(readAt - 2 * 3_600_000);

    // The refused token is never sent again: the next export continues from the new one.
    await addResponses(fake, "SV_demo", [{ landingUrl: await landing((await issue()).id) }]);
    expect(await reconcileNow(fake)).toMatchObject({ status: "ok", completions: 1 });
    state = await fakeState(fake);
    expect(state.calls.byStatus["400"]).toBe(2);
    expect(Object.values(state.exports).at(-1)?.request.continuationToken).toBe(
      exports.at(-1)?.continuationToken,
    );
  });
});

describe("a survey flow that does not declare sig", () => {
  it("its export is asked again without sig: completions are read, and the owner is told to declare it", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    await declareEmbeddedData(fake, "SV_demo", [
      ...DEMO_FIELDS,
      ...INVITE_VALUES,
      "invite_tampered",
      "invite_duplicate",
    ]);
    const { ids } = await answered(fake, "demo", "SV_demo", 2);
    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 2, tampered: 0, stamped: 2 });
    expect(run.notices).toEqual([
      expect.objectContaining({ survey: "demo", code: "sig_missing", responses: 2 }),
    ]);
    const asked = Object.values((await fakeState(fake)).exports).map(
      (e) => e.request.embeddedDataIds,
    );
    expect(asked.every((ids) => Array.isArray(ids) && !ids.includes("sig"))).toBe(true);
    expect((await inviteRows(ids)).every((r) => r.completed_at !== null)).toBe(true);
  });
});

describe("stamps Qualtrics refuses", () => {
  it("a refused chunk is split until the refused update stands alone: it is recorded with its reason, the rest are stamped", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const { ids, responseIds } = await answered(fake, "demo", "SV_demo", 6);
    const poisoned = ids[3] ?? "";
    await refuseUpdates(
      fake,
      [responseIds[3] ?? ""],
      "Embedded data value could not be saved",
      "start",
    );
    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 6, stamped: 5, refusedCount: 1 });
    expect(run.refused).toEqual([
      {
        inviteId: poisoned,
        phase: "stamp",
        reason: expect.stringContaining("Embedded data value could not be saved"),
      },
    ]);
    const state = await fakeState(fake);
    expect(new Set(state.updatesApplied.map((u) => u.embeddedData.inv))).toEqual(
      new Set(ids.filter((id) => id !== poisoned)),
    );
    // Halves were sent as separate jobs; the ones queued behind others finished too.
    const jobs = Object.values(state.updateJobs);
    expect(jobs.length).toBeGreaterThan(1);
    expect(jobs.every((j) => j.status === "complete")).toBe(true);
    const [row] = await inviteRows([poisoned]);
    expect(row?.stamp_refused).toContain("could not be saved");

    // Not sent again until an operator retries it, after fixing the cause.
    expect(await reconcileNow(fake)).toMatchObject({ stamped: 0, refusedCount: 0 });
    expect(Object.keys((await fakeState(fake)).updateJobs)).toHaveLength(jobs.length);
    await control(fake.url, "DELETE", "/_fake/refused-updates");
    const retry = await callWorker(qualtricsEnv(fake), `/v1/reconcile/invites/${poisoned}/retry`, {
      method: "POST",
    });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ id: poisoned, stamped: false, stampRefused: null });
    expect(await reconcileNow(fake)).toMatchObject({ stamped: 1, refusedCount: 0 });
    const again = await callWorker(qualtricsEnv(fake), `/v1/reconcile/invites/${poisoned}/retry`, {
      method: "POST",
    });
    expect(again.status).toBe(409);
  });

  it("a job's errors naming a response refuse that stamp; its warnings are reported to the survey owner", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    // A flow that does not declare invite_tampered: Qualtrics stores it with a warning.
    await declareEmbeddedData(fake, "SV_demo", [...DEMO_FIELDS, ...INVITE_VALUES, "sig"]);
    const { ids, responseIds } = await answered(fake, "demo", "SV_demo", 3);
    await refuseUpdates(fake, [responseIds[0] ?? ""], "Response is locked for editing", "job");
    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 3, stamped: 2, refusedCount: 1 });
    expect(run.refused).toEqual([
      { inviteId: ids[0], phase: "stamp", reason: "Response is locked for editing" },
    ]);
    expect(run.notices).toEqual([
      expect.objectContaining({
        survey: "demo",
        code: "stamp_job_messages",
        errors: 1,
        warnings: 2,
        messages: expect.arrayContaining([expect.stringContaining("invite_tampered")]),
      }),
    ]);
  });

  it("one job that Qualtrics lost never stops the polling of the others; its stamps go out again next run", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    await answered(fake, "demo", "SV_demo", 1);
    await answered(fake, "demo-ws", "SV_demows", 1);
    await injectFault(fake, { status: 404, endpoint: "getUpdateResponses" });
    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ completions: 2, stamped: 1 });
    expect(run.error).toContain("is gone; sent again next run");
    expect(await reconcileNow(fake)).toMatchObject({ status: "ok", stamped: 1 });
    // Qualtrics did finish the lost job in the end: that stamp was written twice, alike.
    const applied = (await fakeState(fake)).updatesApplied;
    expect(applied).toHaveLength(3);
    expect(new Set(applied.map((u) => JSON.stringify(u.embeddedData))).size).toBe(2);
  });
});

describe("only what Qualtrics accepts is sent", () => {
  it("a value issued over 1,000 characters is stamped cut to 1,000, with a notice, and is no tampering", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const link = await issue({ survey: "demo-ws" });
    await tap(link.id);
    // Issued before the limit existed (the API refuses such a value today).
    const long = "v".repeat(1_024);
    await ledgerOf(link.id)
      .prepare(
        "UPDATE invites SET embedded_data = json_set(embedded_data, '$.venue', ?) WHERE id = ?",
      )
      .bind(long, link.id)
      .run();
    const data = await webserviceValues(link.id);
    expect(data.venue).toBe(long);
    // Qualtrics kept what it keeps of it.
    await addResponses(fake, "SV_demows", [
      { embeddedData: { ...data, venue: long.slice(0, 1_000) } },
    ]);
    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 1, tampered: 0, stamped: 1 });
    expect(run.notices).toEqual([
      expect.objectContaining({
        survey: "demo-ws",
        code: "value_truncated",
        responses: 1,
        fields: ["venue"],
      }),
    ]);
    const [stamp] = (await fakeState(fake)).updatesApplied;
    expect(stamp?.embeddedData.venue).toBe(long.slice(0, 1_000));
  });

  it("contacts XM Directory refuses are listed with the reason Qualtrics gave (none), at most 100 per run with the count", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const ids = await seedInvites(120, { customer: "bad-customer" });
    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ pushed: 0, unprocessed: 120, refusedCount: 120 });
    expect(run.refused).toHaveLength(100);
    expect(run.refused[0]).toEqual({
      inviteId: expect.any(String),
      phase: "push",
      reason: "unprocessed, no reason given",
    });
    expect(ids).toEqual(expect.arrayContaining(run.refused.map((r) => r.inviteId)));
    const listed: { runs: RunBody[] } = await (
      await callWorker(qualtricsEnv(fake), "/v1/reconcile/runs?limit=1")
    ).json();
    expect(listed.runs[0]).toMatchObject({ refusedCount: 120, refused: run.refused });
  });
});

describe("directory deduplication", () => {
  it("customers pushed before that come back as new contacts raise a notice: deduplication is off", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    await seedInvites(3);
    expect(await reconcileNow(fake)).toMatchObject({ pushed: 3, notices: [] });
    // On External Data Reference (the default): a known customer is an update.
    await seedInvites(2, { prefix: "t", customer: "customer-s-1" });
    expect(await reconcileNow(fake)).toMatchObject({ pushed: 2, notices: [] });

    await control(fake.url, "POST", "/_fake/deduplication", { on: null });
    await seedInvites(2, { prefix: "u", customer: "customer-s-2" });
    const off = await reconcileNow(fake);
    expect(off).toMatchObject({ status: "ok", pushed: 2 });
    expect(off.notices).toEqual([
      {
        survey: null,
        code: "dedup_off",
        contacts: 1,
        message: expect.stringContaining("External Data Reference"),
      },
    ]);
    // The customer now has three contacts: the first, and one per invite since.
    const contacts = Object.values((await fakeState(fake)).contacts);
    expect(contacts.filter((c) => c.extRef === "customer-s-2")).toHaveLength(3);
  });
});
