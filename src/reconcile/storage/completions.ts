/**
 * Completions across shards: which invites of a survey wait for a response, and recording the
 * responses read from an export, batch by batch. The invites are marked in their shards first,
 * the survey's export position in the control database last (`finishExportRead`): a run that
 * stops in between reads the same responses again next time, and marking is idempotent.
 */

import { controlDb, onEveryShard, onShardsHolding, type Store } from "../../store/store";
import { inviteIdShard } from "../../tokens/ids";
import {
  type AwaitingInvite,
  type Completion,
  markCompleted,
  oldestAwaitingInShard,
  selectInvitesAwaitingCompletion,
} from "./completion-rows";
import { advanceExport } from "./exports";

/**
 * Per survey, when its oldest invite still waiting for a response was opened, over every shard
 * (one statement per shard for all surveys); surveys with none are absent.
 */
export async function oldestOpenedAwaitingResponse(
  store: Store,
  surveys: readonly string[],
  openedAfter: number,
): Promise<Map<string, number>> {
  const oldest = new Map<string, number>();
  if (surveys.length === 0) return oldest;
  const perShard = await onEveryShard(store, (db) =>
    oldestAwaitingInShard(db, surveys, openedAfter),
  );
  for (const { survey, at } of perShard.flat()) {
    oldest.set(survey, Math.min(at, oldest.get(survey) ?? at));
  }
  return oldest;
}

/** The invites among `ids` of this survey, from their shards: completed or not; missing ones are gone. */
export async function findInvitesAwaitingCompletion(
  store: Store,
  survey: string,
  ids: string[],
): Promise<AwaitingInvite[]> {
  const found = await onShardsHolding(store, ids, inviteIdShard, (db, held) =>
    selectInvitesAwaitingCompletion(db, survey, held),
  );
  return found.flat();
}

/** Marks invites of a survey completed in their shards. Returns the ids newly completed. */
export async function recordCompletions(
  store: Store,
  survey: string,
  completions: readonly Completion[],
): Promise<string[]> {
  const newly = await onShardsHolding(
    store,
    completions,
    (c) => inviteIdShard(c.id),
    (db, held) => markCompleted(db, survey, held),
  );
  return newly.flat();
}

/** Every response of an export was recorded: the survey's export position moves on. */
export async function finishExportRead(
  store: Store,
  entry: Parameters<typeof advanceExport>[1],
): Promise<void> {
  await advanceExport(controlDb(store), entry);
}
