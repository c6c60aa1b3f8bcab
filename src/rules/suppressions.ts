/**
 * Suppression decisions across shards: recorded, and found again by survey + transactionId, one
 * round trip per shard involved (in parallel), like the invites of an issue call.
 */
import { mapOnShards, type Store } from "../store/store";
import {
  insertSuppressionRows,
  type NewSuppression,
  type SuppressionRow,
  selectSuppressionRows,
} from "./suppression-rows";

/** Records suppressions; per input, whether it was recorded (false: the pair has a decision). */
export async function recordSuppressions(
  store: Store,
  suppressions: readonly NewSuppression[],
): Promise<boolean[]> {
  const inserted = await mapOnShards(
    store,
    suppressions,
    (s) => s.shard,
    insertSuppressionRows,
    (shard) => {
      throw new Error(`transaction placement named shard ${shard}, which is not configured`);
    },
  );
  return inserted.map((result) => result === true);
}

/** The suppressions recorded for pairs in the given shards, in input order (null: none). */
export async function findSuppressions(
  store: Store,
  keys: readonly { shard: number; survey: string; transactionId: string }[],
): Promise<(SuppressionRow | null)[]> {
  const rows = await mapOnShards(
    store,
    keys,
    (k) => k.shard,
    selectSuppressionRows,
    () => null,
  );
  return rows.map((row) => row ?? null);
}
