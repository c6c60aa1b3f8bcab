/**
 * The retention job: rows that may leave their shard are deleted (past `RETENTION_DAYS`, link
 * expired, nothing in flight with Qualtrics, completion window closed), and the personal data of
 * rows past `RETENTION_DAYS` that must stay a while longer is cleared, keeping every count (the
 * rollups carry them). It removes the signed token from KV first when the link is still live,
 * since the token carries the same data, and clears the same-device hashes whose window is over.
 * Work is bounded per run and rotates over every shard (across-shards.ts); the next run
 * continues. Rows already purged by earlier versions leave by the same search.
 * Before that it purges contact records (src/rules/: history past the longest rule window,
 * suppressions' customer ids past `RETENTION_DAYS`) and deletes the records of failed webhook
 * deliveries older than `RETENTION_DAYS` (they keep the event, whose transaction id is personal
 * data): one statement per shard each, so they go first and the bounded purge takes what is left.
 */
import { getConfig } from "../config/config";
import type { Env } from "../config/env";
import { AWAITING_RESPONSE_DAYS } from "../reconcile";
import { purgeContactRecords } from "../rules";
import { openStore, type Store } from "../store/store";
import { purgeStoredDeliveries } from "../webhooks";
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

interface RetentionReport extends PurgeResult {
  /** Webhook delivery records deleted (with the events they kept). */
  webhookDeliveriesDeleted: number;
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
): Promise<RetentionReport> {
  const config = getConfig(env);
  const cutoffs = {
    issuedBefore: now - config.retentionDays * DAY_MS,
    now,
    openedBefore: now - AWAITING_RESPONSE_DAYS * DAY_MS,
  };
  const invocation = store ?? openStore(env);
  await purgeContactRecords(invocation, config, now, cutoffs.issuedBefore);
  const webhookDeliveriesDeleted = await purgeStoredDeliveries(invocation, cutoffs.issuedBefore);
  const purged = await purgeDueOnEveryShard(invocation, cutoffs, {
    leaveBatchSize,
    batchSize,
    maxBatches,
  });
  return { ...purged, webhookDeliveriesDeleted };
}
