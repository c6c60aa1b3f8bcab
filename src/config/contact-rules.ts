/**
 * `CONTACT_RULES` and `CUSTOMER_HASH_KEY`: who may be invited how often (docs/contact-rules.md).
 * Checked like every setting, each problem named by path (`CONTACT_RULES.0.max`), but kept apart
 * from the configuration's own problems: a bad rule stops issuing (`config_error`), since issuing
 * without it would break a promise made to customers, while taps and everything else keep working.
 */
import { z } from "zod";
import type { Env } from "./env";
import { Problems } from "./parsing";

/** What a rule counts: invites issued (suppressed ones never), first opens, or completions. */
const RULE_COUNTS = ["issued", "opened", "completed"] as const;

const trigger = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 _ . : -");

const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9_-]{1,64}$/, "must be 1-64 of a-z 0-9 _ -"),
    max: z.number().int("must be a whole number").min(1, "must be at least 1"),
    days: z.number().int("must be a whole number").min(1).max(366, "must be 1 to 366"),
    count: z.enum(RULE_COUNTS).default("issued"),
    surveys: z.array(z.string()).min(1).optional(),
    triggers: z.array(trigger).min(1).optional(),
    exemptTriggers: z.array(trigger).optional(),
  })
  .strict();

export type ContactRule = z.infer<typeof ruleSchema>;

/** One version of the customer hash key; the highest version hashes new records. */
export interface CustomerHashKey {
  version: number;
  secret: string;
}

export interface ContactSettings {
  rules: readonly ContactRule[];
  /** Newest first; empty when CUSTOMER_HASH_KEY is not set (opt-outs and rules cannot run). */
  hashKeys: readonly CustomerHashKey[];
  /** What is wrong with CONTACT_RULES or CUSTOMER_HASH_KEY: issuing refuses while any. */
  problems: readonly string[];
}

const keyVersions = z
  .record(
    z.string().regex(/^[1-9][0-9]{0,5}$/, "versions are whole numbers from 1"),
    z.string().min(16, "must be at least 16 characters"),
  )
  .refine((value) => Object.keys(value).length > 0, "must name at least one version");

/**
 * CUSTOMER_HASH_KEY: a plain secret (version 1), or a JSON object of versions
 * (`{"2": "new secret", "1": "old secret"}`): the highest hashes, every version is still honoured.
 */
function parseHashKeys(problems: Problems, value: string | undefined): CustomerHashKey[] {
  if (!value) return [];
  if (!value.trim().startsWith("{")) {
    if (value.length < 16) problems.add("CUSTOMER_HASH_KEY must be at least 16 characters");
    return [{ version: 1, secret: value }];
  }
  const versions = problems.parse("CUSTOMER_HASH_KEY", keyVersions, value) ?? {};
  return Object.entries(versions)
    .map(([version, secret]) => ({ version: Number(version), secret }))
    .sort((a, b) => b.version - a.version);
}

/**
 * Parses CONTACT_RULES (JSON array or a [vars] array of tables) and CUSTOMER_HASH_KEY; survey keys
 * named by rules are checked against `surveys`.
 */
export function parseContactSettings(env: Env, surveys: ReadonlySet<string>): ContactSettings {
  const problems = new Problems();
  const hashKeys = parseHashKeys(problems, env.CUSTOMER_HASH_KEY);
  const raw = env.CONTACT_RULES;
  const rules =
    raw === undefined || raw === ""
      ? []
      : (problems.parse("CONTACT_RULES", z.array(ruleSchema).max(100), raw) ?? []);
  const seen = new Set<string>();
  rules.forEach((rule, index) => {
    if (seen.has(rule.id)) problems.add(`CONTACT_RULES.${index}.id: "${rule.id}" is used twice`);
    seen.add(rule.id);
    rule.surveys?.forEach((key, at) => {
      if (!surveys.has(key)) {
        problems.add(`CONTACT_RULES.${index}.surveys.${at}: unknown survey "${key}"`);
      }
    });
  });
  if (rules.length > 0 && hashKeys.length === 0) {
    problems.add("CUSTOMER_HASH_KEY is not set (required while CONTACT_RULES has rules)");
  }
  return { rules, hashKeys, problems: problems.list };
}
