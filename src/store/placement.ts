/**
 * Where a new invite lives: its shard follows from its survey and transaction id alone, so a
 * retried issue call (same survey + transactionId) always meets the first one in the same shard,
 * where the ledger's UNIQUE constraint answers it. Jump consistent hashing keeps that true for
 * most keys when the shard count grows: a key only ever moves to one of the new shards, and the
 * shards it may have had under earlier counts are few and computable (the earlier counts come
 * from the history of shard counts, `shard-counts.ts`).
 */

const encoder = new TextEncoder();
const MASK_64 = (1n << 64n) - 1n;

/**
 * Jump consistent hash (Lamping & Veach, 2014): a bucket in 0…buckets-1; growing `buckets` from
 * n to n+1 moves a key to the new bucket n with probability 1/(n+1), and never elsewhere.
 */
export function jumpHash(key: bigint, buckets: number): number {
  let k = key & MASK_64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK_64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** 64 bits of SHA-256 over the survey and transaction id (NUL-separated: no ambiguity). */
async function transactionKey(survey: string, transactionId: string): Promise<bigint> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    encoder.encode(`${survey}\u0000${transactionId}`),
  );
  return new DataView(digest).getBigUint64(0);
}

export interface Placement {
  /** The shard a new invite for this transaction goes to. */
  shard: number;
  /** Other shards it went to under earlier shard counts, where a retry must look first. */
  earlier: number[];
}

/**
 * The shard of a transaction under `shards`, and the distinct other shards it had under the
 * earlier counts still honoured for retries.
 *
 * @example await placeTransaction("venue-entry", "txn-2", 8, [4]) // { shard: 4, earlier: [2] }
 */
export async function placeTransaction(
  survey: string,
  transactionId: string,
  shards: number,
  earlierCounts: readonly number[] = [],
): Promise<Placement> {
  return placeKey(await transactionKey(survey, transactionId), shards, earlierCounts);
}

/**
 * The shard of a 64-bit key under `shards`, and the distinct other shards it had under
 * `earlierCounts`: for any record placed by a hash (transactions here, customers in rules).
 */
export function placeKey(
  key: bigint,
  shards: number,
  earlierCounts: readonly number[] = [],
): Placement {
  const shard = jumpHash(key, shards);
  const earlier = new Set<number>();
  for (const count of earlierCounts) {
    const before = jumpHash(key, count);
    if (before !== shard) earlier.add(before);
  }
  return { shard, earlier: [...earlier] };
}
