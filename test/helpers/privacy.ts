/**
 * Helpers for the privacy suites: the privacy API's calls, and a dump of everything the stores
 * hold (every table and column of every shard, every KV key with its value, its metadata and the
 * decoded parts of a token) to search for a customer's values.
 */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import type { Env } from "../../src/config/env";
import { ADMIN_KEY, apiRequest, fetchWorker } from "./api";
import { allShards } from "./ledger";

export interface CustomerInviteBody {
  id: string;
  survey: string;
  transactionId: string;
  trigger: string;
  channel: string | null;
  embeddedData: Record<string, string | number | boolean>;
  status: string;
  openedAt: string | null;
  completedAt: string | null;
  revokedAt: string | null;
  pushedToQualtrics: boolean;
  qualtricsResponseId: string | null;
}

export interface LookupBody {
  invites: CustomerInviteBody[];
  nextCursor: string | null;
}

export interface ErasureResultBody {
  erasureId: string;
  done: boolean;
  erased: number;
  pushed: number;
  pushedInvites: string[];
  responses: {
    inviteId: string;
    survey: string;
    qualtricsSurveyId: string | null;
    responseId: string;
  }[];
  requestedAt: string;
  finishedAt: string | null;
}

export interface ErasureBody {
  id: string;
  apiKeyId: string;
  status: string;
  requestedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  attempts: number;
  erased: number;
  pushed: number;
}

/** A privacy API call with `key` (admin by default) against `workerEnv`. */
export function privacyCall(
  path: string,
  init: { method?: string; json?: unknown; key?: string | null } = {},
  workerEnv: Env = env,
): Promise<Response> {
  return fetchWorker(apiRequest(path, init, ADMIN_KEY), workerEnv);
}

/** Every invite of a customer, following the cursor page by page (`limit` per page). */
export async function lookupAll(customerId: string, limit = 100): Promise<CustomerInviteBody[]> {
  const invites: CustomerInviteBody[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await privacyCall("/v1/privacy/lookup", {
      method: "POST",
      json: { customerId, limit, ...(cursor ? { cursor } : {}) },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body: LookupBody = await res.json();
    invites.push(...body.invites);
    if (body.nextCursor === null) return invites;
    cursor = body.nextCursor;
  }
  throw new Error("lookup did not end after 100 pages");
}

export async function erase(
  customerId: string,
  workerEnv: Env = env,
  key: string = ADMIN_KEY,
): Promise<Response> {
  return privacyCall(
    "/v1/privacy/erasures",
    { method: "POST", json: { customerId }, key },
    workerEnv,
  );
}

export async function erasures(limit = 100): Promise<ErasureBody[]> {
  const res = await privacyCall(`/v1/privacy/erasures?limit=${limit}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { erasures: ErasureBody[] }).erasures;
}

/** The text of every part of a compact JWS that decodes as base64url. */
function decodedParts(value: string): string[] {
  return value.split(".").flatMap((part) => {
    if (!/^[A-Za-z0-9_-]+$/.test(part)) return [];
    try {
      const binary = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
      return [new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)))];
    } catch {
      return [];
    }
  });
}

/**
 * Everything the stores hold, as text: every row of every table of every shard (names from
 * sqlite_master, so a table or column added later is read too; `_cf_` tables are D1's own, which
 * SQL may not read), and every KV key with its value and metadata. Any value shaped like a token
 * is also decoded, since a JWT carries its claims in base64url.
 */
export async function storedText(): Promise<{ ledger: string; kv: string }> {
  const ledger: string[] = [];
  for (const [shard, db] of allShards().entries()) {
    const { results: tables } = await db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'")
      .all<{ name: string }>();
    expect(tables.map((t) => t.name)).toContain("invites");
    for (const { name } of tables) {
      const { results } = await db.prepare(`SELECT * FROM "${name}"`).all();
      ledger.push(`shard ${shard} ${name}: ${JSON.stringify(results)}`);
      for (const row of results) {
        for (const value of Object.values(row)) {
          if (typeof value === "string" && value.includes(".")) ledger.push(...decodedParts(value));
        }
      }
    }
  }
  const kv: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.LINKS.list(cursor ? { cursor } : {});
    for (const key of page.keys) {
      const { value, metadata } = await env.LINKS.getWithMetadata(key.name);
      kv.push(`kv ${key.name} ${JSON.stringify(key.metadata)} ${JSON.stringify(metadata)}`);
      if (value !== null) kv.push(value, ...decodedParts(value));
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return { ledger: ledger.join("\n"), kv: kv.join("\n") };
}

export async function everythingStored(): Promise<string> {
  const { ledger, kv } = await storedText();
  return `${ledger}\n${kv}`;
}

/** Which of `values` appear in `text` (values shorter than 6 characters are too common to test). */
export function foundIn(text: string, values: readonly string[]): string[] {
  return values.filter((value) => value.length >= 6 && text.includes(value));
}
