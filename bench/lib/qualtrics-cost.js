// @ts-check
/**
 * Phase 7, Qualtrics cost: how many Qualtrics API calls invite-edge spends to make 10,000 invites
 * visible in Qualtrics, against the personal-link road's 5 per invite (issue 5 goal: ≤ 0.002).
 *
 * A service of its own is started against the fake Qualtrics server of the tests (real HTTP on
 * loopback, following the Qualtrics API contract, its documented per-minute limits on), the invites
 * are issued through the batch API, and reconcile runs (`POST /v1/reconcile`) until the push
 * backlog is empty. The calls are the fake's own count, so nothing of ours is taken on trust; the
 * fake's record must also hold exactly one transaction per invite.
 *
 * When the service runs on its metered entry (bench/workers/service-metered), the storage the
 * reconcile runs use (KV, D1 rows) is counted too: the reconcile share of an invite's cost.
 */
import { startFakeQualtrics } from "../../test/fake-qualtrics/server.js";
import { addCounters, readCounters, resetCounters, zeroCounters } from "./meter-client.js";
import { call, issueMany, KEYS } from "./service.js";

const FAKE_TOKEN = "bench-qualtrics-token";
const DIRECTORY = "POOL_fake";
const MAILING_LIST = "CG_fake";
const MAX_RUNS = 20;

/**
 * @typedef {{ callsPerInvite: number | null; invites?: number; calls?: number;
 *   wallSeconds?: number; note: string;
 *   storage?: import("./meter-client.js").Counters }} QualtricsCost
 * @typedef {{ url: string; stop(): Promise<void> }} Service
 */

/**
 * @param {{ startService: (vars: Record<string, string>) => Promise<Service>; invites?: number }} options
 * @returns {Promise<QualtricsCost>}
 */
export async function measureQualtricsCallsPerInvite({ startService, invites = 10_000 }) {
  const fake = await startFakeQualtrics({ port: 0, token: FAKE_TOKEN, pollsToComplete: 2 });
  try {
    const service = await startService({
      QUALTRICS_BASE_URL: fake.baseUrl,
      QUALTRICS_API_TOKEN: FAKE_TOKEN,
      QUALTRICS_DIRECTORY_ID: DIRECTORY,
      QUALTRICS_MAILING_LIST_ID: MAILING_LIST,
      QUALTRICS_POLL_INTERVAL_MS: "250",
    });
    try {
      const issued = await issueMany({
        base: service.url,
        count: invites,
        tag: `qx${Date.now()}`,
        batchSize: 500,
        useBatch: true,
      });
      if (issued.ids.length !== invites) {
        return {
          callsPerInvite: null,
          note: `only ${issued.ids.length} of ${invites} invites issued`,
        };
      }
      // Only the reconcile runs are counted: issuing and the backlog reads around them are not.
      const metered = await resetCounters(service.url).then(
        () => true,
        () => false,
      );
      let storage = zeroCounters();
      const started = performance.now();
      let runs = 0;
      /** @type {{ queued: number; inFlight: number; onHold: number } | undefined} */
      let backlog;
      do {
        if (metered) await resetCounters(service.url);
        const run = await call(service.url, "/v1/reconcile", { method: "POST", auth: KEYS.admin });
        runs++;
        if (run.status !== 200) {
          return { callsPerInvite: null, note: `POST /v1/reconcile answered ${run.status}` };
        }
        if (metered) storage = addCounters(storage, await readCounters(service.url));
        const listed = await call(service.url, "/v1/reconcile/runs", { auth: KEYS.admin });
        backlog = JSON.parse(listed.text).backlog;
      } while (backlog && backlog.queued + backlog.inFlight > 0 && runs < MAX_RUNS);
      const wallSeconds = (performance.now() - started) / 1000;
      const state = fake.snapshot();
      const calls = state.calls.total;
      const transactions = state.transactions.length;
      const onePerInvite =
        transactions === invites &&
        new Set(state.transactions.map((t) => t.transactionData.invite_id)).size === invites;
      return {
        callsPerInvite: calls / invites,
        invites,
        calls,
        wallSeconds,
        storage: metered ? storage : undefined,
        note:
          `${runs} reconcile run(s); the fake recorded ${transactions} transactions` +
          (onePerInvite ? ", exactly one per invite" : " — NOT one per invite") +
          `; personal-link road: ${5 * invites} calls`,
      };
    } finally {
      await service.stop();
    }
  } finally {
    await fake.close();
  }
}
