/**
 * API key auth: `Authorization: Bearer <key>`. Keys are stored as SHA-256 hashes; the presented
 * key's hash is compared with every stored hash in constant time (no early exit, no key in logs).
 */
import { createMiddleware } from "hono/factory";
import type { ApiKey, Scope } from "../config/config";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

const encoder = new TextEncoder();

async function sha256(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Constant-time equality of two byte strings (length is not secret). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Constant-time comparison of two secrets of any length, by comparing their hashes. */
export async function secretsEqual(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), sha256(expected)]);
  return timingSafeEqual(a, b);
}

async function findApiKey(keys: readonly ApiKey[], presented: string): Promise<ApiKey | null> {
  const hash = await sha256(presented);
  let found: ApiKey | null = null;
  for (const key of keys) {
    if (timingSafeEqual(hash, hexToBytes(key.sha256)) && !found) found = key;
  }
  return found;
}

const unauthorized = () =>
  new ApiError(401, "unauthorized", "Missing or unknown API key.", undefined, {
    "WWW-Authenticate": 'Bearer realm="invite-edge"',
  });

/** Requires a valid API key with `scope` (`admin` holds every scope). */
export function requireScope(scope: Scope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("Authorization") ?? "";
    const match = /^Bearer\s+(\S{1,512})$/i.exec(header);
    if (!match?.[1]) throw unauthorized();
    const key = await findApiKey(c.get("config").apiKeys, match[1]);
    if (!key) throw unauthorized();
    if (!key.scopes.includes(scope) && !key.scopes.includes("admin")) {
      throw new ApiError(403, "forbidden", `This API key lacks the ${scope} scope.`);
    }
    c.set("apiKey", key);
    await next();
  });
}
