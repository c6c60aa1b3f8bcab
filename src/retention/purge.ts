/**
 * The retention job: rows that may leave their shard are deleted (past `RETENTION_DAYS`, link
 * expired, nothing in flight with Qualtrics, completion window closed), and the personal data of
 * rows past `RETENTION_DAYS` that must stay a while longer is cleared, keeping every count (the
 * rollups carry them). It removes the signed token from KV first when the link is still live,
 * since the token carries the same data, and clears the same-device hashes whose window is over.
 * Work is bounded per run and rotates over every shard (across-shards.ts); the next run
 * continues. Rows already purged by earlier versions leave by the same search.
 */
import { getConfig } from "../config/config";
import type { Env } from "../config/env";
import { AWAITING_RESPONSE_DAYS } from "../reconcile";
import { openStore, type Store } from "../store/store";
import { type PurgeResult, purgeDueOnEveryShard } from "./across-shards";

const DAY_MS = 86_400_000;

interface RetentionOptions {
  /** Rows deleted per statement. */
  leaveBatchSize?: number;
  /** Invites per personal-data batch, same-device hashes per statement. */
  batchSize?: number;
  /** Steps per run (one storage call each on one shard); what is left is done by the next run. */
  maxBatches?: number;
  now?: number;
  /** The invocation's store (the scheduled run's); else the job opens its own. */
  store?: Store;
}

export async function purgeExpiredPersonalData(
  env: Env,
  {
    leaveBatchSize = 1_000,
    batchSize = 500,
    maxBatches = 250,
    now = Date.now(),
    store,
  }: RetentionOptions = {},
): Promise<PurgeResult> {
  const cutoffs = {
    issuedBefore: now - getConfig(env).retentionDays * DAY_MS,
    now,
    openedBefore: now - AWAITING_RESPONSE_DAYS * DAY_MS,
  };
  return purgeDueOnEveryShard(store ?? openStore(env), cutoffs, {
    leaveBatchSize,
    batchSize,
    maxBatches,
  });
}
