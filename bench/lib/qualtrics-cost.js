// @ts-check
/**
 * Phase 7, Qualtrics cost: how many Qualtrics API calls invite-edge spends per
 * invite, against the personal-link road's 5 per invite (issue 5, goal ≤ 0.002
 * for 10,000 invites).
 *
 * NOT MEASURED YET: reconciliation (issue 4) does not exist. Until it does,
 * measureQualtricsCallsPerInvite() reports `na` with the reason.
 */
import { call, KEYS } from "./service.js";

/**
 * @typedef {{ callsPerInvite: number | null; invites?: number; calls?: number;
 *   wallSeconds?: number; note: string }} QualtricsCost
 */

/**
 * TO FILL IN when reconciliation lands (issue 4). The plan:
 *  1. start the fake Qualtrics server from test/ (real HTTP on a free loopback
 *     port, its documented rate limits on) with `startProcess` from
 *     ./processes.js so it is stopped with everything else;
 *  2. start the service (run.js's `startService`) with
 *     `--var QUALTRICS_BASE_URL:http://127.0.0.1:<port>/API/v3` and the token,
 *     directory and mailing-list variables the fake expects;
 *  3. issue 10,000 invites with ./service.js `issueMany` (batch calls);
 *  4. POST /v1/reconcile (KEYS.admin) until GET /v1/reconcile/runs shows nothing
 *     left to push; time it (wall time at the fake's rate limits);
 *  5. calls = the fake's own count of calls (or the runs' "Qualtrics calls made");
 *     return { callsPerInvite: calls / 10000, invites: 10000, calls, wallSeconds }.
 *
 * @param {{ serviceUrl: string | null }} context  the running service, if any
 * @returns {Promise<QualtricsCost>}
 */
export async function measureQualtricsCallsPerInvite({ serviceUrl }) {
  if (serviceUrl) {
    const runs = await call(serviceUrl, "/v1/reconcile/runs", { auth: KEYS.admin }).catch(
      () => null,
    );
    if (runs && runs.status !== 404) {
      return {
        callsPerInvite: null,
        note: `reconcile endpoints answer (${runs.status}) but bench/lib/qualtrics-cost.js measureQualtricsCallsPerInvite() is not written yet`,
      };
    }
  }
  return { callsPerInvite: null, note: "reconciliation not implemented yet (issue 4)" };
}
