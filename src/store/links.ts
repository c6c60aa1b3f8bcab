/**
 * Links in the store: each invite's ledger row, with its signed token, in the shard its id names;
 * in KV only a consumed mark, written the first time a tap from another browser is refused, so
 * that later repeat taps are refused without waiting for the ledger. Links issued before tokens
 * moved into the ledger also still have their token in KV until it expires (never read again).
 */

import { inviteIdShard } from "../tokens/ids";
import {
  type ClaimAttempt,
  type ClaimResult,
  claimInviteRow,
  type InviteRow,
  insertInviteRows,
  keepDeviceRow,
  type NewInvite,
  type RevokeResult,
  releaseClaimRow,
  revokeInviteRow,
  selectInvite,
  selectInvitesByTransaction,
} from "./invite-rows";
import { mapOnShards, type Store, shardOf } from "./store";

/**
 * Inserts invites, each into the shard its id names, one round trip per shard (in parallel).
 * Returns, per input, whether it was inserted; an existing (survey, transaction) pair in that
 * shard is left untouched so the caller can compare request hashes.
 */
export async function insertInvites(store: Store, invites: NewInvite[]): Promise<boolean[]> {
  const inserted = await mapOnShards(
    store,
    invites,
    (invite) => inviteIdShard(invite.id),
    insertInviteRows,
    (shard) => {
      throw new Error(`invite ids name shard ${shard}, which is not configured`);
    },
  );
  return inserted.map((result) => result === true);
}

export interface TransactionKey {
  shard: number;
  survey: string;
  transactionId: string;
}

/** The existing invites for (survey, transaction) pairs in the given shards, in input order. */
export async function findInvitesByTransaction(
  store: Store,
  keys: TransactionKey[],
): Promise<(InviteRow | null)[]> {
  const rows = await mapOnShards(
    store,
    keys,
    (key) => key.shard,
    selectInvitesByTransaction,
    () => null,
  );
  return rows.map((row) => row ?? null);
}

/** An invite's ledger row; null when unknown (or its id names no shard). */
export async function findInvite(store: Store, id: string): Promise<InviteRow | null> {
  const db = shardOf(store, id);
  return db ? selectInvite(db, id) : null;
}

/**
 * The single-use claim in the invite's shard: one round trip that also returns the row (its
 * token, or why it was refused). See `invite-rows.ts`.
 */
export async function claimInvite(
  store: Store,
  id: string,
  attempt: ClaimAttempt,
): Promise<ClaimResult> {
  const db = shardOf(store, id);
  return db ? claimInviteRow(db, id, attempt) : { won: false, row: null };
}

/** Keeps the device of this nonce's claim for its same-device window: see `invite-rows.ts`. */
export async function keepDevice(
  store: Store,
  id: string,
  nonce: string,
  device: { hash: string; until: number },
): Promise<void> {
  const db = shardOf(store, id);
  if (db) await keepDeviceRow(db, id, nonce, device);
}

/** Undoes this nonce's claim (its token did not verify): see `invite-rows.ts`. */
export async function releaseClaim(store: Store, id: string, nonce: string): Promise<void> {
  const db = shardOf(store, id);
  if (db) await releaseClaimRow(db, id, nonce);
}

/**
 * Revokes an invite and removes its token (and the personal data in it) from KV; a later tap
 * reads the ledger and gets the revoked page. A link that expired unopened is left as it was
 * (`revoked: false`). Null when the id is unknown.
 */
export async function revokeInvite(
  store: Store,
  id: string,
  at: number,
): Promise<RevokeResult | null> {
  const db = shardOf(store, id);
  const result = db ? await revokeInviteRow(db, id, at) : null;
  if (result?.revoked) await store.kv.delete(id);
  return result;
}

// ---- KV: consumed marks ------------------------------------------------------------------

/** KV metadata of a link whose claim a refused tap saw (a fast path; the ledger is the truth). */
interface LinkMark {
  consumedAt?: number;
  /** The invite's language, so the refusal KV answers speaks it too. */
  language?: string;
}

/** What a consumed mark tells a tap it refuses. */
interface ConsumedMark {
  language: string | null;
}

/** The consumed mark KV carries for a link (also on entries of links issued before), or null. */
export async function consumedMark(store: Store, id: string): Promise<ConsumedMark | null> {
  const { metadata } = await store.kv.getWithMetadata<LinkMark>(id);
  return metadata?.consumedAt === undefined ? null : { language: metadata.language ?? null };
}

/** KV entries live at least 60 s, and a key takes ~1 write per second: later is not worth it. */
const MIN_MARK_LIFETIME_MS = 61_000;

/**
 * Marks a link consumed in KV, once a tap from another browser was refused by the ledger: links
 * tapped once (most of them) never pay this write; links that are tapped again get refused from
 * KV from then on. Skipped when the link expires within a minute (KV's shortest lifetime).
 */
export async function markConsumed(
  store: Store,
  id: string,
  expiresAt: number,
  at: number,
  language: string | null,
): Promise<void> {
  if (expiresAt - at <= MIN_MARK_LIFETIME_MS) return;
  const mark: LinkMark = { consumedAt: at, ...(language ? { language } : {}) };
  await store.kv.put(id, "", { expiration: Math.floor(expiresAt / 1000), metadata: mark });
}

/** Removes links' KV entries: marks, and tokens of links issued before they moved to the ledger. */
export async function forgetLinks(store: Store, ids: readonly string[]): Promise<void> {
  await Promise.all(ids.map((id) => store.kv.delete(id)));
}
