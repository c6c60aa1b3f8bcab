/**
 * What everyone but the operator sees while the configuration is broken. A tap gets the HTML
 * "please try again" page with every tap header; an API caller gets a generic `config_error`
 * envelope with the request id. Only the log names the bad variables (all of them at once).
 */
import type { Context } from "hono";
import type { ConfigError } from "../config/config";
import { log } from "../core/log";
import type { AppEnv } from "../http/context";
import { CONFIG_ERROR_MESSAGE, serverError } from "../http/errors";
import { choosePageLanguage, page } from "../tap";

/** Seconds a customer is asked to wait: an operator has to act, so not the store's few seconds. */
const CONFIG_RETRY_AFTER_SECONDS = 60;

export function answerMisconfigured(c: Context<AppEnv>, error: ConfigError): Response {
  log("config_error", { requestId: c.get("requestId"), problems: error.message });
  if (new URL(c.req.url).pathname.startsWith("/s/")) {
    const language = choosePageLanguage(null, c.req.header("Accept-Language"));
    return page("unavailable", language, {}, { "Retry-After": String(CONFIG_RETRY_AFTER_SECONDS) });
  }
  return serverError(c, 500, "config_error", CONFIG_ERROR_MESSAGE);
}
