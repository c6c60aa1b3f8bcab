/**
 * Helpers for the reconcile and Qualtrics client suites: a private fake Qualtrics per test
 * (test/fake-qualtrics), as strict as the record of Qualtrics, with the survey flows the
 * configuration documents; the worker's env pointed at it, fast client delays, direct seeding of
 * invites for volume, and a clean ledger between tests (storage is per test file, shared by the
 * tests of a file).
 */
import { env, SELF } from "cloudflare:test";
import { expect, inject } from "vitest";
import type { z } from "zod";
import { getConfig } from "../../src/config/config";
import type { Env } from "../../src/config/env";
import { exportedFields } from "../../src/reconcile/completions";
import { LEASE_MS, type ReconcileOptions } from "../../src/reconcile/run";
import type { RunSchema } from "../../src/reconcile/schema";
import { shardPrefix } from "../../src/tokens/ids";
import { ADMIN_KEY, type ApiInit, apiRequest, fetchWorker, ORIGIN } from "./api";
import { allShards, fromEveryShard } from "./ledger";

declare module "vitest" {
  interface ProvidedContext {
    fakeQualtricsUrl: string;
  }
}

export const DIRECTORY = "POOL_fake";
/** The fields of the demo surveys (wrangler.toml), and the values invite-edge adds to them. */
export const DEMO_FIELDS = ["venue", "event", "seat"];
export const INVITE_VALUES = ["customer_id", "transaction_id", "trigger", "inv"];
export const LIST = "CG_fake";
export const QUALTRICS_TOKEN = "fake-token";

export interface Fake {
  url: string;
  baseUrl: string;
  tokenUrl: string;
  port: number;
}

export interface FakeTransaction {
  extRef: string;
  importId: string;
  batchId: string;
  transactionData: Record<string, string>;
}

export interface FakeState {
  calls: { total: number; byEndpoint: Record<string, number>; byStatus: Record<string, number> };
  batches: Record<string, { transactionIds: string[] }>;
  imports: Record<string, { contactCount: number; batchId: string; unprocessed: number[] }>;
  transactions: FakeTransaction[];
  contacts: Record<string, { extRef: string }>;
  exports: Record<
    string,
    { surveyId: string; request: Record<string, unknown>; continuationToken: string | null }
  >;
  updateJobs: Record<string, { surveyId: string; status: string; updates: unknown[] }>;
  updatesApplied: { responseId: string; embeddedData: Record<string, string> }[];
  surveys: Record<
    string,
    {
      responses: {
        responseId: string;
        embeddedData: Record<string, string>;
        values: Record<string, unknown>;
      }[];
    }
  >;
  requests: { method: string; path: string; endpoint: string; status: number }[];
}

const started: Fake[] = [];

export async function control<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`fake control ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * A private fake Qualtrics (own state and limits), strict: the first export of each survey fails
 * as Qualtrics documents a failed export, and every configured survey's flow declares what
 * configuration.md says it must (its fields, invite-edge's values, `sig` where the mode signs,
 * `invite_tampered`, `invite_duplicate`), so an export naming anything else is refused. Rate limits are off unless
 * asked for (their own tests turn them on).
 */
export async function startFake(options: Record<string, unknown> = {}): Promise<Fake> {
  const fake = await control<Fake>(inject("fakeQualtricsUrl"), "POST", "/_fake/instances", {
    rateLimits: false,
    failFirstExport: true,
    ...options,
  });
  started.push(fake);
  for (const survey of getConfig(env).surveys.values()) {
    if (!survey.qualtricsSurveyId) continue;
    await declareEmbeddedData(fake, survey.qualtricsSurveyId, [
      ...exportedFields(survey),
      "invite_tampered",
      "invite_duplicate",
    ]);
  }
  return fake;
}

export async function stopFakes(): Promise<void> {
  const fakes = started.splice(0);
  await Promise.all(
    fakes.map((f) => control(inject("fakeQualtricsUrl"), "DELETE", `/_fake/instances/${f.port}`)),
  );
}

export const fakeState = (fake: Fake) => control<FakeState>(fake.url, "GET", "/_fake/state");
export const injectFault = (fake: Fake, fault: Record<string, unknown>) =>
  control(fake.url, "POST", "/_fake/faults", fault);
export const clearFaults = (fake: Fake) => control(fake.url, "DELETE", "/_fake/faults");
/**
 * Responses recorded in the fake: each with its embedded data, or with the survey URL its
 * respondent landed on, read as the survey flow declares (`declareEmbeddedData`).
 */
export const addResponses = (
  fake: Fake,
  surveyId: string,
  responses: (
    | { embeddedData: Record<string, string>; finished?: boolean; recordedDate?: string }
    | { landingUrl: string; finished?: boolean; recordedDate?: string }
  )[],
) =>
  control<{ responseIds: string[] }>(fake.url, "POST", `/_fake/surveys/${surveyId}/responses`, {
    responses,
  });

/** Qualtrics refuses updates of these responses with `reason`: at the job's start, or within it. */
export const refuseUpdates = (
  fake: Fake,
  responseIds: string[],
  reason: string,
  at: "start" | "job",
) => control(fake.url, "POST", "/_fake/refused-updates", { responseIds, reason, at });

/** What a web-service survey's Web Service element gets for an invite. */
export async function webserviceValues(id: string): Promise<Record<string, string>> {
  const res = await SELF.fetch(`${ORIGIN}/v1/invites/${id}/data`, {
    headers: { "X-Webservice-Secret": "dev-webservice-secret" },
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** The embedded-data fields a survey's flow declares in the fake (what Qualtrics records). */
export const declareEmbeddedData = (fake: Fake, surveyId: string, fields: string[]) =>
  control(fake.url, "PUT", `/_fake/surveys/${surveyId}/flow`, { embeddedData: fields });

/** The worker's env with Qualtrics pointed at `fake`. */
export function qualtricsEnv(fake: Fake, extra: Partial<Env> = {}): Env {
  return {
    ...env,
    QUALTRICS_BASE_URL: fake.baseUrl,
    QUALTRICS_API_TOKEN: QUALTRICS_TOKEN,
    QUALTRICS_DIRECTORY_ID: DIRECTORY,
    QUALTRICS_MAILING_LIST_ID: LIST,
    QUALTRICS_POLL_INTERVAL_MS: "5",
    ...extra,
  };
}

/** Run options that keep a test fast: tiny backoff and poll waits, fixed jitter. */
export function fast(options: ReconcileOptions = {}): ReconcileOptions {
  return {
    ...options,
    pollIntervalMs: options.pollIntervalMs ?? 5,
    client: {
      baseDelayMs: 5,
      maxDelayMs: 20,
      timeoutMs: 2_000,
      random: () => 0.5,
      ...options.client,
    },
  };
}

/** A promise that never settles: a step the runtime killed midway. */
export const never = () => new Promise<never>(() => {});

/** A clock `extra` ms past a dead run's lease, so the next run may take over. */
export const afterLease = (extra = 1_000) => {
  const at = Date.now() + LEASE_MS + extra;
  return () => at;
};

/** Calls the worker directly with a given env (the admin key by default). */
export function callWorker(workerEnv: Env, path: string, init: ApiInit = {}): Promise<Response> {
  return fetchWorker(apiRequest(path, init, ADMIN_KEY), workerEnv);
}

/** A run record as the API returns it. */
export type RunBody = z.infer<typeof RunSchema>;

/** Runs reconcile now through the API (admin key) against `fake`; the run must answer 200. */
export async function reconcileNow(fake: Fake): Promise<RunBody> {
  const res = await callWorker(qualtricsEnv(fake), "/v1/reconcile", { method: "POST" });
  expect(res.status).toBe(200);
  return res.json();
}

/** Deletes every invite, click and reconcile record: each test starts from an empty ledger. */
export async function resetLedger(): Promise<void> {
  await Promise.all(
    allShards().map((db) =>
      db.batch(
        [
          "DELETE FROM invites",
          "DELETE FROM click_events",
          "DELETE FROM reconcile_runs",
          "DELETE FROM reconcile_imports",
          "DELETE FROM reconcile_exports",
          "DELETE FROM reconcile_stamp_jobs",
          "DELETE FROM duplicate_responses",
          "DELETE FROM reconcile_lease",
        ].map((sql) => db.prepare(sql)),
      ),
    ),
  );
}

export interface SeedOptions {
  survey?: string;
  /** Distinguishes seeded batches: ids are a shard's two characters, prefix, zero-padded number. */
  prefix?: string;
  /** The first this many invites are opened (tapped). */
  opened?: number;
  /** A shared customer id for every invite (default: one customer per invite). */
  customer?: string;
  issuedAt?: number;
}

/**
 * Inserts `count` invites, one statement per shard, spread over the shards round robin (volume
 * tests; the tap and issue paths are tested elsewhere). Returns their ids in order.
 */
export async function seedInvites(count: number, options: SeedOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? "s";
  const width = 22 - prefix.length;
  const issuedAt = options.issuedAt ?? Date.now() - 3_600_000;
  const shards = allShards();
  await Promise.all(
    shards.map((db, shard) =>
      db
        .prepare(
          `WITH RECURSIVE n(i) AS (
             SELECT CAST(?9 AS INTEGER) UNION ALL SELECT i + CAST(?10 AS INTEGER) FROM n WHERE i + ?10 <= ?1
           )
           INSERT INTO invites (id, survey, transaction_id, customer_ref, trigger, channel,
             embedded_data, request_hash, issued_at, expires_at, consumed_at)
           SELECT ?11 || ?2 || substr('0000000000000000000000' || i, -?3), ?4, ?2 || '-txn-' || i,
             COALESCE(?5, 'customer-' || ?2 || '-' || i), 'ticket_scanned', 'in_app',
             '{"venue":"Arena North","event":"Finals","seat":"B12"}', 'seeded', ?6 + i, ?7,
             CASE WHEN i <= ?8 THEN ?6 + i + 60000 ELSE NULL END
           FROM n WHERE i <= ?1`,
        )
        .bind(
          count,
          prefix,
          width,
          options.survey ?? "demo",
          options.customer ?? null,
          issuedAt,
          issuedAt + 7 * 86_400_000,
          options.opened ?? 0,
          shard + 1,
          shards.length,
          shardPrefix(shard),
        )
        .run(),
    ),
  );
  return Array.from(
    { length: count },
    (_, i) => `${shardPrefix(i % shards.length)}${prefix}${String(i + 1).padStart(width, "0")}`,
  );
}

/** Every invite id carried by a transaction in the fake, with how many transactions carry it. */
export function transactionsPerInvite(state: FakeState): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of state.transactions) {
    const id = t.transactionData.invite_id ?? "";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Asserts-friendly summary: how many invites have exactly one transaction, and how many more. */
export function exactlyOnce(state: FakeState, ids: string[]) {
  const counts = transactionsPerInvite(state);
  return {
    once: ids.filter((id) => counts.get(id) === 1).length,
    duplicated: [...counts.values()].filter((n) => n > 1).length,
    missing: ids.filter((id) => !counts.has(id)).length,
    total: state.transactions.length,
  };
}

/** What `exactlyOnce` gives when each of `count` invites has one transaction and there are no others. */
export const pushedOnce = (count: number) => ({
  once: count,
  duplicated: 0,
  missing: 0,
  total: count,
});

/** Invite rows from every shard (all, or those of `ids`), ordered by id. */
export async function inviteRows(ids?: string[]) {
  const rows = ids
    ? await fromEveryShard<Record<string, unknown>>(
        "SELECT * FROM invites WHERE id IN (SELECT value FROM json_each(?))",
        JSON.stringify(ids),
      )
    : await fromEveryShard<Record<string, unknown>>("SELECT * FROM invites");
  return rows.sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
}
