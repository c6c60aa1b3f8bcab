/**
 * `GET /healthz`: `200` only when the configuration parses and the ledger's schema is in place in
 * every shard;
 * otherwise `503` saying which of the two is wrong and nothing more (the configuration's problems
 * go to the log). Answered before the config middleware, so it works while the config is broken.
 */
import type { Context } from "hono";
import { ConfigError, getConfig } from "../config/config";
import { log } from "../core/log";
import type { AppEnv } from "../http/context";
import { type LedgerSchemaState, ledgerSchemaState } from "../store/schema-check";
import { onEveryShard } from "../store/store";

function configState(c: Context<AppEnv>): "ok" | "invalid" {
  try {
    getConfig(c.env);
    return "ok";
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log("config_error", { requestId: c.get("requestId"), problems: error.message });
    return "invalid";
  }
}

/** The worst state over the shards (only DB when the configuration cannot say which exist). */
async function ledgerState(c: Context<AppEnv>): Promise<LedgerSchemaState> {
  const states = await onEveryShard(c.get("store"), ledgerSchemaState);
  return states.find((s) => s === "unavailable") ?? states.find((s) => s !== "ready") ?? "ready";
}

export async function healthCheck(c: Context<AppEnv>): Promise<Response> {
  const config = configState(c);
  const ledger = await ledgerState(c);
  const ok = config === "ok" && ledger === "ready";
  return c.json({ ok, config, ledger }, ok ? 200 : 503, { "Cache-Control": "no-store" });
}
