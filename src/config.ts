/**
 * Settings parsed from `env` with zod. A bad setting fails loudly with a message naming the
 * variable (and, for surveys, the survey and field). Parsing happens once per isolate per `env`
 * object, not on every request, because the tap path is latency-critical.
 */
import { z } from "zod";
import type { Env } from "./env";
import { MAX_SHARDS } from "./tokens/ids";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Query parameters invite-edge itself puts on the survey link; surveys may not declare them. */
export const RESERVED_PARAMS = ["customer_id", "transaction_id", "trigger", "inv", "sig"] as const;

const fieldName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "must be a letter then letters, digits or _ (max 64)")
  .refine((name) => !(RESERVED_PARAMS as readonly string[]).includes(name), {
    message: `is reserved (${RESERVED_PARAMS.join(", ")})`,
  });

const surveySchema = z
  .object({
    url: z.url({ message: "must be an absolute URL" }),
    fields: z.array(fieldName).max(100).default([]),
    mode: z.enum(["query", "webservice"]).default("query"),
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
export const scopes = ["links:write", "links:read", "stats:read", "privacy", "admin"] as const;
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
}

/** The D1 binding of ledger shard `index`: DB for shard 0, then DB_1, DB_2, … */
export const shardBinding = (index: number): "DB" | `DB_${number}` =>
  index === 0 ? "DB" : `DB_${index}`;

/** Accepts a value that is either already JSON-decoded (a [vars] table) or a JSON string. */
function jsonValue(variable: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(`${variable} is not valid JSON`);
  }
}

function describe(variable: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = [variable, ...issue.path.map(String)].join(".");
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}

function parseWith<T>(variable: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(jsonValue(variable, value));
  if (!result.success) throw new ConfigError(describe(variable, result.error));
  return result.data;
}

function parseHostList(value: Env["ALLOWED_SURVEY_HOSTS"]): string[] {
  if (value === undefined || value === "") return [];
  if (Array.isArray(value)) return value.map(String);
  const trimmed = value.trim();
  if (trimmed.startsWith("[")) return parseWith("ALLOWED_SURVEY_HOSTS", z.array(z.string()), value);
  return trimmed
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Anonymous links must be https on a Qualtrics host, or on a host the operator allow-listed. */
function checkSurveyUrl(key: string, url: string, allowedHosts: string[]): void {
  const parsed = new URL(url);
  const allowListed = allowedHosts.includes(parsed.host) || allowedHosts.includes(parsed.hostname);
  const qualtrics =
    parsed.hostname === "qualtrics.com" || parsed.hostname.endsWith(".qualtrics.com");
  const where = `SURVEYS.${key}.url`;
  if (!qualtrics && !allowListed) {
    throw new ConfigError(
      `${where}: host ${parsed.hostname} must end in qualtrics.com or be listed in ALLOWED_SURVEY_HOSTS`,
    );
  }
  // Plain http only for an allow-listed loopback stand-in (browser tests), never for real hosts.
  if (parsed.protocol !== "https:" && !(allowListed && LOOPBACK.has(parsed.hostname))) {
    throw new ConfigError(`${where}: must use https`);
  }
  if (parsed.username || parsed.password)
    throw new ConfigError(`${where}: must not carry credentials`);
}

function parseSurveys(env: Env): Map<string, Survey> {
  const raw = parseWith("SURVEYS", z.record(z.string(), z.unknown()), env.SURVEYS ?? {});
  const allowedHosts = parseHostList(env.ALLOWED_SURVEY_HOSTS);
  const surveys = new Map<string, Survey>();
  for (const [key, value] of Object.entries(raw)) {
    const keyCheck = surveyKey.safeParse(key);
    if (!keyCheck.success)
      throw new ConfigError(`SURVEYS.${key}: ${keyCheck.error.issues[0]?.message}`);
    const survey = parseWith(`SURVEYS.${key}`, surveySchema, value);
    checkSurveyUrl(key, survey.url, allowedHosts);
    surveys.set(key, { ...survey, key });
  }
  return surveys;
}

function requireString(variable: string, value: string | undefined): string {
  if (!value) throw new ConfigError(`${variable} is not set`);
  return value;
}

function shardCount(variable: string, value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new ConfigError(`${variable} must be a whole number from 1 to ${MAX_SHARDS}`);
  }
  return count;
}

/** LEDGER_SHARDS, checked against the bindings: every shard must be bound. */
function parseShards(env: Env): Pick<Config, "ledgerShards" | "previousLedgerShards"> {
  const ledgerShards = shardCount("LEDGER_SHARDS", env.LEDGER_SHARDS || "1");
  const missing: string[] = [];
  for (let i = 1; i < ledgerShards; i++) if (!env[shardBinding(i)]) missing.push(shardBinding(i));
  if (missing.length > 0) {
    throw new ConfigError(
      `LEDGER_SHARDS is ${ledgerShards} but no D1 database is bound as ${missing.join(", ")}`,
    );
  }
  const previousLedgerShards = (env.LEDGER_SHARDS_PREVIOUS ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => shardCount("LEDGER_SHARDS_PREVIOUS", v));
  if (previousLedgerShards.some((count) => count > ledgerShards)) {
    // A lower count would strand the links of the shards it drops.
    throw new ConfigError("LEDGER_SHARDS_PREVIOUS: earlier counts must not exceed LEDGER_SHARDS");
  }
  return { ledgerShards, previousLedgerShards };
}

export function parseConfig(env: Env): Config {
  const signingKeys = parseWith("SIGNING_KEYS", z.array(signingKeySchema).min(1), env.SIGNING_KEYS);
  const kids = new Set(signingKeys.map((k) => k.kid));
  if (kids.size !== signingKeys.length)
    throw new ConfigError("SIGNING_KEYS: kid values must be unique");
  const retention = Number(env.RETENTION_DAYS ?? "90");
  if (!Number.isInteger(retention) || retention < 1) {
    throw new ConfigError("RETENTION_DAYS must be a whole number of days ≥ 1");
  }
  const cookieSecret = requireString("COOKIE_SECRET", env.COOKIE_SECRET);
  if (cookieSecret.length < 16)
    throw new ConfigError("COOKIE_SECRET must be at least 16 characters");
  return {
    surveys: parseSurveys(env),
    apiKeys: parseWith("API_KEYS", z.array(apiKeySchema), env.API_KEYS ?? []),
    signingKeys,
    issuer: env.TOKEN_ISSUER || "invite-edge",
    audience: env.TOKEN_AUDIENCE || "invite-edge:tap",
    cookieSecret,
    webserviceSecret: requireString("WEBSERVICE_SECRET", env.WEBSERVICE_SECRET),
    publicBaseUrl: env.PUBLIC_BASE_URL ? new URL(env.PUBLIC_BASE_URL).origin : undefined,
    rateLimitsOn: (env.RATE_LIMITS ?? "on").toLowerCase() !== "off",
    retentionDays: retention,
    ...parseShards(env),
  };
}

const cache = new WeakMap<Env, Config>();

/** The parsed config for this `env`, parsed on first use in the isolate. */
export function getConfig(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    config = parseConfig(env);
    cache.set(env, config);
  }
  return config;
}
