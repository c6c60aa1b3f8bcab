/**
 * The Qualtrics settings of the reconcile job, parsed from `env`. Nothing set at all means
 * "not configured": a run is recorded as skipped with the reason. Something set but incomplete or
 * malformed is a `ConfigError` naming the variable: a run is recorded as failed with that message.
 */

import { ConfigError } from "./config";
import type { Env } from "./env";

/** Scopes invite-edge needs when it authenticates with OAuth. */
const QUALTRICS_OAUTH_SCOPES =
  "write:contact_transactions write:mailing_list_contacts read:survey_responses write:survey_responses";

export interface QualtricsOAuthOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
}

type QualtricsAuth = { apiToken: string } | { oauth: QualtricsOAuthOptions };

export interface QualtricsSettings {
  /** e.g. `https://iad1.qualtrics.com/API/v3` (no trailing slash). */
  baseUrl: string;
  auth: QualtricsAuth;
  directoryId: string;
  mailingListId: string;
  /** Requests one run may send, retries included (the brand's 3,000/min is shared). */
  maxCallsPerRun: number;
  /** Wait between two polls of an import, export or update job. */
  pollIntervalMs: number;
}

type QualtricsSetup =
  | { configured: true; settings: QualtricsSettings }
  | { configured: false; reason: string };

const VARIABLES = [
  "QUALTRICS_BASE_URL",
  "QUALTRICS_DATACENTER",
  "QUALTRICS_API_TOKEN",
  "QUALTRICS_CLIENT_ID",
  "QUALTRICS_CLIENT_SECRET",
  "QUALTRICS_DIRECTORY_ID",
  "QUALTRICS_MAILING_LIST_ID",
] as const;

export const NOT_CONFIGURED_REASON =
  "Qualtrics is not configured: set QUALTRICS_BASE_URL (or QUALTRICS_DATACENTER), " +
  "QUALTRICS_API_TOKEN (or QUALTRICS_CLIENT_ID and QUALTRICS_CLIENT_SECRET), " +
  "QUALTRICS_DIRECTORY_ID and QUALTRICS_MAILING_LIST_ID";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const DATACENTER = /^[a-z0-9][a-z0-9-]{0,31}$/i;
/** Ids go into URL paths: letters, digits, `_` and `-` only. */
const QUALTRICS_ID = /^[A-Za-z0-9_-]{1,64}$/;

const DEFAULT_MAX_CALLS_PER_RUN = 300;
const DEFAULT_POLL_INTERVAL_MS = 2000;

function value(env: Env, name: (typeof VARIABLES)[number]): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
}

function parseBaseUrl(env: Env): string | undefined {
  const explicit = value(env, "QUALTRICS_BASE_URL");
  if (explicit) {
    let url: URL;
    try {
      url = new URL(explicit);
    } catch {
      throw new ConfigError("QUALTRICS_BASE_URL is not an absolute URL");
    }
    // The API token travels in a header: plain http only to a local stand-in (the fake).
    if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
      throw new ConfigError("QUALTRICS_BASE_URL must use https (http only for localhost)");
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new ConfigError("QUALTRICS_BASE_URL must not carry credentials, a query or a fragment");
    }
    return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
  }
  const datacenter = value(env, "QUALTRICS_DATACENTER");
  if (!datacenter) return undefined;
  if (!DATACENTER.test(datacenter)) {
    throw new ConfigError("QUALTRICS_DATACENTER must be a datacenter id such as iad1 or fra1");
  }
  return `https://${datacenter.toLowerCase()}.qualtrics.com/API/v3`;
}

function parseAuth(env: Env, baseUrl: string): QualtricsAuth | undefined {
  const apiToken = value(env, "QUALTRICS_API_TOKEN");
  if (apiToken) return { apiToken };
  const clientId = value(env, "QUALTRICS_CLIENT_ID");
  const clientSecret = value(env, "QUALTRICS_CLIENT_SECRET");
  if (!clientId && !clientSecret) return undefined;
  if (!clientId)
    throw new ConfigError("QUALTRICS_CLIENT_ID is not set (QUALTRICS_CLIENT_SECRET is)");
  if (!clientSecret) {
    throw new ConfigError("QUALTRICS_CLIENT_SECRET is not set (QUALTRICS_CLIENT_ID is)");
  }
  // The token endpoint sits beside the API on the same host: https://{dc}.qualtrics.com/oauth2/token.
  const tokenUrl = `${new URL(baseUrl).origin}/oauth2/token`;
  return { oauth: { tokenUrl, clientId, clientSecret, scope: QUALTRICS_OAUTH_SCOPES } };
}

function parseId(env: Env, name: "QUALTRICS_DIRECTORY_ID" | "QUALTRICS_MAILING_LIST_ID") {
  const id = value(env, name);
  if (id && !QUALTRICS_ID.test(id)) {
    throw new ConfigError(`${name} must be a Qualtrics id (letters, digits, _ or -)`);
  }
  return id;
}

function wholeNumber(
  env: Env,
  name: "QUALTRICS_MAX_CALLS_PER_RUN" | "QUALTRICS_POLL_INTERVAL_MS",
  fallback: number,
  min: number,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(`${name} must be a whole number ≥ ${min}`);
  return n;
}

/**
 * Reads the Qualtrics settings. Throws `ConfigError` for a malformed or half-done setup.
 *
 * @example
 * const setup = parseQualtricsSettings(env);
 * if (!setup.configured) console.log(setup.reason);
 */
export function parseQualtricsSettings(env: Env): QualtricsSetup {
  if (VARIABLES.every((name) => value(env, name) === undefined)) {
    return { configured: false, reason: NOT_CONFIGURED_REASON };
  }
  const baseUrl = parseBaseUrl(env);
  const auth = baseUrl ? parseAuth(env, baseUrl) : undefined;
  const directoryId = parseId(env, "QUALTRICS_DIRECTORY_ID");
  const mailingListId = parseId(env, "QUALTRICS_MAILING_LIST_ID");
  const missing = [
    baseUrl ? null : "QUALTRICS_BASE_URL (or QUALTRICS_DATACENTER)",
    auth || !baseUrl
      ? null
      : "QUALTRICS_API_TOKEN (or QUALTRICS_CLIENT_ID and QUALTRICS_CLIENT_SECRET)",
    directoryId ? null : "QUALTRICS_DIRECTORY_ID",
    mailingListId ? null : "QUALTRICS_MAILING_LIST_ID",
  ].filter((m): m is string => m !== null);
  if (!baseUrl || !auth || !directoryId || !mailingListId) {
    throw new ConfigError(`Qualtrics is partly configured; missing ${missing.join(", ")}`);
  }
  return {
    configured: true,
    settings: {
      baseUrl,
      auth,
      directoryId,
      mailingListId,
      maxCallsPerRun: wholeNumber(
        env,
        "QUALTRICS_MAX_CALLS_PER_RUN",
        DEFAULT_MAX_CALLS_PER_RUN,
        10,
      ),
      pollIntervalMs: wholeNumber(env, "QUALTRICS_POLL_INTERVAL_MS", DEFAULT_POLL_INTERVAL_MS, 0),
    },
  };
}
