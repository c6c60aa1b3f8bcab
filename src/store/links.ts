/**
 * Links in the store: each invite's ledger row in the shard its id names, its signed token and
 * consumed mark in KV. The ledger is the truth for single use, idempotent issue and every count;
 * KV is the tap's fast path (the token, and a mark so repeat taps are refused without the ledger).
 */
import {
  claimInvite as claimInLedger,
  findInvitesByTransaction as findInLedger,
  getInvite,
  type InviteRow,
  insertInvites as insertInLedger,
  type NewInvite,
  revokeInvite as revokeInLedger,
  type TapContext,
} from "../ledger/invites";
import { inviteIdShard } from "../tokens/ids";
import { groupByShard, type Store, shardOf } from "./store";

/** KV metadata on a link's token once it was claimed (a fast path; the ledger is the truth). */
interface LinkMark {
  consumedAt?: number;
}

/**
 * Inserts invites, each into the shard its id names, one round trip per shard (in parallel).
 * Returns, per input, whether it was inserted; an existing (survey, transaction) pair in that
 * shard is left untouched so the caller can compare request hashes.
 */
export async function insertInvites(store: Store, invites: NewInvite[]): Promise<boolean[]> {
  const inserted: boolean[] = invites.map(() => false);
  await Promise.all(
    [...groupByShard(invites, (invite) => inviteIdShard(invite.id))].map(async ([shard, group]) => {
      const db = store.shards[shard];
      if (!db) throw new Error(`invite ids name shard ${shard}, which is not configured`);
      const results = await insertInLedger(
        db,
        group.map((g) => g.item),
      );
      group.forEach((g, i) => {
        inserted[g.index] = results[i] === true;
      });
    }),
  );
  return inserted;
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
  const rows: (InviteRow | null)[] = keys.map(() => null);
  await Promise.all(
    [...groupByShard(keys, (key) => key.shard)].map(async ([shard, group]) => {
      const db = store.shards[shard];
      if (!db) return;
      const found = await findInLedger(
        db,
        group.map((g) => g.item),
      );
      group.forEach((g, i) => {
        rows[g.index] = found[i] ?? null;
      });
    }),
  );
  return rows;
}

/** An invite's ledger row; null when unknown (or its id names no shard). */
export async function findInvite(store: Store, id: string): Promise<InviteRow | null> {
  const db = shardOf(store, id);
  return db ? getInvite(db, id) : null;
}

/** The single-use claim, in the invite's shard (see `ledger/invites.ts`). */
export async function claimInvite(store: Store, id: string, tap: TapContext): Promise<boolean> {
  const db = shardOf(store, id);
  return db ? claimInLedger(db, id, tap) : false;
}

/**
 * Revokes an invite and removes its token (and the personal data in it) from KV; a later tap
 * reads the ledger and gets the revoked page. Returns the row afterwards, or null when unknown.
 */
export async function revokeInvite(
  store: Store,
  id: string,
  at: number,
): Promise<InviteRow | null> {
  const db = shardOf(store, id);
  const row = db ? await revokeInLedger(db, id, at) : null;
  if (row) await store.kv.delete(id);
  return row;
}

// ---- KV: tokens and marks ------------------------------------------------------------------

/** Stores a link's signed token until the link expires (KV deletes it then by itself). */
export function putLinkToken(
  store: Store,
  id: string,
  token: string,
  expiresAt: number,
): Promise<void> {
  return store.kv.put(id, token, { expiration: Math.ceil(expiresAt / 1000) });
}

export interface LinkTokenEntry {
  /** The signed token; null when KV has none (expired, revoked, purged, or not replicated yet). */
  token: string | null;
  /** True when a claim was marked: repeat taps from other browsers can be refused at once. */
  consumed: boolean;
}

export async function readLinkToken(store: Store, id: string): Promise<LinkTokenEntry> {
  const entry = await store.kv.getWithMetadata<LinkMark>(id);
  return { token: entry.value, consumed: entry.metadata?.consumedAt !== undefined };
}

/** KV entries live at least 60 s, and a key takes ~1 write per second: later is not worth it. */
const MIN_MARK_LIFETIME_MS = 61_000;

/**
 * Marks a claimed link's token consumed (a fast path for repeat taps). Skipped when the link
 * expires within a minute (KV's shortest lifetime); the ledger refuses those taps anyway.
 */
export async function markLinkConsumed(
  store: Store,
  id: string,
  token: string,
  expiresAt: number,
  at: number,
): Promise<void> {
  if (expiresAt - at <= MIN_MARK_LIFETIME_MS) return;
  const mark: LinkMark = { consumedAt: at };
  await store.kv.put(id, token, { expiration: Math.floor(expiresAt / 1000), metadata: mark });
}

/** Removes links' tokens and marks from KV (revoked, purged, or lost an issue race). */
export async function forgetLinkTokens(store: Store, ids: readonly string[]): Promise<void> {
  await Promise.all(ids.map((id) => store.kv.delete(id)));
}
