/**
 * Duplicate responses across shards: which of a batch's invites were already completed (and by
 * which response) and recording the duplicates found. Rows live in their invite's shard.
 */
import { onShardsHolding, type Store } from "../../store/store";
import { inviteIdShard } from "../../tokens/ids";
import {
  type CompletedInvite,
  type DuplicateResponse,
  insertDuplicates,
  selectCompletedInvites,
} from "./duplicate-rows";

export type { CompletedInvite, DuplicateResponse };

/** Of `ids`, the invites of `survey` already completed, from the shards that hold them. */
export async function findCompletedInvites(
  store: Store,
  survey: string,
  ids: readonly string[],
): Promise<CompletedInvite[]> {
  const perShard = await onShardsHolding(store, ids, inviteIdShard, (db, held) =>
    selectCompletedInvites(db, survey, held),
  );
  return perShard.flat();
}

/** Records duplicates in their invites' shards; returns how many were new. */
export async function recordDuplicates(
  store: Store,
  survey: string,
  duplicates: readonly DuplicateResponse[],
  at: number,
): Promise<number> {
  if (duplicates.length === 0) return 0;
  const perShard = await onShardsHolding(
    store,
    duplicates,
    (d) => inviteIdShard(d.inviteId),
    (db, held) => insertDuplicates(db, survey, held, at),
  );
  return perShard.reduce((sum, n) => sum + n, 0);
}
