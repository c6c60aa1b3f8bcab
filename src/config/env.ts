/**
 * Every binding, variable and secret the Worker reads. wrangler.toml declares the bindings and the
 * variables (with their development values, each explained there); `wrangler types` writes them
 * as `Cloudflare.Env` into worker-configuration.d.ts (`npm run types` after editing wrangler.toml;
 * `npm run types:check` fails while it is stale). This file adds only what wrangler.toml cannot
 * declare. Values arrive as strings (or, for [vars] tables, as JSON objects); `config.ts` beside it
 * parses them with zod. docs/configuration.md is the operators' reference for all of them.
 */

/** What wrangler.toml declares (generated). */
type Declared = Cloudflare.Env;

/**
 * What wrangler.toml cannot declare: shards past the ones bound locally, and the settings and
 * secrets that have no development value (a deployment sets them, or leaves them out).
 */
export interface Undeclared {
  /**
   * D1: ledger shards 1 … LEDGER_SHARDS-1 (`DB_1`, `DB_2`, …), migrated like DB. Locally DB_1 …
   * DB_7 are bound; production binds as many as `npm run provision-shards` made.
   */
  [shard: `DB_${number}`]: D1Database | undefined;
  /**
   * Earlier LEDGER_SHARDS values (comma-separated) that retried issue calls also check, beyond
   * the shard-count history's: for counts served before the history was kept.
   */
  LEDGER_SHARDS_PREVIOUS?: string;

  // Surveys
  /** Extra hosts allowed for anonymous links besides *.qualtrics.com (comma-separated or JSON array). */
  ALLOWED_SURVEY_HOSTS?: string | string[];

  // Who gets invited (src/config/contact-rules.ts, docs/contact-rules.md)
  /** A JSON array of rules (or a [vars] array of tables); none: every trigger is invited. */
  CONTACT_RULES?: string | unknown[];

  // The customer's pages (src/config/brand.ts, docs/configuration.md)
  /**
   * `{"name", "logoUrl"?, "color"?, "helpUrl"?, "helpText"?}`: a JSON object (a [vars] table) or
   * a JSON string. A bad value leaves the pages unbranded and is reported, never fatal.
   */
  BRAND?: string | Record<string, unknown>;
  /** Hosts besides PUBLIC_BASE_URL's a BRAND logo may come from (comma-separated or JSON array). */
  ALLOWED_LOGO_HOSTS?: string | string[];

  // Webhooks (src/config/webhooks.ts, docs/webhooks.md)
  /**
   * Secret: `[{"id", "url", "events", "secret": "whsec_…"}]` as a JSON string (or a [vars] array
   * locally). Unset: no events are sent. A bad value is reported, never fatal: events wait.
   */
  WEBHOOKS?: string | unknown[];

  // Qualtrics reconciliation (src/config/qualtrics.ts). None set: reconcile runs are skipped.
  /** API base, e.g. `https://iad1.qualtrics.com/API/v3`; default derived from QUALTRICS_DATACENTER. */
  QUALTRICS_BASE_URL?: string;
  /** Datacenter id (`iad1`, `fra1`, …) when QUALTRICS_BASE_URL is not set. */
  QUALTRICS_DATACENTER?: string;
  /** Secret: sent as `X-API-TOKEN`. Or use the OAuth client credentials below. */
  QUALTRICS_API_TOKEN?: string;
  /**
   * OAuth client credentials; the token comes from `https://<datacenter>.qualtrics.com/oauth2/token`
   * (from the base URL's host when no datacenter is set).
   */
  QUALTRICS_CLIENT_ID?: string;
  /** Secret. */
  QUALTRICS_CLIENT_SECRET?: string;
  /** OAuth scopes to ask for, space-separated (default the four reconcile uses). */
  QUALTRICS_OAUTH_SCOPES?: string;
  /** XM Directory (`POOL_…`) and its mailing list (`CG_…`) that receive one transaction per invite. */
  QUALTRICS_DIRECTORY_ID?: string;
  QUALTRICS_MAILING_LIST_ID?: string;
  /** Qualtrics requests one reconcile run may send, retries included (default 300). */
  QUALTRICS_MAX_CALLS_PER_RUN?: string;
  /** Milliseconds between two polls of an import, export or update job (default 2000). */
  QUALTRICS_POLL_INTERVAL_MS?: string;
}

/**
 * The Worker's env: the storage it cannot run without (LINKS, DB), and everything else optional.
 * A deployment may drop a variable (config.ts has its default), a rate limiter (that limit is
 * off) or a secret (the configuration error names it).
 */
export interface Env
  extends Pick<Declared, "LINKS" | "DB">,
    Partial<Omit<Declared, "LINKS" | "DB">>,
    Undeclared {}
