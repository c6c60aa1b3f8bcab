/**
 * `GET /healthz`: `200` only when the configuration parses, the ledger's schema is in place in
 * every shard, and the configured shard count is not below one served before; otherwise `503`
 * saying which is wrong and nothing more (the problems go to the log). Answered before the
 * config middleware, so it works while the config is broken. It reads the shard-count history
 * afresh (not from the isolate's cache): it is what operators and deploys probe. It also says
 * whether `BRAND` is in use: a bad one leaves the pages unbranded without stopping anything
 * (still `200`), and its problems are listed here and logged, since they name only the public
 * look of the pages, never a secret. So is `WEBHOOKS`: a bad one holds events in the queue
 * without stopping taps or issue calls; its problems name paths and rules, never a value.
 */
import type { Context } from "hono";
import { ConfigError, getConfig } from "../config/config";
import { getWebhooks } from "../config/webhooks";
import { describeError, log } from "../core/log";
import type { AppEnv } from "../http/context";
import { type LedgerSchemaState, ledgerSchemaState } from "../store/schema-check";
import { readShardCounts, shardCountProblem } from "../store/shard-counts";
import { onEveryShard } from "../store/store";

type State = { config: "ok" | "invalid"; ledger: LedgerSchemaState };

function configState(c: Context<AppEnv>): State["config"] {
  try {
    getConfig(c.env);
    return "ok";
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log("config_error", { requestId: c.get("requestId"), problems: error.message });
    return "invalid";
  }
}

/** `none` when BRAND is not set; `invalid`, with its problems, when the pages fell back. */
function brandState(c: Context<AppEnv>): {
  brand: "ok" | "none" | "invalid";
  brandProblems?: string[];
} {
  const { brand, problems } = getConfig(c.env).brand;
  if (problems.length === 0) return { brand: brand ? "ok" : "none" };
  log("brand_invalid", { requestId: c.get("requestId"), problems: problems.join("; ") });
  return { brand: "invalid", brandProblems: [...problems] };
}

/** `none` when WEBHOOKS is not set; `invalid`, with its problems, while events wait. */
function webhooksState(c: Context<AppEnv>): {
  webhooks: "ok" | "none" | "invalid";
  webhookProblems?: string[];
} {
  const setup = getWebhooks(c.env);
  if (setup.state !== "invalid") return { webhooks: setup.state };
  log("webhooks_invalid", { requestId: c.get("requestId"), problems: setup.problems.join("; ") });
  return { webhooks: "invalid", webhookProblems: [...setup.problems] };
}

/** The worst state over the shards (only DB when the configuration cannot say which exist). */
async function ledgerState(c: Context<AppEnv>): Promise<LedgerSchemaState> {
  const states = await onEveryShard(c.get("store"), ledgerSchemaState);
  return states.find((s) => s === "unavailable") ?? states.find((s) => s !== "ready") ?? "ready";
}

/** A configured shard count below the highest served is a configuration error too. */
async function shardCountState(c: Context<AppEnv>): Promise<State> {
  try {
    const counts = await readShardCounts(c.get("store"));
    const problem = shardCountProblem(counts, getConfig(c.env).ledgerShards);
    if (!problem) return { config: "ok", ledger: "ready" };
    log("config_error", { requestId: c.get("requestId"), problems: problem });
    return { config: "invalid", ledger: "ready" };
  } catch (error) {
    log("shard_counts_unreadable", { requestId: c.get("requestId"), error: describeError(error) });
    return { config: "ok", ledger: "unavailable" };
  }
}

export async function healthCheck(c: Context<AppEnv>): Promise<Response> {
  let state: State = { config: configState(c), ledger: await ledgerState(c) };
  if (state.config === "ok" && state.ledger === "ready") state = await shardCountState(c);
  const ok = state.config === "ok" && state.ledger === "ready";
  const optional = state.config === "ok" ? { ...brandState(c), ...webhooksState(c) } : {};
  return c.json({ ok, ...state, ...optional }, ok ? 200 : 503, { "Cache-Control": "no-store" });
}
