/**
 * The shard-count check of every request once the configuration parsed: a Worker configured
 * with fewer shards than were ever served refuses to serve (`config_error`, taps the 503 page),
 * as for any configuration error, instead of answering "not found" for the links and data on
 * the shards it would miss. The comparison uses this isolate's cached history
 * (src/store/shard-counts.ts): API calls read it when the cache is cold or stale, taps never wait
 * for it (they refresh it in the background). The first request of a Worker whose count was
 * never served records it, in the background too.
 */
import type { Context } from "hono";
import { ConfigError } from "../config/config";
import { describeError, log } from "../core/log";
import type { AppEnv } from "../http/context";
import {
  cachedShardCounts,
  readShardCounts,
  recordServedShardCount,
  retireAfterMs,
  type ShardCounts,
  shardCountProblem,
  shardCountsFor,
  unservedShardCount,
} from "../store/shard-counts";

/** The configuration error of this request's shard count, or null when it may serve. */
export async function shardCountRefusal(c: Context<AppEnv>): Promise<ConfigError | null> {
  const store = c.get("store");
  const config = c.get("config");
  const now = Date.now();
  const inBackground = (what: string, task: () => Promise<unknown>) =>
    c.executionCtx.waitUntil(
      task().catch((error: unknown) =>
        log("shard_counts_failed", {
          what,
          requestId: c.get("requestId"),
          error: describeError(error),
        }),
      ),
    );
  const recordIfUnserved = (counts: ShardCounts) => {
    if (!unservedShardCount(counts, config.ledgerShards)) return;
    if (shardCountProblem(counts, config.ledgerShards)) return;
    inBackground("record", () =>
      recordServedShardCount(store, config.ledgerShards, now, retireAfterMs(config)),
    );
  };

  let counts: ShardCounts | undefined;
  if (new URL(c.req.url).pathname.startsWith("/s/")) {
    // The tap's critical path: the cache only; a cold or stale one is refreshed behind it.
    const cached = cachedShardCounts(store, now);
    counts = cached?.counts;
    if (!cached?.fresh) {
      inBackground("read", async () => recordIfUnserved(await readShardCounts(store, now)));
    } else recordIfUnserved(cached.counts);
  } else {
    counts = await shardCountsFor(store, now);
    recordIfUnserved(counts);
  }
  const problem = counts && shardCountProblem(counts, config.ledgerShards);
  return problem ? new ConfigError(problem) : null;
}
