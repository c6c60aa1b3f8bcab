/**
 * The Qualtrics client against the fake Qualtrics server (test/fake-qualtrics/server.js), over real
 * HTTP from workerd. Each test gets a private fake so faults, limits and counts never leak between
 * tests or files. Sleeps are recorded instead of waited, except where a real Retry-After is the point.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createQualtricsClient } from "../src/qualtrics";
import { type TransactionContact, toQualtricsDate } from "../src/qualtrics/bodies";
import { chunkTransactionContacts, MAX_REQUEST_BYTES } from "../src/qualtrics/chunking";
import { QualtricsBudgetError, QualtricsError } from "../src/qualtrics/errors";
import type { ExportedResponse } from "../src/qualtrics/exported-responses";
import type { QualtricsClientOptions } from "../src/qualtrics/transport";
import {
  control,
  DIRECTORY,
  type Fake,
  fakeState,
  injectFault,
  LIST,
  startFake,
  stopFakes,
  QUALTRICS_TOKEN as TOKEN,
} from "./helpers/reconcile";

const SCOPES =
  "write:contact_transactions write:mailing_list_contacts read:survey_responses write:survey_responses";

afterEach(stopFakes);

/** A client whose sleeps are recorded and skipped, with jitter fixed at half the ceiling. */
function clientFor(fake: Fake, options: Partial<QualtricsClientOptions> = {}) {
  const sleeps: number[] = [];
  const client = createQualtricsClient({
    baseUrl: fake.baseUrl,
    apiToken: TOKEN,
    baseDelayMs: 100,
    maxDelayMs: 10_000,
    timeoutMs: 5_000,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, sleeps };
}

async function rejection(promise: Promise<unknown>): Promise<QualtricsError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(QualtricsError);
    return err as QualtricsError;
  }
  throw new Error("expected the call to fail");
}

/** Every response of an export file, read through the streaming reader. */
async function readFile(
  client: ReturnType<typeof createQualtricsClient>,
  surveyId: string,
  fileId: string | undefined,
  embeddedDataIds: string[],
): Promise<ExportedResponse[]> {
  const all: ExportedResponse[] = [];
  await client.readResponseExportFile(surveyId, fileId ?? "", {
    embeddedDataIds,
    onResponses: async (batch) => {
      all.push(...batch);
    },
  });
  return all;
}

function contact(i: number, extra: Partial<TransactionContact> = {}): TransactionContact {
  return {
    extRef: `customer-${i}`,
    transactionData: { invite_id: `inv-${i}`, survey: "venue-entry" },
    ...extra,
  };
}

describe("success envelopes", () => {
  it("an import is pushed, polled to 100% and its refused contacts are named", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake);

    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    expect(batchId).toMatch(/^BT_/);
    const started = await client.importTransactionContacts(DIRECTORY, LIST, {
      batchId,
      fields: ["invite_id", "survey"],
      contacts: [
        contact(1),
        contact(2, { extRef: "bad-2" }),
        contact(3, { email: "not-an-email" }),
      ],
    });
    expect(started.importId).toMatch(/^PGR_/);
    expect(started.unprocessed).toEqual([1]);

    const first = await client.getTransactionImport(DIRECTORY, LIST, started.importId);
    expect(first.complete).toBe(false);
    const done = await client.getTransactionImport(DIRECTORY, LIST, started.importId);
    expect(done).toMatchObject({
      percentComplete: 100,
      complete: true,
      contacts: { added: 2, updated: 0, failed: 1 },
      transactionsCreated: 2,
    });

    const state = await fakeState(fake);
    expect(state.transactions.map((t) => [t.extRef, t.transactionData.invite_id])).toEqual([
      ["customer-1", "inv-1"],
      ["customer-3", "inv-3"],
    ]);
    expect(client.calls).toBe(state.calls.total);
  });

  it("a wrong mailing list is accepted and reports zero counts at 100%", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const { client } = clientFor(fake);
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    const started = await client.importTransactionContacts(DIRECTORY, "CG_wrong", {
      batchId,
      fields: ["invite_id", "survey"],
      contacts: [contact(1)],
    });
    const done = await client.getTransactionImport(DIRECTORY, "CG_wrong", started.importId);
    expect(done).toMatchObject({
      complete: true,
      contacts: { added: 0, updated: 0, failed: 0 },
      transactionsCreated: 0,
    });
  });

  it("an export is read with embedded data from inside and beside values, then continued", async () => {
    const fake = await startFake({ pollsToComplete: 1, failFirstExport: false });
    const { client } = clientFor(fake);
    await control(fake.url, "POST", "/_fake/surveys/SV_venue/responses", {
      responses: [
        { embeddedData: { inv: "code-a" }, placement: "values" },
        { embeddedData: { inv: "code-b" }, placement: "beside" },
        { embeddedData: { inv: "code-c" }, finished: false },
      ],
    });

    const exportStart = await client.startResponseExport("SV_venue", {
      startDate: new Date("2000-01-01T00:00:00Z"),
      embeddedDataIds: ["inv"],
    });
    const progress = await client.getResponseExport("SV_venue", exportStart.progressId);
    expect(progress.complete).toBe(true);
    expect(progress.fileId).toBeTruthy();
    expect(progress.continuationToken).toBeTruthy();
    const responses = await readFile(client, "SV_venue", progress.fileId, ["inv"]);
    expect(responses.map((r) => [r.embeddedData.inv, r.finished])).toEqual([
      ["code-a", true],
      ["code-b", true],
      ["code-c", false],
    ]);
    expect(responses.every((r) => r.responseId.startsWith("R_") && r.recordedDate)).toBe(true);

    await control(fake.url, "POST", "/_fake/surveys/SV_venue/responses", {
      responses: [{ embeddedData: { inv: "code-d" } }],
    });
    const next = await client.startResponseExport("SV_venue", {
      continuationToken: progress.continuationToken ?? "",
    });
    const nextProgress = await client.getResponseExport("SV_venue", next.progressId);
    const newOnes = await readFile(client, "SV_venue", nextProgress.fileId, ["inv"]);
    expect(newOnes.map((r) => r.embeddedData.inv)).toEqual(["code-d"]);
  });

  it("response updates are applied once their job completes", async () => {
    const fake = await startFake({ pollsToComplete: 2 });
    const { client } = clientFor(fake);
    const { responseIds } = await control<{ responseIds: string[] }>(
      fake.url,
      "POST",
      "/_fake/surveys/SV_venue/responses",
      { responses: [{ embeddedData: { inv: "code-a" } }] },
    );
    const { progressId } = await client.startUpdateResponses("SV_venue", [
      {
        responseId: responseIds[0] ?? "",
        embeddedData: { invite_trigger: "ticket_scanned", invite_tampered: "0" },
        resetRecordedDate: false,
      },
      { responseId: "R_doesNotExist", embeddedData: { invite_tampered: "0" } },
    ]);
    expect((await client.getUpdateResponses("SV_venue", progressId)).complete).toBe(false);
    expect((await client.getUpdateResponses("SV_venue", progressId)).complete).toBe(true);
    const state = await fakeState(fake);
    expect(state.surveys.SV_venue?.responses[0]?.embeddedData).toEqual({
      inv: "code-a",
      invite_trigger: "ticket_scanned",
      invite_tampered: "0",
    });
    expect(state.updatesApplied).toHaveLength(1);
  });
});

describe("the reply shapes Qualtrics documents", () => {
  it("nulls, a meta without httpStatus, extra fields and a failed export are read, not refused", async () => {
    const fake = await startFake({ pollsToComplete: 2, failFirstExport: true });
    const { client } = clientFor(fake);
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    // `unprocessed: null` means none.
    const started = await client.importTransactionContacts(DIRECTORY, LIST, {
      batchId,
      fields: ["invite_id", "survey"],
      contacts: [contact(1)],
    });
    expect(started.unprocessed).toEqual([]);
    // Reads answer with a bare meta ({requestId}); fileId and token are null until they exist.
    const { progressId } = await client.startResponseExport("SV_venue", {
      startDate: new Date("2000-01-01T00:00:00Z"),
    });
    const running = await client.getResponseExport("SV_venue", progressId);
    expect(running).toMatchObject({ complete: false, failed: false });
    expect(running.fileId).toBeUndefined();
    const failed = await client.getResponseExport("SV_venue", progressId);
    expect(failed).toMatchObject({ complete: false, failed: true, fileId: undefined });
    const raw = await fetch(`${fake.baseUrl}/surveys/SV_venue/export-responses/${progressId}`, {
      headers: { "X-API-TOKEN": TOKEN },
    });
    expect(await raw.json()).toMatchObject({
      result: { fileId: null, percentComplete: 100, status: "failed" },
      meta: { requestId: expect.any(String) },
    });
  });

  it("a reply that lacks what the step needs is refused", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake);
    await injectFault(fake, {
      reply: { result: { percentComplete: 100, fileId: "f" }, meta: { requestId: "r" } },
      endpoint: "getResponseExport",
    });
    const error = await rejection(client.getResponseExport("SV_venue", "ES_x"));
    expect(error).toMatchObject({ errorCode: "invalid_response", retryable: false });
    expect(error.message).toContain("status");
  });

  it("a 2xx to the import that cannot be read is ambiguous: Qualtrics may have done it", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake);
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    const send = () =>
      client.importTransactionContacts(DIRECTORY, LIST, {
        batchId,
        fields: ["invite_id", "survey"],
        contacts: [contact(1)],
      });
    await injectFault(fake, {
      reply: "<html>upstream reset</html>",
      after: true,
      endpoint: "importTransactionContacts",
    });
    expect(await rejection(send())).toMatchObject({ status: 200, ambiguous: true, attempts: 1 });
    // A readable body without the import id is no better.
    await injectFault(fake, {
      reply: { result: { status: "inProgress", contacts: { unprocessed: null } }, meta: {} },
      after: true,
      endpoint: "importTransactionContacts",
    });
    expect(await rejection(send())).toMatchObject({ status: 200, ambiguous: true, attempts: 1 });
    // Both were done, neither was repeated.
    const state = await fakeState(fake);
    expect(state.calls.byEndpoint.importTransactionContacts).toBe(2);
    expect(state.transactions).toHaveLength(2);
  });

  it("a batch's transactions are listed page by page, wherever an element keeps its data", async () => {
    const fake = await startFake({ pageSize: 2 });
    const { client } = clientFor(fake);
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    await client.importTransactionContacts(DIRECTORY, LIST, {
      batchId,
      fields: ["invite_id", "survey"],
      contacts: [1, 2, 3, 4, 5].map((i) => contact(i)),
    });
    const pages: string[][] = [];
    for await (const page of client.batchTransactions(DIRECTORY, batchId)) {
      pages.push(page.map((t) => t.inviteId ?? "?"));
      expect(page.every((t) => t.transactionId?.startsWith("CTR_") && t.contactId)).toBe(true);
    }
    expect(pages).toEqual([["inv-1", "inv-2"], ["inv-3", "inv-4"], ["inv-5"]]);
    // Leaving early sends no more requests.
    const before = client.calls;
    for await (const _ of client.batchTransactions(DIRECTORY, batchId)) break;
    expect(client.calls).toBe(before + 1);
  });

  it("a nextPage that leads outside the API is not followed", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake);
    await injectFault(fake, {
      reply: {
        result: { elements: [], nextPage: "https://elsewhere.example/API/v3/steal?token=1" },
        meta: { requestId: "r" },
      },
      endpoint: "listBatchTransactions",
    });
    const pages = client.batchTransactions(DIRECTORY, "BT_x");
    expect((await pages.next()).value).toEqual([]);
    const error = await rejection(pages.next());
    expect(error).toMatchObject({ errorCode: "invalid_response" });
    expect((await fakeState(fake)).calls.total).toBe(1);
  });

  it("exports ask for no question columns and only the metadata read", async () => {
    const fake = await startFake({ pollsToComplete: 0, failFirstExport: false });
    const { client } = clientFor(fake);
    await control(fake.url, "POST", "/_fake/surveys/SV_venue/responses", {
      responses: [
        { embeddedData: { inv: "code-a" }, values: { QID1: 4, QID2_TEXT: "long answer" } },
      ],
    });
    const { progressId } = await client.startResponseExport("SV_venue", {
      startDate: new Date("2000-01-01T00:00:00Z"),
      embeddedDataIds: ["inv"],
    });
    const progress = await client.getResponseExport("SV_venue", progressId);
    const state = await fakeState(fake);
    expect(state.exports[progressId]?.request).toMatchObject({
      questionIds: [],
      surveyMetadataIds: ["finished", "recordedDate"],
      embeddedDataIds: ["inv"],
    });
    const file = await fetch(
      `${fake.baseUrl}/surveys/SV_venue/export-responses/${progress.fileId}/file`,
      { headers: { "X-API-TOKEN": TOKEN } },
    );
    const { responses } = (await file.json()) as { responses: { values: object }[] };
    expect(Object.keys(responses[0]?.values ?? {}).sort()).toEqual([
      "finished",
      "inv",
      "recordedDate",
    ]);
  });
});

describe("update jobs", () => {
  it("a job waits queued behind the survey's earlier one; errors and warnings are read", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const { client } = clientFor(fake);
    await control(fake.url, "PUT", "/_fake/surveys/SV_venue/flow", { embeddedData: ["inv"] });
    const { responseIds } = await control<{ responseIds: string[] }>(
      fake.url,
      "POST",
      "/_fake/surveys/SV_venue/responses",
      { responses: [{ embeddedData: { inv: "a" } }, { embeddedData: { inv: "b" } }] },
    );
    const [a = "", b = ""] = responseIds;
    await control(fake.url, "POST", "/_fake/refused-updates", {
      responseIds: [b],
      reason: "Response is locked",
      at: "job",
    });
    const first = await client.startUpdateResponses("SV_venue", [
      { responseId: a, embeddedData: { inv: "a" } },
    ]);
    const second = await client.startUpdateResponses("SV_venue", [
      { responseId: a, embeddedData: { invite_tampered: "0" } },
      { responseId: b, embeddedData: { inv: "b" } },
    ]);
    expect(await client.getUpdateResponses("SV_venue", second.progressId)).toMatchObject({
      queued: true,
      complete: false,
    });
    expect(await client.getUpdateResponses("SV_venue", first.progressId)).toMatchObject({
      complete: true,
      errorCount: 0,
    });
    expect(await client.getUpdateResponses("SV_venue", second.progressId)).toMatchObject({
      complete: true,
      errorCount: 1,
      errors: [{ responseId: b, message: "Response is locked" }],
      warningCount: 1,
      warnings: [{ responseId: a, message: expect.stringContaining("invite_tampered") }],
    });
  });

  it("a value over 1,000 characters is refused with Qualtrics' reason; 1,000 emoji are not", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake);
    const { responseIds } = await control<{ responseIds: string[] }>(
      fake.url,
      "POST",
      "/_fake/surveys/SV_venue/responses",
      { responses: [{ embeddedData: { inv: "a" } }] },
    );
    const responseId = responseIds[0] ?? "";
    const error = await rejection(
      client.startUpdateResponses("SV_venue", [
        { responseId, embeddedData: { venue: "v".repeat(1_001) } },
      ]),
    );
    expect(error).toMatchObject({ status: 400, retryable: false });
    expect(error.reason).toContain("updates[0].embeddedData.venue");
    await client.startUpdateResponses("SV_venue", [
      { responseId, embeddedData: { venue: "😀".repeat(1_000) } },
    ]);
  });
});

describe("pacing", () => {
  it("update-responses starts are paced at 10 a minute, and a Retry-After holds only its endpoint", async () => {
    const fake = await startFake();
    let now = Date.parse("2026-11-28T10:00:00Z");
    const waits: number[] = [];
    const { client } = clientFor(fake, {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    const { responseIds } = await control<{ responseIds: string[] }>(
      fake.url,
      "POST",
      "/_fake/surveys/SV_venue/responses",
      { responses: [{ embeddedData: { inv: "a" } }] },
    );
    const update = [{ responseId: responseIds[0] ?? "", embeddedData: { inv: "a" } }];
    for (let i = 0; i < 11; i++) await client.startUpdateResponses("SV_venue", update);
    expect(waits).toEqual([60_000]);

    await injectFault(fake, { status: 429, retryAfter: 7, endpoint: "createTransactionBatch" });
    await client.createTransactionBatch(DIRECTORY, new Date());
    expect(waits).toEqual([60_000, 7_000]);
    // The export endpoint was never held.
    await client.startResponseExport("SV_venue", { startDate: new Date("2000-01-01T00:00:00Z") });
    expect(waits).toHaveLength(2);
    expect((await fakeState(fake)).calls.byStatus["429"]).toBe(1);
  });
});

describe("errors that are not retried", () => {
  it("a bad token is a QualtricsError 401 and is sent once", async () => {
    const fake = await startFake();
    const { client, sleeps } = clientFor(fake, { apiToken: "not-the-token" });
    const error = await rejection(client.createTransactionBatch(DIRECTORY, new Date()));
    expect(error).toMatchObject({ status: 401, retryable: false, attempts: 1 });
    expect(error.errorCode).not.toBe("");
    expect(error.requestId).toBeTruthy();
    expect(sleeps).toEqual([]);
    expect(client.calls).toBe(1);
    expect((await fakeState(fake)).calls.total).toBe(1);
  });

  it("a 400 is not retried", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake);
    // Not a date: Qualtrics refuses it.
    const error = await rejection(
      client.startResponseExport("SV_venue", { startDate: "yesterday" }),
    );
    expect(error).toMatchObject({ status: 400, retryable: false, attempts: 1 });
    expect(error.message).toContain("startDate");
    expect((await fakeState(fake)).calls.total).toBe(1);
  });

  it("an OAuth token without the needed scope gets 403, not retried", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake, {
      apiToken: undefined,
      oauth: {
        tokenUrl: fake.tokenUrl,
        clientId: "fake-client",
        clientSecret: "fake-secret",
        scope: "read:survey_responses",
      },
    });
    const error = await rejection(client.createTransactionBatch(DIRECTORY, new Date()));
    expect(error).toMatchObject({ status: 403, retryable: false });
    expect(client.calls).toBe(2); // token + the refused call
  });
});

describe("retries", () => {
  it("a 429 with Retry-After is waited out exactly, then the call succeeds", async () => {
    const fake = await startFake();
    const at = Date.now();
    const { client, sleeps } = clientFor(fake, { now: () => at });
    await injectFault(fake, { status: 429, retryAfter: 3 });
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    expect(batchId).toMatch(/^BT_/);
    expect(sleeps).toEqual([3000]);
    expect(client.calls).toBe(2);
  });

  it("a Retry-After given as an HTTP date is honoured", async () => {
    const fake = await startFake();
    const at = Date.parse("2026-11-28T10:00:05Z");
    const { client, sleeps } = clientFor(fake, { now: () => at - 5000 });
    await injectFault(fake, { status: 503, retryAfter: new Date(at).toUTCString() });
    await client.createTransactionBatch(DIRECTORY, new Date());
    expect(sleeps).toEqual([5000]);
  });

  it("the fake's own per-endpoint limit answers 429 and the client waits for the window", async () => {
    const fake = await startFake({
      rateLimits: { windowMs: 1000, endpoints: { createTransactionBatch: 2 } },
    });
    const { client } = clientFor(fake, {
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    for (let i = 0; i < 3; i++) await client.createTransactionBatch(DIRECTORY, new Date());
    const state = await fakeState(fake);
    expect(state.calls.byStatus).toEqual({ "200": 3, "429": 1 });
    expect(client.calls).toBe(4);
  });

  it("500 and 503 are retried with exponential backoff and full jitter, then succeed", async () => {
    const fake = await startFake();
    const { client, sleeps } = clientFor(fake);
    await injectFault(fake, { status: 500 });
    await injectFault(fake, { status: 503 });
    await client.createTransactionBatch(DIRECTORY, new Date());
    // random() = 0.5 of a ceiling that doubles: 100 ms, then 200 ms.
    expect(sleeps).toEqual([50, 100]);
    expect(client.calls).toBe(3);
  });

  it("a request that hangs times out and is retried", async () => {
    const fake = await startFake();
    const { client, sleeps } = clientFor(fake, { timeoutMs: 300 });
    await injectFault(fake, { hang: true });
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    expect(batchId).toMatch(/^BT_/);
    expect(sleeps).toHaveLength(1);
    expect(client.calls).toBe(2);
  });

  // workerd itself logs "Network connection lost" for the dropped socket; the client handles it.
  it("a dropped connection is retried", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake);
    await injectFault(fake, { reset: true });
    await client.createTransactionBatch(DIRECTORY, new Date());
    expect(client.calls).toBe(2);
  });

  it("when retries run out the last error is reported with the attempts made", async () => {
    const fake = await startFake();
    const { client, sleeps } = clientFor(fake, { retries: 2 });
    await injectFault(fake, { status: 503, count: 10 });
    const error = await rejection(client.createTransactionBatch(DIRECTORY, new Date()));
    expect(error).toMatchObject({ status: 503, retryable: true, attempts: 3 });
    expect(error.message).toContain("gave up after 3 attempts");
    expect(sleeps).toEqual([50, 100]);
    expect((await fakeState(fake)).calls.total).toBe(3);
  });

  it("an expired OAuth token is refreshed and the call repeated", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake, {
      apiToken: undefined,
      oauth: {
        tokenUrl: fake.tokenUrl,
        clientId: "fake-client",
        clientSecret: "fake-secret",
        scope: SCOPES,
      },
    });
    await client.createTransactionBatch(DIRECTORY, new Date());
    await client.createTransactionBatch(DIRECTORY, new Date());
    expect(client.calls).toBe(3); // one token, reused
    await control(fake.url, "POST", "/_fake/oauth/expire");
    await client.createTransactionBatch(DIRECTORY, new Date());
    expect(client.calls).toBe(6); // 401, new token, the call again
  });
});

describe("the import POST, which is not idempotent", () => {
  const importOnce = async (fake: Fake, options: Partial<QualtricsClientOptions> = {}) => {
    const { client, sleeps } = clientFor(fake, options);
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    const attempt = client.importTransactionContacts(DIRECTORY, LIST, {
      batchId,
      fields: ["invite_id", "survey"],
      contacts: [contact(1)],
    });
    return { client, sleeps, attempt };
  };

  it("a 500 is not repeated and is reported as ambiguous", async () => {
    const fake = await startFake();
    await injectFault(fake, { status: 500, endpoint: "importTransactionContacts" });
    const { attempt, sleeps } = await importOnce(fake);
    const error = await rejection(attempt);
    expect(error).toMatchObject({ status: 500, ambiguous: true, attempts: 1 });
    expect(error.message).toContain("not repeated");
    expect(sleeps).toEqual([]);
    expect((await fakeState(fake)).calls.byEndpoint.importTransactionContacts).toBe(1);
  });

  it("a timeout is not repeated, even when Qualtrics did the import and only the answer was lost", async () => {
    const fake = await startFake();
    await injectFault(fake, { hang: true, endpoint: "importTransactionContacts", after: true });
    const { attempt } = await importOnce(fake, { timeoutMs: 200 });
    const error = await rejection(attempt);
    expect(error).toMatchObject({ status: 0, errorCode: "timeout", ambiguous: true, attempts: 1 });
    expect((await fakeState(fake)).transactions).toHaveLength(1);
  });

  it("a 500 after the work was done is not repeated either: one transaction", async () => {
    const fake = await startFake();
    await injectFault(fake, { status: 500, endpoint: "importTransactionContacts", after: true });
    const { attempt } = await importOnce(fake);
    expect(await rejection(attempt)).toMatchObject({ status: 500, ambiguous: true });
    expect((await fakeState(fake)).transactions).toHaveLength(1);
  });

  it("a 429 is retried: Qualtrics refused it without doing it", async () => {
    const fake = await startFake();
    await injectFault(fake, { status: 429, retryAfter: 0, endpoint: "importTransactionContacts" });
    const { attempt, client } = await importOnce(fake);
    await attempt;
    expect(client.calls).toBe(3);
    expect((await fakeState(fake)).transactions).toHaveLength(1);
  });

  it("a refusal (400, 401) is not ambiguous", async () => {
    const fake = await startFake();
    await injectFault(fake, { status: 401, endpoint: "importTransactionContacts" });
    const { attempt } = await importOnce(fake);
    expect(await rejection(attempt)).toMatchObject({ status: 401, ambiguous: false });
  });
});

describe("call budget", () => {
  it("refuses to send more than maxCalls, retries included", async () => {
    const fake = await startFake();
    const { client } = clientFor(fake, { maxCalls: 3 });
    await client.createTransactionBatch(DIRECTORY, new Date());
    await injectFault(fake, { status: 503, count: 5 });
    const error = await rejection(client.createTransactionBatch(DIRECTORY, new Date()));
    expect(error).toBeInstanceOf(QualtricsBudgetError);
    expect(error.retryable).toBe(false);
    expect(client.calls).toBe(3);
    expect((await fakeState(fake)).calls.total).toBe(3);
  });
});

describe("chunking", () => {
  it("splits contacts at 10,000 per import, and the fake takes a full chunk", async () => {
    const contacts = Array.from({ length: 25_001 }, (_, i) => contact(i));
    const chunks = chunkTransactionContacts(contacts, { fields: ["invite_id", "survey"] });
    expect(chunks.map((c) => c.length)).toEqual([10_000, 10_000, 5_001]);
    expect(chunks.flat()).toEqual(contacts);

    const fake = await startFake();
    const { client } = clientFor(fake);
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    const fields = ["invite_id", "survey"];
    const full = await client.importTransactionContacts(DIRECTORY, LIST, {
      batchId,
      fields,
      contacts: chunks[0] ?? [],
    });
    expect(full.unprocessed).toEqual([]);
    // One more than allowed is refused before any request is sent.
    const before = client.calls;
    const error = await rejection(
      client.importTransactionContacts(DIRECTORY, LIST, {
        batchId,
        fields,
        contacts: contacts.slice(0, 10_001),
      }),
    );
    expect(error.errorCode).toBe("request_too_large");
    expect(client.calls).toBe(before);
  });

  it("splits contacts so every import body stays under 5 MB", async () => {
    const fields = ["invite_id", "note"];
    // Multi-byte text: the limit is bytes of UTF-8, not characters.
    const contacts = Array.from({ length: 3_000 }, (_, i) => ({
      extRef: `customer-${i}`,
      transactionData: { invite_id: `inv-${i}`, note: "é".repeat(1_000) },
    }));
    const chunks = chunkTransactionContacts(contacts, { fields });
    expect(chunks.length).toBeGreaterThan(1);
    const fake = await startFake();
    const { client } = clientFor(fake);
    const { batchId } = await client.createTransactionBatch(DIRECTORY, new Date());
    const bodyBytes = (list: TransactionContact[]) =>
      new TextEncoder().encode(
        JSON.stringify({ transactionMeta: { batchId, fields }, contacts: list }),
      ).length;
    for (const chunk of chunks) {
      expect(bodyBytes(chunk)).toBeLessThan(MAX_REQUEST_BYTES);
      const result = await client.importTransactionContacts(DIRECTORY, LIST, {
        batchId,
        fields,
        contacts: chunk,
      });
      expect(result.unprocessed).toEqual([]);
    }
    // The chunks are full: one more contact would cross the limit, which Qualtrics answers with 413.
    const overfull = [...(chunks[0] ?? []), ...(chunks[1] ?? []).slice(0, 1)];
    expect(bodyBytes(overfull)).toBeGreaterThanOrEqual(MAX_REQUEST_BYTES);
    const raw = await fetch(
      `${fake.baseUrl}/directories/${DIRECTORY}/mailinglists/${LIST}/transactioncontacts`,
      {
        method: "POST",
        headers: { "X-API-TOKEN": TOKEN, "Content-Type": "application/json" },
        body: JSON.stringify({ transactionMeta: { batchId, fields }, contacts: overfull }),
      },
    );
    expect(raw.status).toBe(413);
    await raw.body?.cancel();
  });
});

describe("toQualtricsDate", () => {
  it("formats UTC as YYYY-MM-DD HH:MM:SS", () => {
    expect(toQualtricsDate(new Date("2026-11-28T10:00:00.999Z"))).toBe("2026-11-28 10:00:00");
    expect(toQualtricsDate(new Date("2026-01-02T03:04:05+02:00"))).toBe("2026-01-02 01:04:05");
  });
});
