/**
 * The configuration check behind `npm run check-config` and `npm start`: every setting run through
 * the Worker's own parsers, every problem listed at once. Secrets that were not given (production
 * secrets live in Cloudflare, not in the repository) are reported as "not checked", never as
 * problems; variables near Cloudflare's 5 KB limit per variable are flagged.
 */
import { parseBrand } from "./brand";
import { ConfigError, parseConfig } from "./config";
import { parseContactSettings } from "./contact-rules";
import type { Env } from "./env";
import { Problems } from "./parsing";
import { parseQualtricsSettings } from "./qualtrics";
import { parseWebhooks } from "./webhooks";

/** Settings deployed as secrets (`wrangler secret put`), not as [vars]. */
export const SECRET_NAMES = [
  "API_KEYS",
  "SIGNING_KEYS",
  "COOKIE_SECRET",
  "WEBSERVICE_SECRET",
  "CUSTOMER_HASH_KEY",
  "QUALTRICS_API_TOKEN",
  "QUALTRICS_CLIENT_SECRET",
  "WEBHOOKS",
] as const;

/**
 * Plain-string secrets: only their presence can be checked without them, so a stand-in of the
 * right shape lets every other setting be checked (a JSON secret's problems are set aside).
 */
const STAND_INS: Partial<Record<(typeof SECRET_NAMES)[number], string>> = {
  COOKIE_SECRET: "not-checked-stand-in-value",
  WEBSERVICE_SECRET: "not-checked",
  CUSTOMER_HASH_KEY: "not-checked-stand-in-value",
};

/** The Qualtrics settings that are not secrets: any of them set means reconcile is meant to run. */
const QUALTRICS_VARS = [
  "QUALTRICS_BASE_URL",
  "QUALTRICS_DATACENTER",
  "QUALTRICS_CLIENT_ID",
  "QUALTRICS_DIRECTORY_ID",
  "QUALTRICS_MAILING_LIST_ID",
];

/** JSON settings that can grow with use; Cloudflare takes at most 5 KB per variable. */
const SIZE_LIMITED = ["SURVEYS", "CONTACT_RULES", "WEBHOOKS", "BRAND"];
const VARIABLE_LIMIT_BYTES = 5 * 1024;
const WARN_FROM_BYTES = 4 * 1024;

interface ConfigCheck {
  /** Each problem, naming its variable (as the Worker's log does). */
  problems: string[];
  /** Secrets that were not given, so not checked. */
  notChecked: string[];
  /** What works today but will not for long (a variable near its size limit). */
  warnings: string[];
}

/** The variable a problem names: its message starts with it (`SURVEYS.demo.url: …`). */
const variableOf = (problem: string) => /^[A-Z][A-Z0-9_]*/.exec(problem)?.[0] ?? "";

function sizeFindings(env: Env, check: ConfigCheck): void {
  const encoder = new TextEncoder();
  for (const name of SIZE_LIMITED) {
    const value: unknown = Reflect.get(env, name);
    if (value === undefined) continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const bytes = encoder.encode(text).byteLength;
    const size = `${(bytes / 1024).toFixed(1)} KB`;
    if (bytes > VARIABLE_LIMIT_BYTES) {
      check.problems.push(`${name} is ${size}: over Cloudflare's 5 KB limit per variable`);
    } else if (bytes >= WARN_FROM_BYTES) {
      check.warnings.push(`${name} is ${size}, near Cloudflare's 5 KB limit per variable`);
    }
  }
}

/** The survey keys SURVEYS names (however broken its surveys), for the rules that list some. */
function surveyKeys(env: Env): Set<string> {
  let value: unknown = env.SURVEYS;
  try {
    if (typeof value === "string") value = JSON.parse(value);
  } catch {
    return new Set();
  }
  return new Set(typeof value === "object" && value !== null ? Object.keys(value) : []);
}

/**
 * Checks `env` as the Worker would parse it. `given` names the secrets that were supplied; the
 * others are reported as not checked.
 *
 * @example checkConfiguration(vars, new Set(["API_KEYS"])).problems // ["SURVEYS.demo.mode: …"]
 */
export function checkConfiguration(env: Env, given: ReadonlySet<string>): ConfigCheck {
  const qualtricsSetUp = QUALTRICS_VARS.some((name) => Boolean(Reflect.get(env, name)));
  const qualtricsCredentials: readonly string[] = [
    "QUALTRICS_API_TOKEN",
    "QUALTRICS_CLIENT_SECRET",
  ];
  // Qualtrics' credentials matter only where Qualtrics is set up at all; WEBHOOKS is optional.
  const notChecked = SECRET_NAMES.filter(
    (name) =>
      !given.has(name) &&
      name !== "WEBHOOKS" &&
      (qualtricsSetUp || !qualtricsCredentials.includes(name)),
  );
  const parsed: Env = { ...env };
  for (const name of notChecked) {
    const standIn = STAND_INS[name];
    if (standIn !== undefined) Reflect.set(parsed, name, standIn);
  }
  const check: ConfigCheck = { problems: [], notChecked: [...notChecked], warnings: [] };
  const collect = (error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    check.problems.push(
      ...error.problems.filter((p) => !notChecked.includes(variableOf(p) as never)),
    );
  };
  try {
    parseConfig(parsed);
  } catch (error) {
    collect(error);
  }
  // Qualtrics' credentials are secrets: without them only the rest of its setup is checked.
  if (qualtricsSetUp && qualtricsCredentials.every((name) => !given.has(name))) {
    const oauth = Boolean(parsed.QUALTRICS_CLIENT_ID);
    Reflect.set(parsed, oauth ? "QUALTRICS_CLIENT_SECRET" : "QUALTRICS_API_TOKEN", "not-checked");
  }
  try {
    parseQualtricsSettings(parsed);
  } catch (error) {
    collect(error);
  }
  // A bad BRAND only leaves the pages unbranded, but it is still a mistake to fix before going live.
  const brand = new Problems();
  const origin = typeof env.PUBLIC_BASE_URL === "string" ? env.PUBLIC_BASE_URL : undefined;
  parseBrand(brand, env, origin);
  check.problems.push(...brand.list);
  // A bad WEBHOOKS only holds events back, but it is a mistake to fix before going live.
  if (given.has("WEBHOOKS")) {
    const webhooks = parseWebhooks(env);
    if (webhooks.state === "invalid") check.problems.push(...webhooks.problems);
  }
  // Bad contact rules stop issuing alone, so parseConfig keeps them apart: listed here too.
  collect(new ConfigError(parseContactSettings(parsed, surveyKeys(env)).problems));
  sizeFindings(env, check);
  return check;
}
