/**
 * Reconciliation with Qualtrics, end to end against the fake Qualtrics over real HTTP: links
 * issued and tapped through the worker, responses added to the fake, reconcile runs through the
 * API and the Cron Trigger; then the fake's own record and /v1/reconcile/runs are compared.
 */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { runReconcile } from "../src/reconcile/run";
import { getRun, insertQueuedRun } from "../src/reconcile/storage/runs";
import { purgeExpiredPersonalData } from "../src/retention/purge";
import { ADMIN_KEY, api, eventually, ISSUER_KEY, issue, tap } from "./helpers/api";
import { ledgerOf } from "./helpers/ledger";
import { privacyCall } from "./helpers/privacy";
import {
  addResponses,
  callWorker,
  DEMO_FIELDS,
  fakeState,
  fast,
  INVITE_VALUES,
  inviteRows,
  qualtricsEnv,
  type RunBody,
  reconcileNow,
  resetLedger,
  startFake,
  stopFakes,
  webserviceValues,
} from "./helpers/reconcile";

beforeEach(resetLedger);
afterEach(stopFakes);

/** The values a query-mode tap put on the survey URL, as Qualtrics would record them. */
async function tapValues(id: string, init: RequestInit = {}): Promise<Record<string, string>> {
  const res = await tap(id, init);
  expect(res.status).toBe(302);
  return Object.fromEntries(new URL(res.headers.get("Location") ?? "").searchParams);
}

describe("settings", () => {
  it("without Qualtrics settings a run is recorded as skipped with the reason", async () => {
    const res = await api("/v1/reconcile", { method: "POST", key: ADMIN_KEY });
    expect(res.status).toBe(200);
    const run: RunBody = await res.json();
    expect(run).toMatchObject({ status: "skipped", trigger: "api", pushed: 0, qualtricsCalls: 0 });
    expect(run.error).toContain("Qualtrics is not configured");
    expect(run.error).toContain("QUALTRICS_DIRECTORY_ID");

    const list = await api("/v1/reconcile/runs", { key: ADMIN_KEY });
    const body: { runs: RunBody[] } = await list.json();
    expect(body.runs[0]).toMatchObject({ id: run.id, status: "skipped" });
  });

  it("a half-done setup fails the run with the missing variable's name", async () => {
    const run = await runReconcile({ ...env, QUALTRICS_DATACENTER: "fra1" });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("QUALTRICS_API_TOKEN");
    expect(run.error).toContain("QUALTRICS_DIRECTORY_ID");
  });

  it("a base URL over plain http is refused unless it is loopback", async () => {
    const run = await runReconcile({
      ...env,
      QUALTRICS_BASE_URL: "http://iad1.qualtrics.com/API/v3",
      QUALTRICS_API_TOKEN: "t",
      QUALTRICS_DIRECTORY_ID: "POOL_x",
      QUALTRICS_MAILING_LIST_ID: "CG_x",
    });
    expect(run).toMatchObject({ status: "failed", qualtrics_calls: 0 });
    expect(run.error).toContain("QUALTRICS_BASE_URL must use https");
  });

  it("with Prefer: respond-async it answers 202 at once, and the reconcile queue runs it later", async () => {
    const res = await api("/v1/reconcile", {
      method: "POST",
      key: ADMIN_KEY,
      headers: { Prefer: "wait=5, respond-async" },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("Preference-Applied")).toBe("respond-async");
    const queued: RunBody = await res.json();
    expect(queued).toMatchObject({ status: "queued", trigger: "api", finishedAt: null });
    const location = res.headers.get("Location") ?? "";
    expect(location).toBe(`/v1/reconcile/runs/${queued.id}`);
    // The local queue delivers the message to the Worker's queue handler, which runs the run.
    const done = await eventually(async () => {
      const run: RunBody = await (await api(location, { key: ADMIN_KEY })).json();
      expect(run.status).not.toBe("queued");
      return run;
    }, 20_000);
    expect(done).toMatchObject({ id: queued.id, status: "skipped" });
    expect(done.error).toContain("Qualtrics is not configured");
    expect((await api("/v1/reconcile/runs/run_unknown", { key: ADMIN_KEY })).status).toBe(404);
  });

  it("a queued run is run once by the queue's consumer, even if its message comes twice", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    await issue();
    const workerEnv = qualtricsEnv(fake);
    const queued = await insertQueuedRun(workerEnv.DB, { id: "run_queued_once", at: Date.now() });
    const message = { id: "m1", timestamp: new Date(), attempts: 1, body: { runId: queued.id } };
    for (let delivery = 0; delivery < 2; delivery++) {
      const batch = createMessageBatch("invite-edge-reconcile", [message]);
      const ctx = createExecutionContext();
      await worker.queue(batch, workerEnv);
      await waitOnExecutionContext(ctx);
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);
    }
    const run = await getRun(workerEnv.DB, queued.id);
    expect(run).toMatchObject({ status: "ok", pushed: 1 });
    expect((await fakeState(fake)).calls.byEndpoint.importTransactionContacts).toBe(1);
  });

  it("the reconcile API needs the admin scope", async () => {
    expect((await api("/v1/reconcile", { method: "POST", key: null })).status).toBe(401);
    expect((await api("/v1/reconcile", { method: "POST", key: ISSUER_KEY })).status).toBe(403);
    expect((await api("/v1/reconcile/runs", { key: ISSUER_KEY })).status).toBe(403);
    expect((await api("/v1/reconcile/imports", { key: "dev-analyst-key" })).status).toBe(403);
  });

  it("OAuth client credentials work instead of an API token", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    await issue();
    const run = await runReconcile(
      qualtricsEnv(fake, {
        QUALTRICS_API_TOKEN: undefined,
        QUALTRICS_CLIENT_ID: "fake-client",
        QUALTRICS_CLIENT_SECRET: "fake-secret",
      }),
      fast(),
    );
    expect(run).toMatchObject({ status: "ok", pushed: 1 });
    const state = await fakeState(fake);
    expect(state.calls.byEndpoint.oauthToken).toBe(1);
    expect(run.qualtrics_calls).toBe(state.calls.total);
  });
});

describe("the whole cycle", () => {
  it("pushes one transaction per invite, marks completions and stamps the signed data", async () => {
    const fake = await startFake({ pollsToComplete: 2 });
    const query = [await issue(), await issue(), await issue({ channel: "push" })];
    const ws = [await issue({ survey: "demo-ws" }), await issue({ survey: "demo-ws" })];
    const confirm = await issue({ survey: "demo-confirm", channel: "email" });
    const all = [...query, ...ws, confirm];

    // Four taps; three of them answer the survey.
    const q0 = await tapValues(query[0]?.id ?? "");
    await tapValues(query[1]?.id ?? "");
    await tap(ws[0]?.id ?? "");
    const c0 = await tapValues(confirm.id, { method: "POST" });
    const w0 = await webserviceValues(ws[0]?.id ?? "");
    await addResponses(fake, "SV_demo", [{ embeddedData: q0 }]);
    await addResponses(fake, "SV_demows", [{ embeddedData: w0 }]);
    await addResponses(fake, "SV_democonfirm", [{ embeddedData: c0 }]);
    // Noise Qualtrics also exports: an unfinished response and one without invite-edge data.
    await addResponses(fake, "SV_demo", [
      { embeddedData: { inv: query[1]?.id ?? "" }, finished: false },
      { embeddedData: { venue: "walk-in" } },
    ]);

    const run = await reconcileNow(fake);
    expect(run).toMatchObject({
      status: "ok",
      trigger: "api",
      imports: 1,
      pushed: 6,
      unprocessed: 0,
      completions: 3,
      tampered: 0,
      stamped: 3,
      onHold: 0,
      error: null,
    });
    // batch 1 + import 1 + 2 polls; per survey with an opened invite (3): a first export that
    // fails as Qualtrics documents it (start, 2 polls), then another (start, 2 polls, file) = 21;
    // stamps: 3 update jobs started, each polled twice = 9.
    expect(run.qualtricsCalls).toBe(4 + 21 + 9);

    const state = await fakeState(fake);
    expect(state.calls.total).toBe(run.qualtricsCalls);
    // Exports ask only for what each survey's flow declares for its mode (no sig in web-service
    // mode), no question columns, and only the metadata read.
    const asked = new Map(
      Object.values(state.exports).map((e) => [e.surveyId, e.request] as const),
    );
    expect(asked.get("SV_demows")?.embeddedDataIds).toEqual([...DEMO_FIELDS, ...INVITE_VALUES]);
    expect(asked.get("SV_demo")?.embeddedDataIds).toContain("sig");
    for (const request of asked.values()) {
      expect(request).toMatchObject({
        questionIds: [],
        surveyMetadataIds: ["finished", "recordedDate"],
      });
    }
    expect(Object.keys(state.batches)).toHaveLength(1);
    expect(state.transactions).toHaveLength(6);
    expect(new Set(state.transactions.map((t) => t.transactionData.invite_id))).toEqual(
      new Set(all.map((l) => l.id)),
    );
    const t0 = state.transactions.find((t) => t.transactionData.invite_id === query[0]?.id);
    expect(t0?.extRef).toBe("customer-42");
    expect(t0?.transactionData).toMatchObject({
      survey: "demo",
      trigger: "ticket_scanned",
      channel: "in_app",
      status: "opened",
    });
    expect(t0?.transactionData.issued_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(t0?.transactionData.opened_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const unopened = state.transactions.find((t) => t.transactionData.invite_id === query[2]?.id);
    expect(unopened?.transactionData).toMatchObject({ status: "issued", channel: "push" });
    expect(unopened?.transactionData.opened_at).toBeUndefined();

    expect(state.updatesApplied).toHaveLength(3);
    const stamp = state.updatesApplied.find((u) => u.embeddedData.inv === query[0]?.id);
    expect(stamp?.embeddedData).toMatchObject({
      invite_tampered: "0",
      venue: "Arena North",
      customer_id: "customer-42",
      trigger: "ticket_scanned",
    });

    const status = await api(`/v1/links/${query[0]?.id}`);
    const linkStatus: { completedAt: string | null } = await status.json();
    expect(linkStatus.completedAt).not.toBeNull();
    const rows = await inviteRows(all.map((l) => l.id));
    expect(rows.filter((r) => r.pushed_at !== null)).toHaveLength(6);
    expect(rows.filter((r) => r.completed_at !== null)).toHaveLength(3);
    expect(rows.filter((r) => r.stamped_at !== null)).toHaveLength(3);

    // A second run has nothing to push; the export continues from its token: nothing new.
    const again = await reconcileNow(fake);
    expect(again).toMatchObject({ status: "ok", imports: 0, pushed: 0, completions: 0 });
    expect((await fakeState(fake)).transactions).toHaveLength(6);

    // A new response for the opened-but-unanswered invite is found by the next run.
    const q1 = Object.fromEntries(
      Object.entries(q0).map(([k, v]) => [k, k === "inv" ? (query[1]?.id ?? "") : v]),
    );
    await addResponses(fake, "SV_demo", [{ embeddedData: q1 }]);
    const third = await reconcileNow(fake);
    // Its values were copied from another invite's link: flagged.
    expect(third).toMatchObject({ completions: 1, tampered: 1, stamped: 1 });

    const runs = await callWorker(qualtricsEnv(fake), "/v1/reconcile/runs?limit=2");
    const listed: { runs: RunBody[]; backlog: Record<string, number> } = await runs.json();
    expect(listed.runs.map((r) => r.id)).toEqual([third.id, again.id]);
    expect(listed.backlog).toEqual({ queued: 0, inFlight: 0, onHold: 0, gaveUp: 0 });
    const all3: { runs: RunBody[] } = await (
      await callWorker(qualtricsEnv(fake), "/v1/reconcile/runs")
    ).json();
    expect(all3.runs[2]?.callsPerInvite).toBeCloseTo(34 / 6, 5);
  });

  it("the Cron Trigger runs a reconcile", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const links = [await issue(), await issue()];
    const controller = createScheduledController({
      scheduledTime: new Date("2026-11-28T10:10:00Z"),
      cron: "*/10 * * * *",
    });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, qualtricsEnv(fake));
    await waitOnExecutionContext(ctx);

    const res = await callWorker(qualtricsEnv(fake), "/v1/reconcile/runs");
    const { runs }: { runs: RunBody[] } = await res.json();
    expect(runs[0]).toMatchObject({ trigger: "cron", status: "ok", pushed: 2 });
    expect(
      (await fakeState(fake)).transactions.map((t) => t.transactionData.invite_id).sort(),
    ).toEqual(links.map((l) => l.id).sort());
  });
});

describe("duplicate responses", () => {
  it("a second answer to a completed invite never completes it again and is stamped invite_duplicate", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const link = await issue();
    const other = await issue();
    const values = await tapValues(link.id);
    const at = (minute: number) => new Date(Date.now() - (10 - minute) * 60_000).toISOString();
    // The customer answers, then answers again from the re-opened survey with an edited venue.
    const { responseIds } = await addResponses(fake, "SV_demo", [
      { embeddedData: { ...values, venue: "VIP Lounge" }, recordedDate: at(2) },
      { embeddedData: values, recordedDate: at(1) },
      { embeddedData: await tapValues(other.id), recordedDate: at(1) },
    ]);
    const [second = "", first = "", ofOther = ""] = responseIds;

    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 2, tampered: 0, stamped: 3 });
    expect(run.notices).toEqual([
      { survey: "demo", code: "duplicate_responses", responses: 1, message: expect.any(String) },
    ]);
    const [row] = await inviteRows([link.id]);
    expect(row?.response_id).toBe(first);
    const stamps = new Map(
      (await fakeState(fake)).updatesApplied.map((u) => [u.responseId, u.embeddedData]),
    );
    expect(stamps.get(first)).toMatchObject({ invite_duplicate: "0", invite_tampered: "0" });
    expect(stamps.get(ofOther)).toMatchObject({ invite_duplicate: "0", inv: other.id });
    // The duplicate gets the issued values back, its own tamper check, and the flag.
    expect(stamps.get(second)).toMatchObject({
      inv: link.id,
      venue: "Arena North",
      invite_tampered: "1",
      invite_duplicate: "1",
    });

    // Nothing new: nothing completed or stamped again.
    expect(await reconcileNow(fake)).toMatchObject({ completions: 0, stamped: 0, notices: [] });

    // A third answer, exported later (exports go on while some invite awaits its response): a
    // duplicate too, stamped once.
    await tapValues((await issue()).id);
    const third = await addResponses(fake, "SV_demo", [{ embeddedData: values }]);
    const later = await reconcileNow(fake);
    expect(later).toMatchObject({ completions: 0, stamped: 1 });
    expect(later.notices).toMatchObject([{ code: "duplicate_responses", responses: 1 }]);
    const applied = (await fakeState(fake)).updatesApplied;
    expect(applied.filter((u) => u.responseId === third.responseIds[0])).toMatchObject([
      { embeddedData: { invite_duplicate: "1", invite_tampered: "0" } },
    ]);
    expect(applied).toHaveLength(4);
    expect((await inviteRows([link.id]))[0]?.response_id).toBe(first);

    // The customer's data: the lookup and the erasure name every response to delete in Qualtrics.
    const duplicates = [second, third.responseIds[0]];
    const lookup = await privacyCall("/v1/privacy/lookup", {
      method: "POST",
      json: { customerId: "customer-42" },
    });
    const { invites }: { invites: Record<string, unknown>[] } = await lookup.json();
    expect(invites.find((i) => i.id === link.id)).toMatchObject({
      qualtricsResponseId: first,
      qualtricsDuplicateResponseIds: duplicates,
    });
    const erasure = await privacyCall("/v1/privacy/erasures", {
      method: "POST",
      json: { customerId: "customer-42" },
    });
    const { responses }: { responses: { inviteId: string; responseId: string }[] } =
      await erasure.json();
    expect(
      responses
        .filter((r) => r.inviteId === link.id)
        .map((r) => r.responseId)
        .sort(),
    ).toEqual([first, ...duplicates].sort());
  });
});

describe("tampering", () => {
  it("flags responses whose values differ from the issued ones or whose sig does not verify, and stamps the true values", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const links = await Promise.all(
      Array.from({ length: 5 }, () =>
        issue({ embeddedData: { venue: "Arena North", seat: "B12" } }),
      ),
    );
    const ws = await issue({ survey: "demo-ws" });
    const values = await Promise.all(links.map((l) => tapValues(l.id)));
    await tap(ws.id);
    const [intact, editedVenue, noSig, forgedSig, editedTrigger] = values as Record<
      string,
      string
    >[];
    await addResponses(fake, "SV_demo", [
      { embeddedData: { ...intact } },
      { embeddedData: { ...editedVenue, venue: "VIP Lounge" } },
      {
        embeddedData: Object.fromEntries(Object.entries(noSig ?? {}).filter(([k]) => k !== "sig")),
      },
      { embeddedData: { ...forgedSig, sig: `${forgedSig?.sig?.slice(0, -4)}AAAA` } },
      { embeddedData: { ...editedTrigger, trigger: "order_delivered" } },
    ]);
    await addResponses(fake, "SV_demows", [
      { embeddedData: { ...(await webserviceValues(ws.id)), seat: "A1" } },
    ]);

    const run = await reconcileNow(fake);
    expect(run).toMatchObject({ status: "ok", completions: 6, tampered: 4, stamped: 6 });
    // The response without sig matched: not tampered, reported as a notice for its survey.
    expect(run.notices).toEqual([
      { survey: "demo", code: "sig_missing", responses: 1, message: expect.any(String) },
    ]);

    const stamps = new Map(
      (await fakeState(fake)).updatesApplied.map((u) => [u.embeddedData.inv, u.embeddedData]),
    );
    const flagged = [links[1], links[3], links[4], ws];
    for (const link of [links[0], links[2]]) {
      expect(stamps.get(link?.id)?.invite_tampered).toBe("0");
    }
    for (const link of flagged) expect(stamps.get(link?.id)?.invite_tampered).toBe("1");
    // The authoritative values overwrite what the URL carried.
    expect(stamps.get(links[1]?.id)).toMatchObject({ venue: "Arena North", seat: "B12" });
    expect(stamps.get(links[4]?.id)?.trigger).toBe("ticket_scanned");
    expect(stamps.get(ws.id)?.seat).toBe("B12");
    const tampered = (await inviteRows()).filter((r) => r.tampered === 1).map((r) => r.id);
    expect(tampered.sort()).toEqual(flagged.map((l) => l?.id).sort());
  });

  it("responses with the issued values but no sig are not tampered: the run tells the survey owner to declare sig, in the API and the log", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const links = await Promise.all([issue(), issue(), issue(), issue({ survey: "demo-ws" })]);
    const [bare, emptySig, edited] = await Promise.all(
      links.slice(0, 3).map((l) => tapValues(l.id)),
    );
    await tap(links[3]?.id ?? "");
    const withoutSig = (values: Record<string, string> | undefined) =>
      Object.fromEntries(Object.entries(values ?? {}).filter(([k]) => k !== "sig"));
    await addResponses(fake, "SV_demo", [
      { embeddedData: withoutSig(bare) },
      // A survey that declares sig but got none exports it empty.
      { embeddedData: { ...withoutSig(emptySig), sig: "" } },
      // No sig does not excuse an altered value.
      { embeddedData: { ...withoutSig(edited), seat: "A1" } },
    ]);
    // Web-service mode carries no sig at all: never a notice for it.
    await addResponses(fake, "SV_demows", [
      { embeddedData: await webserviceValues(links[3]?.id ?? "") },
    ]);

    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    let run: RunBody;
    try {
      run = await reconcileNow(fake);
    } finally {
      spy.mockRestore();
    }
    expect(run).toMatchObject({ status: "ok", completions: 4, tampered: 1, stamped: 4 });
    const notice = { survey: "demo", code: "sig_missing", responses: 3 };
    expect(run.notices).toEqual([{ ...notice, message: expect.stringContaining("survey flow") }]);
    expect(run.notices[0]?.message).toContain("sig");
    const rows = await inviteRows(links.map((l) => l.id));
    expect(Object.fromEntries(rows.map((r) => [r.id, r.tampered]))).toEqual(
      Object.fromEntries(links.map((l) => [l.id, l === links[2] ? 1 : 0])),
    );

    const listed: { runs: RunBody[] } = await (
      await callWorker(qualtricsEnv(fake), "/v1/reconcile/runs?limit=1")
    ).json();
    expect(listed.runs[0]?.notices).toEqual(run.notices);

    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.event === "reconcile_run");
    expect(logged?.notices).toBe(run.notices[0]?.message);
    for (const value of ["customer-42", "Arena North", "B12", ...links.map((l) => l.id)]) {
      expect(JSON.stringify(logged)).not.toContain(value);
    }

    // Responses that all carry a sig: no notice.
    const signed = await issue();
    await addResponses(fake, "SV_demo", [{ embeddedData: await tapValues(signed.id) }]);
    expect((await reconcileNow(fake)).notices).toEqual([]);
  });

  it("a response that arrives after its invite left the ledger completes nothing and is counted as unmatched", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const [kept, gone] = await Promise.all([issue(), issue()]);
    if (!kept || !gone) throw new Error("two links");
    const [keptValues, goneValues] = await Promise.all([tapValues(kept.id), tapValues(gone.id)]);
    // Its whole life 100 days ago: past RETENTION_DAYS, expired, window closed; the purge removes it.
    const longAgo = Date.now() - 100 * 86_400_000;
    await ledgerOf(gone.id)
      .prepare(
        "UPDATE invites SET issued_at = ?1, expires_at = ?1 + 1000, consumed_at = ?1 + 10 WHERE id = ?2",
      )
      .bind(longAgo, gone.id)
      .run();
    expect((await purgeExpiredPersonalData(env, { maxBatches: 1_000 })).removed).toBe(1);
    await addResponses(fake, "SV_demo", [
      { embeddedData: keptValues },
      { embeddedData: goneValues },
    ]);

    const run = await reconcileNow(fake);

    expect(run).toMatchObject({ status: "ok", completions: 1, tampered: 0 });
    expect(run.notices).toEqual([
      {
        survey: "demo",
        code: "unmatched",
        responses: 1,
        message: expect.stringContaining("RETENTION_DAYS"),
      },
    ]);
  });
});

describe("contact rules that count completions", () => {
  it("a completion reconcile reads suppresses the customer's next invite; before it, nothing does", async () => {
    const fake = await startFake({ pollsToComplete: 0 });
    const rule = { id: "after-completion", max: 1, days: 90, count: "completed" };
    const workerEnv = qualtricsEnv(fake, { CONTACT_RULES: JSON.stringify([rule]) });
    const customerId = `completer-${Date.now()}-${Math.random()}`;
    const issueOne = async () => {
      const body = {
        survey: "demo",
        customerId,
        transactionId: `txn-${Math.random()}`,
        trigger: "ticket_scanned",
        embeddedData: { venue: "Arena North" },
      };
      const res = await callWorker(workerEnv, "/v1/links", { method: "POST", json: body });
      return (await res.json()) as { id: string; status: string; rule?: string };
    };
    const first = await issueOne();
    expect((await issueOne()).status).toBe("issued"); // not completed yet: nothing counts
    await addResponses(fake, "SV_demo", [{ embeddedData: await tapValues(first.id) }]);
    const run = await callWorker(workerEnv, "/v1/reconcile", { method: "POST" });
    expect(await run.json()).toMatchObject({ completions: 1 });
    expect(await issueOne()).toMatchObject({ status: "suppressed", rule: "after-completion" });
  });
});
