/**
 * Helpers for the security and reliability suites: call the Worker directly with a wrapped `env`
 * (a failing store, extra API keys), read the ledger, and sign tokens the way an attacker might.
 */
import { env } from "cloudflare:test";
import { getConfig } from "../../src/config/config";
import type { InviteRow } from "../../src/store/invite-rows";
import { signInviteToken } from "../../src/tokens/invite-token";
import { fetchWorker, ORIGIN, PHONE_UA } from "../helpers/api";
import { ledgerOf } from "../helpers/ledger";

export type TestEnv = typeof env;

const NO_OVERRIDES: Partial<TestEnv> = {};
const mergedEnvs = new WeakMap<Partial<TestEnv>, TestEnv>();

/** The test env with `overrides`; the same object for the same overrides (config is cached per env). */
function envWith(overrides: Partial<TestEnv>): TestEnv {
  let merged = mergedEnvs.get(overrides);
  if (!merged) {
    merged = { ...env, ...overrides };
    mergedEnvs.set(overrides, merged);
  }
  return merged;
}

/** Calls the Worker directly with `overrides` merged into the test env (see `fetchWorker`). */
export function callWorker(
  request: Request,
  overrides: Partial<TestEnv> = NO_OVERRIDES,
): Promise<Response> {
  return fetchWorker(request, envWith(overrides));
}

/** A tap request as a phone sends it. */
export function tapRequest(
  id: string,
  init: { method?: string; ip?: string; cookie?: string; ua?: string; query?: string } = {},
): Request {
  const headers = new Headers({
    "User-Agent": init.ua ?? PHONE_UA,
    "CF-Connecting-IP": init.ip ?? "192.0.2.10",
  });
  if (init.cookie) headers.set("Cookie", init.cookie);
  return new Request(`${ORIGIN}/s/${id}${init.query ?? ""}`, {
    method: init.method ?? "GET",
    headers,
    redirect: "manual",
  });
}

/** An invite's ledger row, with the retention column the core's row type does not need. */
export type LedgerRow = InviteRow & { purged_at: number | null };

export async function ledgerRow(id: string): Promise<LedgerRow | null> {
  return ledgerOf(id).prepare("SELECT * FROM invites WHERE id = ?").bind(id).first<LedgerRow>();
}

export async function clickOutcomes(id: string): Promise<string[]> {
  const { results } = await ledgerOf(id)
    .prepare("SELECT outcome FROM click_events WHERE invite_id = ? ORDER BY id")
    .bind(id)
    .all<{ outcome: string }>();
  return results.map((r) => r.outcome);
}

/** The development signing key (private JWK) from wrangler.toml, as tests need to sign with it. */
export function devSigningJwk(): Record<string, string> {
  const keys = (
    typeof env.SIGNING_KEYS === "string" ? JSON.parse(env.SIGNING_KEYS) : env.SIGNING_KEYS
  ) as Record<string, string>[];
  const last = keys.at(-1);
  if (!last) throw new Error("no SIGNING_KEYS in the test env");
  return last;
}

export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Resolves when `ms` have passed (real time: the rate limiter's window is wall-clock aligned). */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The whole signed token an invite's row carried while the ledger kept tokens (and KV before
 * that), signed from the row as the issue call signed it then: for the tests of links issued
 * before the ledger kept only `sig`.
 */
export async function tokenAsIssuedBefore(id: string): Promise<string> {
  const row = await ledgerRow(id);
  if (!row?.customer_ref || !row.embedded_data || !row.sig) throw new Error(`no values on ${id}`);
  return signInviteToken(
    getConfig(env),
    id,
    {
      survey: row.survey,
      customerId: row.customer_ref,
      transactionId: row.transaction_id,
      trigger: row.trigger,
      ...(row.channel ? { channel: row.channel } : {}),
      ...(row.language ? { language: row.language } : {}),
      embeddedData: JSON.parse(row.embedded_data),
      sig: row.sig,
    },
    row.issued_at,
    row.expires_at,
  );
}
