/**
 * A customer as contact rules and opt-outs know them: a versioned keyed hash of the id
 * (`v2:…`, HMAC under CUSTOMER_HASH_KEY's version 2, for this use only), never the id itself;
 * and the shard that holds their records. Every version of the key is honoured when looking
 * up, so rotating the key drops no opt-out and splits no history; new records take the newest.
 *
 * The shard is the customer's own placement (jump hash over the shard count, like transactions
 * but over the customer id alone), so all of a customer's records meet in one database, where
 * one conditional write decides. Raising LEDGER_SHARDS moves some customers: their records
 * under every earlier count ever served are read too (`earlier`), and never forgotten.
 */
import type { CustomerHashKey } from "../config/contact-rules";
import { type Placement, placeKey } from "../store/placement";
import { keyedHash } from "../tokens/keyed-hash";

const encoder = new TextEncoder();

/** The customer's hashes under every key version, newest (the one new records take) first. */
export function customerHashes(
  keys: readonly CustomerHashKey[],
  customerId: string,
): Promise<string[]> {
  return Promise.all(
    keys.map(
      async (k) =>
        `v${k.version}:${await keyedHash(k.secret, `invite-edge customer v${k.version}`, customerId)}`,
    ),
  );
}

/**
 * The customer's shard under `shards` (`shard`), and the other shards they had under each
 * earlier count served (`earlier`). Not keyed: the shard number is never stored, and a key
 * rotation must not move anyone.
 */
export async function placeCustomer(
  customerId: string,
  shards: number,
  earlierCounts: readonly number[],
): Promise<Placement> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    encoder.encode(`customer\u0000${customerId}`),
  );
  return placeKey(new DataView(digest).getBigUint64(0), shards, earlierCounts);
}
