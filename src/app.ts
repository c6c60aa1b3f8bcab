/**
 * The HTTP app: middleware (request id, config), the APIs, the tap, and the public documents
 * (JWKS, OpenAPI, its reference at /docs, the operators' page at /). Machine errors are JSON
 * envelopes; pages for people are HTML. Every response carries `X-Request-Id`, the id the log
 * lines of that request carry.
 */

import { ConfigError, getConfig, scopes } from "./config/config";
import { ApiError, errorResponse, renderError } from "./http/errors";
import { createRouter, registerSharedComponents } from "./http/openapi";
import { linkRoutes, webserviceRoutes } from "./links";
import { privacyRoutes } from "./privacy";
import { reconcileRoutes } from "./reconcile";
import {
  answerMisconfigured,
  docsRoutes,
  healthCheck,
  homeRoutes,
  registerPublicPaths,
  shardCountRefusal,
} from "./service";
import { dashboardRoutes, statsRoutes } from "./stats";
import { openStore } from "./store/store";
import { choosePageLanguage, handleTap, page } from "./tap";
import { getKeyRing } from "./tokens/keyring";

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

// Pages that need no configuration answer even while it is broken.
app.get("/healthz", healthCheck);
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

app.get("/.well-known/jwks.json", async (c) => {
  const { jwks } = await getKeyRing(c.get("config"));
  c.header("Cache-Control", "public, max-age=300");
  return c.json(jwks);
});

app.on(["GET", "HEAD", "POST"], "/s/:id", handleTap);

app.route("/", linkRoutes);
app.route("/", webserviceRoutes);
app.route("/", statsRoutes);
app.route("/", reconcileRoutes);
app.route("/", privacyRoutes);

registerSharedComponents(app.openAPIRegistry, scopes);
registerPublicPaths(app.openAPIRegistry);
app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "invite-edge",
    version: "0.1.0",
    description:
      "Signed, single-use Qualtrics survey invite links. A notification platform issues a link " +
      "per trigger event (`POST /v1/links`); the customer's tap lands once on the survey with " +
      "the invite's values signed; analysts read the stats; operators reconcile with Qualtrics.\n\n" +
      "Authentication: an API key as `Authorization: Bearer <key>`, whose scopes each operation " +
      "names (`admin` holds them all); the web-service data route takes a shared secret header " +
      'instead. Errors are one JSON envelope, `{"error": {"code", "message", "details"?}}`.',
  },
  tags: [
    { name: "Links", description: "Issue, read and revoke invite links (notification platforms)." },
    {
      name: "Web service",
      description: "The invite's values for a survey's Web Service element (Qualtrics' servers).",
    },
    { name: "Stats", description: "Counts and rates for analysts." },
    { name: "Reconcile", description: "Pushing invites to Qualtrics and reading completions." },
    {
      name: "Privacy",
      description: "Finding and erasing one customer's data on request; the erasures' audit trail.",
    },
    { name: "Tap", description: "The link a customer opens: HTML pages and redirects, not JSON." },
    { name: "Service", description: "Health and public keys." },
  ],
});

app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  if (path.startsWith("/v1/") || path.startsWith("/.well-known/")) {
    return errorResponse(c, new ApiError(404, "not_found", "No such endpoint."));
  }
  return page("not_found", choosePageLanguage(null, c.req.header("Accept-Language")));
});
