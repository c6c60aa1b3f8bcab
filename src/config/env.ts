/**
 * Every binding, variable and secret the Worker reads, in one place. Values arrive as strings
 * (or, for [vars] tables in wrangler.toml, as JSON objects); `config.ts` beside it parses them with zod.
 */
export interface Env {
  // Storage
  /** KV: invite id → compact JWS, with an expiration; metadata carries the consumed mark. */
  LINKS: KVNamespace;
  /**
   * D1: ledger shard 0 (invites, click events, stats rollups) and the control tables (reconcile
   * runs, imports and exports). With one shard, the whole ledger.
   */
  DB: D1Database;
  /** D1: ledger shards 1 … LEDGER_SHARDS-1 (`DB_1`, `DB_2`, …), migrated like DB. */
  [shard: `DB_${number}`]: D1Database | undefined;
  /**
   * How many ledger shards new invites spread over (default 1). Raise it; never lower it: a count
   * below one served before is a configuration error (src/store/shard-counts.ts).
   */
  LEDGER_SHARDS?: string;
  /**
   * Earlier LEDGER_SHARDS values (comma-separated) that retried issue calls also check, beyond
   * the shard-count history's: for counts served before the history was kept.
   */
  LEDGER_SHARDS_PREVIOUS?: string;

  // Rate limiting (Workers Rate Limiting bindings; the policy is docs/rate-limits.md)
  /** Taps per client address and link. */
  TAP_LINK_LIMITER?: RateLimit;
  /** Taps per client address, every link: a ceiling far above a venue's crowd. */
  TAP_ADDRESS_LIMITER?: RateLimit;
  /** Taps on unknown or malformed ids per client address. */
  TAP_MISS_LIMITER?: RateLimit;
  /** Wrong X-Webservice-Secret values per client address. */
  WEBSERVICE_LIMITER?: RateLimit;
  /** Issue calls per API key. */
  ISSUE_LIMITER?: RateLimit;
  /** "off" disables every limiter (benchmarks, load tests). */
  RATE_LIMITS?: string;

  // Tokens and links
  /** Secret: JSON array of private JWKs (ES256 or EdDSA) with `kid`; the last signs, all verify. */
  SIGNING_KEYS: string | unknown[];
  TOKEN_ISSUER?: string;
  TOKEN_AUDIENCE?: string;
  /**
   * Secret: HMAC key for the cookie that lets the first browser re-open its link; a key derived
   * from it hashes customer ids of running erasures (src/privacy/subject.ts).
   */
  COOKIE_SECRET: string;
  /** "development" (default) or "production"; production requires PUBLIC_BASE_URL. */
  ENVIRONMENT?: string;
  /**
   * Origin used in issued URLs. Required in production; in development it defaults to the origin
   * the issue call arrived on.
   */
  PUBLIC_BASE_URL?: string;

  // Surveys
  /** Survey registry: JSON object (a [vars] table) or a JSON string (`--var SURVEYS:…`). */
  SURVEYS: string | Record<string, unknown>;
  /** Extra hosts allowed for anonymous links besides *.qualtrics.com (comma-separated or JSON array). */
  ALLOWED_SURVEY_HOSTS?: string | string[];

  // Callers
  /** Secret: JSON array of `{id, sha256, scopes}`; the key itself is never stored. */
  API_KEYS: string | unknown[];
  /** Secret: header value the survey's Web Service element sends to read invite data. */
  WEBSERVICE_SECRET: string;

  // Privacy
  /** Days after issue when customer ids and embedded data are deleted from the ledger (default 90). */
  RETENTION_DAYS?: string;

  // Qualtrics reconciliation (src/config/qualtrics.ts). None set: reconcile runs are skipped.
  /** API base, e.g. `https://iad1.qualtrics.com/API/v3`; default derived from QUALTRICS_DATACENTER. */
  QUALTRICS_BASE_URL?: string;
  /** Datacenter id (`iad1`, `fra1`, …) when QUALTRICS_BASE_URL is not set. */
  QUALTRICS_DATACENTER?: string;
  /** Secret: sent as `X-API-TOKEN`. Or use the OAuth client credentials below. */
  QUALTRICS_API_TOKEN?: string;
  /** OAuth client credentials (token from `https://<host>/oauth2/token`). */
  QUALTRICS_CLIENT_ID?: string;
  /** Secret. */
  QUALTRICS_CLIENT_SECRET?: string;
  /** XM Directory (`POOL_…`) and its mailing list (`CG_…`) that receive one transaction per invite. */
  QUALTRICS_DIRECTORY_ID?: string;
  QUALTRICS_MAILING_LIST_ID?: string;
  /** Qualtrics requests one reconcile run may send, retries included (default 300). */
  QUALTRICS_MAX_CALLS_PER_RUN?: string;
  /** Milliseconds between two polls of an import, export or update job (default 2000). */
  QUALTRICS_POLL_INTERVAL_MS?: string;
}
