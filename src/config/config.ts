/**
 * Settings parsed from `env` with zod. A bad configuration fails loudly for the operator with
 * every problem at once, each naming the variable (and, for surveys, the survey and field); the
 * public never sees them (src/service/misconfigured.ts). Parsing happens once per isolate per `env`
 * object, not on every request, because the tap path is latency-critical.
 */
import { z } from "zod";
import { log } from "../core/log";
import { type BrandSetup, parseBrand } from "./brand";
import { type ContactSettings, parseContactSettings } from "./contact-rules";
import type { Env } from "./env";
import { Problems, parseHostList } from "./parsing";

export class ConfigError extends Error {
  override name = "ConfigError";
  /** Every problem found, each naming its variable. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.join("; "));
    this.problems = list;
  }
}

/** "production" requires PUBLIC_BASE_URL: links never take the host of whoever called the API. */
const ENVIRONMENTS = ["development", "production"] as const;

/** Query parameters invite-edge itself puts on the survey link; surveys may not declare them. */
export const RESERVED_PARAMS = ["customer_id", "transaction_id", "trigger", "inv", "sig"] as const;

/** How the invite's values reach the survey (docs/survey-modes.md). */
const SURVEY_MODES = ["query", "eed", "webservice"] as const;

const fieldName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "must be a letter then letters, digits or _ (max 64)")
  .refine((name) => !(RESERVED_PARAMS as readonly string[]).includes(name), {
    message: `is reserved (${RESERVED_PARAMS.join(", ")})`,
  })
  // Q_EED, Q_Language and their kin are Qualtrics' own link parameters.
  .refine((name) => !name.startsWith("Q_"), { message: "must not start with Q_ (Qualtrics')" });

const surveySchema = z
  .object({
    url: z.url({ message: "must be an absolute URL" }),
    fields: z.array(fieldName).max(100).default([]),
    mode: z.enum(SURVEY_MODES).default("query"),
    confirm: z.boolean().default(false),
    defaultTtlSeconds: z
      .number()
      .int()
      .min(60)
      .default(7 * 86_400),
    maxTtlSeconds: z
      .number()
      .int()
      .min(60)
      .default(30 * 86_400),
    qualtricsSurveyId: z
      .string()
      .regex(/^SV_[A-Za-z0-9]+$/, "must look like SV_…")
      .optional(),
    /**
     * Minutes after the first open during which a tap from another browser on the same device
     * (same network address, same OS family and device class) re-opens the survey; 0: off, the
     * link is strictly single use (docs/tap.md).
     */
    sameDeviceMinutes: z.number().int().min(0).max(1440).default(0),
    /**
     * Minutes after issue when an invite still unopened (and not completed, revoked or expired)
     * gets one `invite.reminder_due` event (docs/webhooks.md); absent: no reminders.
     */
    reminderAfterMinutes: z.number().int().min(1).optional(),
    /**
     * The share of customers who get this survey, in (0, 1]; sticky per customer through a hash of
     * (survey, sampleSeed, customer) (docs/contact-rules.md).
     */
    sample: z.number().gt(0, "must be more than 0").max(1, "must be at most 1").default(1),
    sampleSeed: z.string().max(64).default(""),
    /** At most this many invites of the survey per UTC day (docs/contact-rules.md). */
    dailyCap: z.number().int("must be a whole number").min(1, "must be at least 1").optional(),
  })
  .strict()
  .refine((s) => s.defaultTtlSeconds <= s.maxTtlSeconds, {
    message: "must not exceed maxTtlSeconds",
    path: ["defaultTtlSeconds"],
  });

export type Survey = z.infer<typeof surveySchema> & { key: string };

const surveyKey = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "survey keys are a-z, 0-9, - or _");

/** `admin` holds every scope (see `requireScope`), `privacy` included. */
export const scopes = [
  "links:write",
  "links:read",
  "stats:read",
  "privacy",
  "optouts:write",
  "admin",
] as const;
export type Scope = (typeof scopes)[number];

const apiKeySchema = z
  .object({
    id: z.string().min(1).max(64),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256"),
    scopes: z.array(z.enum(scopes)).min(1),
  })
  .strict();
export type ApiKey = z.infer<typeof apiKeySchema>;

const signingKeySchema = z.looseObject({
  kid: z.string().min(1).max(64),
  alg: z.enum(["ES256", "EdDSA"]),
  kty: z.string(),
  d: z.string({ message: "must be a private key (d)" }),
});
export type SigningJwk = z.infer<typeof signingKeySchema>;

export interface Config {
  environment: (typeof ENVIRONMENTS)[number];
  surveys: ReadonlyMap<string, Survey>;
  apiKeys: readonly ApiKey[];
  signingKeys: readonly SigningJwk[];
  issuer: string;
  audience: string;
  cookieSecret: string;
  webserviceSecret: string;
  publicBaseUrl: string | undefined;
  rateLimitsOn: boolean;
  retentionDays: number;
  /** Ledger shards new invites spread over; shard i is binding `shardBinding(i)`. */
  ledgerShards: number;
  /** Earlier shard counts whose placements a retried issue call is checked against. */
  previousLedgerShards: number[];
  /** What the customer's pages carry; a bad BRAND is left out, its problems kept here. */
  brand: BrandSetup;
  /** Contact rules and the customer hash key; their problems stop issuing alone. */
  contact: ContactSettings;
}

/** Shards an invite id can name (two base64url characters: 64²). */
export const MAX_SHARDS = 4096;

/** The D1 binding of ledger shard `index`: DB for shard 0, then DB_1, DB_2, … */
export const shardBinding = (index: number): "DB" | `DB_${number}` =>
  index === 0 ? "DB" : `DB_${index}`;

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Anonymous links must be https on a Qualtrics host, or on a host the operator allow-listed. */
function checkSurveyUrl(problems: Problems, key: string, url: string, allowedHosts: string[]) {
  const parsed = new URL(url);
  const allowListed = allowedHosts.includes(parsed.host) || allowedHosts.includes(parsed.hostname);
  const qualtrics =
    parsed.hostname === "qualtrics.com" || parsed.hostname.endsWith(".qualtrics.com");
  const where = `SURVEYS.${key}.url`;
  if (!qualtrics && !allowListed) {
    problems.add(
      `${where}: host ${parsed.hostname} must end in qualtrics.com or be listed in ALLOWED_SURVEY_HOSTS`,
    );
  }
  // Plain http only for an allow-listed loopback stand-in (browser tests), never for real hosts.
  if (parsed.protocol !== "https:" && !(allowListed && LOOPBACK.has(parsed.hostname))) {
    problems.add(`${where}: must use https`);
  }
  if (parsed.username || parsed.password) problems.add(`${where}: must not carry credentials`);
}

function parseSurveys(problems: Problems, env: Env): Map<string, Survey> {
  const surveys = new Map<string, Survey>();
  const raw = problems.parse("SURVEYS", z.record(z.string(), z.unknown()), env.SURVEYS ?? {});
  const allowedHosts = parseHostList(problems, "ALLOWED_SURVEY_HOSTS", env.ALLOWED_SURVEY_HOSTS);
  for (const [key, value] of Object.entries(raw ?? {})) {
    const keyCheck = surveyKey.safeParse(key);
    if (!keyCheck.success) problems.add(`SURVEYS.${key}: ${keyCheck.error.issues[0]?.message}`);
    const survey = problems.parse(`SURVEYS.${key}`, surveySchema, value);
    if (!survey) {
      // Every problem at once: a bad mode or field must not hide the same survey's bad URL.
      const url = typeof value === "object" && value !== null ? Reflect.get(value, "url") : null;
      if (typeof url === "string" && z.url().safeParse(url).success) {
        checkSurveyUrl(problems, key, url, allowedHosts);
      }
      continue;
    }
    checkSurveyUrl(problems, key, survey.url, allowedHosts);
    surveys.set(key, { ...survey, key });
  }
  return surveys;
}

function parseSigningKeys(problems: Problems, env: Env): SigningJwk[] {
  const keys =
    problems.parse("SIGNING_KEYS", z.array(signingKeySchema).min(1), env.SIGNING_KEYS) ?? [];
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) {
    problems.add("SIGNING_KEYS: kid values must be unique");
  }
  return keys;
}

function parseEnvironment(problems: Problems, value: string | undefined): Config["environment"] {
  const parsed = z.enum(ENVIRONMENTS).safeParse(value || "development");
  if (parsed.success) return parsed.data;
  problems.add(`ENVIRONMENT must be ${ENVIRONMENTS.join(" or ")}`);
  return "production"; // the stricter checks, until the value is fixed
}

/** The origin of issued links: required in production, where the caller's Host must not count. */
function parsePublicBaseUrl(
  problems: Problems,
  env: Env,
  environment: Config["environment"],
): string | undefined {
  const value = env.PUBLIC_BASE_URL;
  if (!value) {
    if (environment === "production") {
      problems.add("PUBLIC_BASE_URL is not set (required when ENVIRONMENT is production)");
    }
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.add("PUBLIC_BASE_URL must be an absolute URL such as https://links.example.com");
    return undefined;
  }
  const httpsOnly = environment === "production";
  if (url.protocol !== "https:" && (httpsOnly || url.protocol !== "http:")) {
    problems.add(`PUBLIC_BASE_URL must use https${httpsOnly ? " in production" : " or http"}`);
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") {
    problems.add(
      "PUBLIC_BASE_URL must be an origin only (no path, query, fragment or credentials)",
    );
  }
  return url.origin;
}

function shardCount(problems: Problems, variable: string, value: string): number {
  const count = Number(value);
  if (Number.isInteger(count) && count >= 1 && count <= MAX_SHARDS) return count;
  problems.add(`${variable} must be a whole number from 1 to ${MAX_SHARDS}`);
  return 1;
}

/** LEDGER_SHARDS, checked against the bindings: every shard must be bound. */
function parseShards(
  problems: Problems,
  env: Env,
): Pick<Config, "ledgerShards" | "previousLedgerShards"> {
  const ledgerShards = shardCount(problems, "LEDGER_SHARDS", env.LEDGER_SHARDS || "1");
  const missing: string[] = [];
  for (let i = 1; i < ledgerShards; i++) if (!env[shardBinding(i)]) missing.push(shardBinding(i));
  if (missing.length > 0) {
    problems.add(
      `LEDGER_SHARDS is ${ledgerShards} but no D1 database is bound as ${missing.join(", ")}`,
    );
  }
  const previousLedgerShards = (env.LEDGER_SHARDS_PREVIOUS ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => shardCount(problems, "LEDGER_SHARDS_PREVIOUS", v));
  if (previousLedgerShards.some((count) => count > ledgerShards)) {
    // A lower count would strand the links of the shards it drops.
    problems.add("LEDGER_SHARDS_PREVIOUS: earlier counts must not exceed LEDGER_SHARDS");
  }
  return { ledgerShards, previousLedgerShards };
}

/** Parses every setting; throws one `ConfigError` listing every problem found. */
export function parseConfig(env: Env): Config {
  const problems = new Problems();
  const environment = parseEnvironment(problems, env.ENVIRONMENT);
  let signingKeys: readonly SigningJwk[] = [];
  try {
    signingKeys = getSigningKeys(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) problems.add(problem);
  }
  const retention = Number(env.RETENTION_DAYS ?? "90");
  if (!Number.isInteger(retention) || retention < 1) {
    problems.add("RETENTION_DAYS must be a whole number of days ≥ 1");
  }
  const cookieSecret = problems.required("COOKIE_SECRET", env.COOKIE_SECRET);
  if (cookieSecret && cookieSecret.length < 16) {
    problems.add("COOKIE_SECRET must be at least 16 characters");
  }
  const publicBaseUrl = parsePublicBaseUrl(problems, env, environment);
  // Its own problems: a bad BRAND leaves the pages unbranded, it does not stop the service.
  const brandProblems = new Problems();
  const brand = parseBrand(brandProblems, env, publicBaseUrl);
  const surveys = parseSurveys(problems, env);
  const config: Config = {
    environment,
    surveys,
    apiKeys: problems.parse("API_KEYS", z.array(apiKeySchema), env.API_KEYS ?? []) ?? [],
    signingKeys,
    issuer: env.TOKEN_ISSUER || "invite-edge",
    audience: env.TOKEN_AUDIENCE || "invite-edge:tap",
    cookieSecret,
    webserviceSecret: problems.required("WEBSERVICE_SECRET", env.WEBSERVICE_SECRET),
    publicBaseUrl,
    rateLimitsOn: (env.RATE_LIMITS ?? "on").toLowerCase() !== "off",
    retentionDays: retention,
    ...parseShards(problems, env),
    brand: { brand, problems: brandProblems.list },
    contact: parseContactSettings(env, new Set(surveys.keys())),
  };
  if (problems.list.length > 0) throw new ConfigError(problems.list);
  return config;
}

/** Parsed once per `env` (a failure is kept too), like the whole configuration. */
const signingKeysCache = new WeakMap<Env, readonly SigningJwk[] | ConfigError>();

/**
 * SIGNING_KEYS alone, for what must answer whatever else is wrong (the public JWKS). The config
 * holds this same array, so both share one imported key ring.
 */
export function getSigningKeys(env: Env): readonly SigningJwk[] {
  let entry = signingKeysCache.get(env);
  if (!entry) {
    const problems = new Problems();
    const keys = parseSigningKeys(problems, env);
    entry = problems.list.length > 0 ? new ConfigError(problems.list) : keys;
    signingKeysCache.set(env, entry);
  }
  if (entry instanceof ConfigError) throw entry;
  return entry;
}

const cache = new WeakMap<Env, Config | ConfigError>();

/** The parsed config for this `env`, parsed on first use in the isolate (a failure is kept too). */
export function getConfig(env: Env): Config {
  let entry = cache.get(env);
  if (!entry) {
    try {
      entry = parseConfig(env);
      const { problems } = entry.brand;
      if (problems.length > 0) log("brand_invalid", { problems: problems.join("; ") });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      entry = error;
    }
    cache.set(env, entry);
  }
  if (entry instanceof ConfigError) throw entry;
  return entry;
}
