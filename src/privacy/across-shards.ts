/**
 * One customer's data in the store. A customer's invites are spread over every shard (placement
 * follows survey + transaction), so finding and erasing them asks every shard, in parallel.
 *
 * Erasure is resumable and idempotent. Each batch of a shard is recorded in the erasure's row
 * before it is erased (so a crash after erasing still reports it), its KV entries (consumed
 * marks, and the tokens of links issued before tokens moved into the ledger) go before the ledger
 * forgets which invites they belong to (a crash between the two leaves the invite findable, and
 * the retry deletes them again), and the ledger erases it in one transaction. A retry carries
 * the customer id again, finds the same running erasure by its keyed hash, and erases what is
 * left; the erasure is marked done only once every shard has nothing left.
 *
 * Neither a lookup nor an erasure answers as complete while a shard that may hold the
 * customer's invites cannot be read: one that fails, or one the history of shard counts says
 * was served but this Worker's LEDGER_SHARDS leaves out. A request also stops before it would
 * spend the invocation's storage budget, and the same request again goes on.
 */

import { forgetLinks } from "../store/links";
import { readShardCounts } from "../store/shard-counts";
import { byIssuedThenId, controlDb, onEveryShard, type Store } from "../store/store";
import { forgetDeliveriesOfInvites } from "../webhooks";
import {
  type CustomerInviteRow,
  type ErasedInvite,
  eraseInvites,
  findCustomerInvites,
  findInvitesToErase,
  type InvitePosition,
} from "./customer-invites";
import {
  type ErasureRow,
  finishErasure,
  getErasure,
  openErasure,
  type RecordedInvite,
  recordErasedInvites,
} from "./erasure-records";

/** Shards that may hold the customer's invites, which this Worker cannot read. */
export class ShardsUnreachable extends Error {
  override name = "ShardsUnreachable";

  constructor(readonly shards: readonly number[]) {
    super(`shards ${shards.join(", ")} may hold the customer's invites and cannot be read`);
  }
}

/**
 * Throws `ShardsUnreachable` when the history of shard counts (read afresh, not cached) says
 * more shards were served than this store reaches.
 */
async function requireEveryServedShard(store: Store): Promise<void> {
  const { highestServed } = await readShardCounts(store);
  const reached = store.shards.length;
  if (highestServed > reached) {
    throw new ShardsUnreachable(
      Array.from({ length: highestServed - reached }, (_, i) => reached + i),
    );
  }
}

interface CustomerInvitesPage {
  invites: CustomerInviteRow[];
  /** True when more invites follow the last one of this page. */
  more: boolean;
}

/**
 * A page of a customer's invites over every shard, by issue time then id. Each shard gives its
 * first `limit + 1` after `after`; the first `limit` of their union are the page.
 */
export async function findCustomerInvitesPage(
  store: Store,
  customerId: string,
  after: InvitePosition | null,
  limit: number,
): Promise<CustomerInvitesPage> {
  await requireEveryServedShard(store);
  const pages = await onEveryShard(store, (db) =>
    findCustomerInvites(db, customerId, after, limit + 1),
  );
  const merged = pages.flat().sort(byIssuedThenId);
  return { invites: merged.slice(0, limit), more: merged.length > limit };
}

interface ErasureRequest {
  customerId: string;
  /** Keyed hash of the customer id: finds the running erasure of a retried request. */
  subject: string;
  apiKeyId: string;
  /** The id of the erasure record when this request starts one. */
  newId: string;
  now: number;
}

export interface EraseLimits {
  /** Invites per batch (one shard read, KV deletes, one shard transaction). */
  batchSize: number;
  /**
   * Invites one request erases before it stops (checked before each batch; shards run in
   * parallel, so it may go over by a batch per shard). It keeps a request within a Worker's
   * limits (KV operations, subrequests); what is left is erased by the next request.
   */
  maxInvites: number;
}

export interface ErasureOutcome {
  erasure: ErasureRow;
  /** The invites this erasure erased, by id (complete only when `done`). */
  invites: Record<string, RecordedInvite>;
  done: boolean;
}

function recorded(invites: readonly ErasedInvite[]): Record<string, RecordedInvite> {
  const entries: Record<string, RecordedInvite> = {};
  for (const invite of invites) {
    entries[invite.id] = {
      survey: invite.survey,
      pushed: invite.pushed === 1,
      ...(invite.response_id === null ? {} : { responseId: invite.response_id }),
      ...(invite.duplicate_response_ids === null
        ? {}
        : { duplicateResponseIds: JSON.parse(invite.duplicate_response_ids) as string[] }),
    };
  }
  return entries;
}

/**
 * Erases every invite of a customer in every shard: KV tokens and marks, then the personal
 * columns of the ledger rows. See the module comment for why a crash anywhere is finished by a
 * retry. Throws when a store fails (after every other shard went as far as it could).
 */
export async function eraseCustomerData(
  store: Store,
  request: ErasureRequest,
  { batchSize, maxInvites }: EraseLimits,
): Promise<ErasureOutcome> {
  await requireEveryServedShard(store);
  const control = controlDb(store);
  const { customerId, subject, apiKeyId, now } = request;
  const open = () => openErasure(control, { id: request.newId, apiKeyId, subject, at: now });
  let erasureId = await open();

  const record = async (invites: readonly ErasedInvite[]) => {
    if (invites.length === 0) return;
    const entries = recorded(invites);
    if (await recordErasedInvites(control, erasureId, entries, now)) return;
    // A concurrent request for the same customer finished the erasure: this one goes on in a new
    // one (both records may then count an invite the two requests raced for).
    erasureId = await open();
    if (!(await recordErasedInvites(control, erasureId, entries, now))) {
      throw new Error(`erasure ${erasureId} ended while this request was recording into it`);
    }
  };

  let invitesLeft = maxInvites;
  // A batch's storage calls (read, KV deletes, webhook records, erase, two records) and the
  // erasure's closing.
  const batchCalls = batchSize + 7;
  const eraseShard = async (db: D1Database): Promise<boolean> => {
    for (;;) {
      if (invitesLeft <= 0 || store.limits.remaining < batchCalls) return false;
      const due = await findInvitesToErase(db, customerId, batchSize);
      if (due.length === 0) return true;
      invitesLeft -= due.length;
      const ids = due.map((invite) => invite.id);
      await record(due);
      // Every entry, expired or not: KV drops expired ones by itself, but not always on time.
      await forgetLinks(store, ids);
      // Failed webhook deliveries keep their event, whose transaction id goes with the rest.
      await forgetDeliveriesOfInvites(store, ids);
      await record(await eraseInvites(db, ids, now));
      if (due.length < batchSize) return true;
    }
  };

  const shards = await Promise.allSettled(store.shards.map(eraseShard));
  const failed = shards.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  if (shards.some((s) => s.status === "fulfilled" && !s.value)) {
    const erasure = await getErasure(control, erasureId);
    if (!erasure) throw new Error(`erasure ${erasureId} disappeared`);
    return { erasure, invites: {}, done: false };
  }
  const finished = await finishErasure(control, erasureId, now);
  if (!finished) throw new Error(`erasure ${erasureId} disappeared`);
  return { erasure: finished.row, invites: finished.invites, done: true };
}
