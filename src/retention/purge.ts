/**
 * The retention job: deletes customer ids and embedded data of invites issued more than
 * `RETENTION_DAYS` ago, keeping every count. It works in bounded batches over every ledger shard
 * (so one run stays within a scheduled invocation's limits; the next run continues) and removes
 * the signed token from KV first when it is still live, since the token carries the same data.
 * It also clears the same-device hashes whose window is over: they are kept for the window only,
 * and deletes the records of failed webhook deliveries older than `RETENTION_DAYS`: they keep the
 * event, whose transaction id is personal data.
 * and purges contact records (src/rules/): history past the longest rule window, suppressions'
 * customer ids past `RETENTION_DAYS`.
 */
import { getConfig } from "../config/config";
import type { Env } from "../config/env";
import { purgeContactRecords } from "../rules";
import { openStore, type Store } from "../store/store";
import { purgeStoredDeliveries } from "../webhooks";
import {
  clearEndedDeviceWindowsEverywhere,
  type PurgeResult,
  purgePersonalDataIssuedBefore,
} from "./across-shards";

const DAY_MS = 86_400_000;

interface RetentionOptions {
  /** Invites per batch (one shard read, KV deletes, one shard write batch). */
  batchSize?: number;
  /** Batches per run; what is left is purged by the next run. */
  maxBatches?: number;
  now?: number;
  /** The invocation's store (the scheduled run's); else the job opens its own. */
  store?: Store;
}

interface RetentionReport extends PurgeResult {
  /** Same-device hashes cleared because their window was over. */
  deviceHashesCleared: number;
  /** Webhook delivery records deleted (with the events they kept). */
  webhookDeliveriesDeleted: number;
}

export async function purgeExpiredPersonalData(
  env: Env,
  { batchSize = 500, maxBatches = 20, now = Date.now(), store }: RetentionOptions = {},
): Promise<RetentionReport> {
  const config = getConfig(env);
  const issuedBefore = now - config.retentionDays * DAY_MS;
  const invocation = store ?? openStore(env);
  const limits = { batchSize, maxBatches };
  const purged = await purgePersonalDataIssuedBefore(invocation, issuedBefore, now, limits);
  // Contact history past the longest rule window; suppressions' customer ids past RETENTION_DAYS.
  await purgeContactRecords(invocation, config, now, issuedBefore);
  const deviceHashesCleared = await clearEndedDeviceWindowsEverywhere(invocation, now, limits);
  const webhookDeliveriesDeleted =
    invocation.limits.remaining > 0 ? await purgeStoredDeliveries(invocation, issuedBefore) : 0;
  return { ...purged, deviceHashesCleared, webhookDeliveriesDeleted };
}
