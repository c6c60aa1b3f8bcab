/**
 * `GET /healthz`: `200` only when the configuration parses and the ledger's schema is in place in
 * every shard; otherwise `503` saying which of the two is wrong and nothing more (the
 * configuration's problems go to the log). Answered before the config middleware, so it works
 * while the config is broken. It also says whether `BRAND` is in use: a bad one leaves the pages
 * unbranded without stopping anything (still `200`), and its problems are listed here and logged,
 * since they name only the public look of the pages, never a secret.
 */
import type { Context } from "hono";
import { ConfigError, getConfig } from "../config/config";
import { log } from "../core/log";
import type { AppEnv } from "../http/context";
import { type LedgerSchemaState, ledgerSchemaState } from "../store/schema-check";
import { controlDbOf, getStore } from "../store/store";

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

/** The worst state over the shards (only DB when the configuration cannot say which exist). */
async function ledgerState(c: Context<AppEnv>, configOk: boolean): Promise<LedgerSchemaState> {
  const shards = configOk ? getStore(c.env).shards : [controlDbOf(c.env)];
  const states = await Promise.all(shards.map(ledgerSchemaState));
  return states.find((s) => s === "unavailable") ?? states.find((s) => s !== "ready") ?? "ready";
}

export async function healthCheck(c: Context<AppEnv>): Promise<Response> {
  const config = configState(c);
  const ledger = await ledgerState(c, config === "ok");
  const ok = config === "ok" && ledger === "ready";
  const brand = config === "ok" ? brandState(c) : {};
  return c.json({ ok, config, ledger, ...brand }, ok ? 200 : 503, { "Cache-Control": "no-store" });
}
