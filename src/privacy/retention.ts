/**
 * The retention job: deletes customer ids and embedded data of invites issued more than
 * `RETENTION_DAYS` ago, keeping every count. It works in bounded batches (so one run stays within
 * a scheduled invocation's limits; the next run continues) and removes the signed token from KV
 * first when it is still live, since the token carries the same personal data.
 */
import { getConfig } from "../config";
import type { Env } from "../env";
import { findInvitesToPurge, purgePersonalData } from "../ledger/retention";

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Invites per batch (one D1 read, KV deletes, one D1 batch). */
  batchSize?: number;
  /** Batches per run; what is left is purged by the next run. */
  maxBatches?: number;
  now?: number;
}

export interface RetentionResult {
  purged: number;
  /** Live tokens removed from KV (named so that the log guard, which drops "token", keeps it). */
  linksDeleted: number;
  batches: number;
  /** False when the run stopped at `maxBatches` with invites still due. */
  done: boolean;
}

export async function purgeExpiredPersonalData(
  env: Env,
  { batchSize = 500, maxBatches = 20, now = Date.now() }: RetentionOptions = {},
): Promise<RetentionResult> {
  const issuedBefore = now - getConfig(env).retentionDays * DAY_MS;
  const result: RetentionResult = { purged: 0, linksDeleted: 0, batches: 0, done: false };
  while (result.batches < maxBatches) {
    const due = await findInvitesToPurge(env.DB, issuedBefore, batchSize);
    if (due.length === 0) {
      result.done = true;
      break;
    }
    // KV first: if a delete fails the run fails before the ledger forgets which tokens remain.
    const live = due.filter((invite) => invite.expires_at > now).map((invite) => invite.id);
    await Promise.all(live.map((id) => env.LINKS.delete(id)));
    result.linksDeleted += live.length;
    result.purged += await purgePersonalData(
      env.DB,
      due.map((invite) => invite.id),
      now,
    );
    result.batches += 1;
    if (due.length < batchSize) {
      result.done = true;
      break;
    }
  }
  return result;
}
