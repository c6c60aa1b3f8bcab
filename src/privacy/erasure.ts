/**
 * Erasing one customer's personal data on request (`POST /v1/privacy/erasures`): every invite of
 * the customer in every shard loses its customer id, transaction id, embedded data and anything
 * derived from them, in the ledger and in KV, while every count stays (across-shards.ts); their
 * contact history and suppression records go too, their opt-out stays (src/rules/).
 * Bounded per request; what a request leaves (or a failure interrupts) the same request finishes.
 */
import type { Config } from "../config/config";
import { eraseContactRecords } from "../rules";
import { placementCounts } from "../store/shard-counts";
import type { Store } from "../store/store";
import { base64url } from "../tokens/ids";
import { type EraseLimits, type ErasureOutcome, eraseCustomerData } from "./across-shards";
import { erasureSubject } from "./subject";

/** Invites per batch (one shard read, KV deletes, one shard transaction), and per request. */
const LIMITS: EraseLimits = { batchSize: 100, maxInvites: 400 };

const newErasureId = () => `era_${base64url(crypto.getRandomValues(new Uint8Array(12)))}`;

export async function eraseCustomer(
  store: Store,
  config: Config,
  customerId: string,
  apiKeyId: string,
): Promise<ErasureOutcome> {
  const subject = await erasureSubject(config.cookieSecret, customerId);
  // Contact history and suppression records go; the opt-out (a keyed hash alone) stays.
  const { everServed } = await placementCounts(store, config);
  await eraseContactRecords(store, config, everServed, customerId);
  return eraseCustomerData(
    store,
    { customerId, subject, apiKeyId, newId: newErasureId(), now: Date.now() },
    LIMITS,
  );
}
