/**
 * The Qualtrics settings of the reconcile job, parsed from `env`. Nothing set at all means
 * "not configured": a run is recorded as skipped with the reason. Something set but incomplete or
 * malformed is a `ConfigError` listing every problem, each naming its variable: a run is recorded
 * as failed with that message.
 */

import { ConfigError } from "./config";
import type { Env } from "./env";

/** Scopes invite-edge asks for when it authenticates with OAuth, unless QUALTRICS_OAUTH_SCOPES says. */
const DEFAULT_OAUTH_SCOPES =
  "write:contact_transactions write:mailing_list_contacts read:survey_responses write:survey_responses";

export interface QualtricsOAuthOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated, as OAuth writes them. */
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

type Variable =
  | (typeof VARIABLES)[number]
  | "QUALTRICS_OAUTH_SCOPES"
  | "QUALTRICS_MAX_CALLS_PER_RUN"
  | "QUALTRICS_POLL_INTERVAL_MS";

export const NOT_CONFIGURED_REASON =
  "Qualtrics is not configured: set QUALTRICS_BASE_URL (or QUALTRICS_DATACENTER), " +
  "QUALTRICS_API_TOKEN (or QUALTRICS_CLIENT_ID and QUALTRICS_CLIENT_SECRET), " +
  "QUALTRICS_DIRECTORY_ID and QUALTRICS_MAILING_LIST_ID";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const DATACENTER = /^[a-z0-9][a-z0-9-]{0,31}$/i;
/** Ids go into URL paths: letters, digits, `_` and `-` only. */
const QUALTRICS_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** An OAuth scope token (RFC 6749 §3.3): printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const DEFAULT_MAX_CALLS_PER_RUN = 300;
const DEFAULT_POLL_INTERVAL_MS = 2000;

function value(env: Env, name: Variable): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
}

function parseBaseUrl(
  env: Env,
  datacenter: string | undefined,
  problems: string[],
): string | undefined {
  const explicit = value(env, "QUALTRICS_BASE_URL");
  if (explicit) {
    let url: URL;
    try {
      url = new URL(explicit);
    } catch {
      problems.push("QUALTRICS_BASE_URL is not an absolute URL");
      return undefined;
    }
    // The API token travels in a header: plain http only to a local stand-in (the fake).
    if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
      problems.push("QUALTRICS_BASE_URL must use https (http only for localhost)");
    } else if (url.username || url.password || url.search || url.hash) {
      problems.push("QUALTRICS_BASE_URL must not carry credentials, a query or a fragment");
    } else return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
    return undefined;
  }
  return datacenter ? `https://${datacenter}.qualtrics.com/API/v3` : undefined;
}

function parseDatacenter(env: Env, problems: string[]): string | undefined {
  const datacenter = value(env, "QUALTRICS_DATACENTER");
  if (!datacenter) return undefined;
  if (DATACENTER.test(datacenter)) return datacenter.toLowerCase();
  problems.push("QUALTRICS_DATACENTER must be a datacenter id such as iad1 or fra1");
  return undefined;
}

function parseScopes(env: Env, problems: string[]): string {
  const raw = value(env, "QUALTRICS_OAUTH_SCOPES");
  if (raw === undefined) return DEFAULT_OAUTH_SCOPES;
  const scopes = raw.split(/\s+/);
  const bad = scopes.filter((scope) => !SCOPE_TOKEN.test(scope));
  if (bad.length > 0) {
    problems.push(
      `QUALTRICS_OAUTH_SCOPES must be scopes separated by spaces (not valid: ${bad.join(", ")})`,
    );
  }
  return scopes.join(" ");
}

/**
 * Where OAuth tokens come from: the datacenter's own host when the datacenter is known, since a
 * brand (vanity) host serves the API but not the token endpoint; else beside the API (a local fake).
 */
function tokenUrl(baseUrl: string, datacenter: string | undefined): string {
  const host = datacenter ? `https://${datacenter}.qualtrics.com` : new URL(baseUrl).origin;
  return `${host}/oauth2/token`;
}

function parseAuth(
  env: Env,
  where: { baseUrl: string | undefined; datacenter: string | undefined },
  problems: string[],
): QualtricsAuth | undefined {
  const apiToken = value(env, "QUALTRICS_API_TOKEN");
  if (apiToken) return { apiToken };
  const clientId = value(env, "QUALTRICS_CLIENT_ID");
  const clientSecret = value(env, "QUALTRICS_CLIENT_SECRET");
  if (!clientId && !clientSecret) return undefined;
  if (!clientId) problems.push("QUALTRICS_CLIENT_ID is not set (QUALTRICS_CLIENT_SECRET is)");
  if (!clientSecret) problems.push("QUALTRICS_CLIENT_SECRET is not set (QUALTRICS_CLIENT_ID is)");
  const scope = parseScopes(env, problems);
  if (!clientId || !clientSecret || !where.baseUrl) return undefined;
  return {
    oauth: { tokenUrl: tokenUrl(where.baseUrl, where.datacenter), clientId, clientSecret, scope },
  };
}

function parseId(
  env: Env,
  name: "QUALTRICS_DIRECTORY_ID" | "QUALTRICS_MAILING_LIST_ID",
  problems: string[],
) {
  const id = value(env, name);
  if (id && !QUALTRICS_ID.test(id)) {
    problems.push(`${name} must be a Qualtrics id (letters, digits, _ or -)`);
  }
  return id;
}

function wholeNumber(
  env: Env,
  name: "QUALTRICS_MAX_CALLS_PER_RUN" | "QUALTRICS_POLL_INTERVAL_MS",
  fallback: number,
  min: number,
  problems: string[],
): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= min) return n;
  problems.push(`${name} must be a whole number ≥ ${min}`);
  return fallback;
}

/**
 * Reads the Qualtrics settings. Throws one `ConfigError` listing every problem of a malformed or
 * half-done setup.
 *
 * @example
 * const setup = parseQualtricsSettings(env);
 * if (!setup.configured) console.log(setup.reason);
 */
export function parseQualtricsSettings(env: Env): QualtricsSetup {
  if (VARIABLES.every((name) => value(env, name) === undefined)) {
    return { configured: false, reason: NOT_CONFIGURED_REASON };
  }
  const problems: string[] = [];
  const datacenter = parseDatacenter(env, problems);
  const baseUrl = parseBaseUrl(env, datacenter, problems);
  const auth = parseAuth(env, { baseUrl, datacenter }, problems);
  const directoryId = parseId(env, "QUALTRICS_DIRECTORY_ID", problems);
  const mailingListId = parseId(env, "QUALTRICS_MAILING_LIST_ID", problems);
  const maxCallsPerRun = wholeNumber(
    env,
    "QUALTRICS_MAX_CALLS_PER_RUN",
    DEFAULT_MAX_CALLS_PER_RUN,
    10,
    problems,
  );
  const pollIntervalMs = wholeNumber(
    env,
    "QUALTRICS_POLL_INTERVAL_MS",
    DEFAULT_POLL_INTERVAL_MS,
    0,
    problems,
  );
  const hasCredentials =
    value(env, "QUALTRICS_API_TOKEN") ??
    value(env, "QUALTRICS_CLIENT_ID") ??
    value(env, "QUALTRICS_CLIENT_SECRET");
  const hasBase = value(env, "QUALTRICS_BASE_URL") ?? value(env, "QUALTRICS_DATACENTER");
  const missing = [
    hasBase ? null : "QUALTRICS_BASE_URL (or QUALTRICS_DATACENTER)",
    hasCredentials
      ? null
      : "QUALTRICS_API_TOKEN (or QUALTRICS_CLIENT_ID and QUALTRICS_CLIENT_SECRET)",
    directoryId ? null : "QUALTRICS_DIRECTORY_ID",
    mailingListId ? null : "QUALTRICS_MAILING_LIST_ID",
  ].filter((m): m is string => m !== null);
  if (missing.length > 0) {
    problems.unshift(`Qualtrics is partly configured; missing ${missing.join(", ")}`);
  }
  if (problems.length > 0 || !baseUrl || !auth || !directoryId || !mailingListId) {
    throw new ConfigError(problems);
  }
  return {
    configured: true,
    settings: { baseUrl, auth, directoryId, mailingListId, maxCallsPerRun, pollIntervalMs },
  };
}
