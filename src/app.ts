/**
 * The HTTP app: middleware (request id, the request's store, config), the APIs, the tap, and the
 * service's own endpoints (health, JWKS, OpenAPI, its reference at /docs, the operators' page at
 * /), which are mounted before the configuration is required so they answer whatever else is
 * broken. Machine errors are JSON envelopes; pages for people are HTML. Every response carries `X-Request-Id`, the id the log
 * lines of that request carry.
 */

import { ConfigError, getConfig } from "./config/config";
import { ApiError, errorResponse, renderError } from "./http/errors";
import { createRouter } from "./http/openapi";
import { linkRoutes, webserviceRoutes } from "./links";
import { privacyRoutes } from "./privacy";
import { reconcileRoutes } from "./reconcile";
import { optOutRoutes } from "./rules";
import {
  answerMisconfigured,
  docsRoutes,
  healthCheck,
  homeRoutes,
  publicKeys,
  serveOpenApiDocument,
  shardCountRefusal,
} from "./service";
import { dashboardRoutes, statsRoutes } from "./stats";
import { openStore } from "./store/store";
import { choosePageLanguage, handleTap, page } from "./tap";
import { webhookRoutes } from "./webhooks";

export const app = createRouter();

app.use(async (c, next) => {
  const requestId = c.req.header("CF-Ray") ?? crypto.randomUUID();
  c.set("requestId", requestId);
  await next();
  c.res.headers.set("X-Request-Id", requestId);
});

// One store per request: every D1 and KV call the request makes goes through its limits (six
// connections at a time, a budget of storage calls).
app.use(async (c, next) => {
  c.set("store", openStore(c.env));
  await next();
});

app.onError(renderError);

// What answers whatever else is misconfigured: health, the public keys (third parties check
// `sig` with them), the API's description and the pages that need no configuration.
app.get("/healthz", healthCheck);
app.get("/.well-known/jwks.json", publicKeys);
serveOpenApiDocument(app);
app.route("/", dashboardRoutes);
app.route("/", docsRoutes);
app.route("/", homeRoutes);

app.use(async (c, next) => {
  try {
    c.set("config", getConfig(c.env));
  } catch (error) {
    if (error instanceof ConfigError) return answerMisconfigured(c, error);
    throw error;
  }
  // Fewer shards than were ever served is as broken as any configuration error.
  const refusal = await shardCountRefusal(c);
  if (refusal) return answerMisconfigured(c, refusal);
  await next();
});

// `/s/<id>`, and links pasted with punctuation after the id, slashes included (`/s/<id>/)`): the
// tap redirects those to `/s/<id>`.
app.on(["GET", "HEAD", "POST"], "/s/:id{[^/]+[/.,)]*}", handleTap);

app.route("/", linkRoutes);
app.route("/", webserviceRoutes);
app.route("/", statsRoutes);
app.route("/", reconcileRoutes);
app.route("/", privacyRoutes);
app.route("/", webhookRoutes);
app.route("/", optOutRoutes);

app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  if (path.startsWith("/v1/") || path.startsWith("/.well-known/")) {
    return errorResponse(c, new ApiError(404, "not_found", "No such endpoint."));
  }
  const language = choosePageLanguage(null, c.req.header("Accept-Language"));
  return page("not_found", language, { brand: c.get("config")?.brand.brand });
});
