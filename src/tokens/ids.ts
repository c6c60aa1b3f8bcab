/**
 * Invite ids, the code in `/s/<id>`. An id names its ledger shard, so a tap finds its invite
 * without a lookup and raising the shard count never moves a link:
 * - current: 24 base64url characters, two naming the shard (0…4095) then 16 random bytes;
 * - issued before shards existed: 22 characters (the random part alone), always in shard 0.
 */
import { MAX_SHARDS } from "../config/config";

/** Two characters of it name a shard: MAX_SHARDS (4,096) is its length squared. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ID_PATTERN = /^(?:[A-Za-z0-9_-]{2})?[A-Za-z0-9_-]{22}$/;

/** The two characters that start the ids of invites stored in `shard`. */
export function shardPrefix(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) {
    throw new RangeError(`shard ${shard} is outside 0…${MAX_SHARDS - 1}`);
  }
  return `${ALPHABET[Math.floor(shard / ALPHABET.length)]}${ALPHABET[shard % ALPHABET.length]}`;
}

/** A new id for an invite stored in `shard`: 128 random bits after the shard's two characters. */
export function newInviteId(shard: number): string {
  return shardPrefix(shard) + base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** Cheap syntactic check so malformed ids never reach KV or a shard. */
export function isInviteId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The shard an id (already checked by `isInviteId`) lives in. */
export function inviteIdShard(id: string): number {
  if (id.length === 22) return 0;
  return ALPHABET.indexOf(id.charAt(0)) * ALPHABET.length + ALPHABET.indexOf(id.charAt(1));
}

/** Standard base64 (RFC 4648 section 4, with padding). */
export function base64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** base64url without padding (RFC 4648 section 5), as JOSE uses it. */
export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
