/**
 * The HTTP app: middleware (request id, config), the APIs, the tap, and the public documents
 * (JWKS, OpenAPI). Machine errors are JSON envelopes; pages for people are HTML. Every response
 * carries `X-Request-Id`, the id the log lines of that request carry.
 */
import { handleTap, page } from "./click/tap";
import { ConfigError, getConfig } from "./config";
import { DOCS_HTML, DOCS_JS } from "./docs";
import { answerMisconfigured } from "./http/config-failure";
import { ApiError, errorResponse, renderError } from "./http/errors";
import { healthCheck } from "./http/health";
import { createRouter } from "./http/openapi";
import { linkRoutes } from "./links/routes";
import { webserviceRoutes } from "./links/webservice-data";
import { reconcileRoutes } from "./qualtrics/routes";
import { dashboardRoutes } from "./stats/dashboard";
import { statsRoutes } from "./stats/routes";
import { getKeyRing } from "./tokens/keyring";

export const app = createRouter();

app.use(async (c, next) => {
  const requestId = c.req.header("CF-Ray") ?? crypto.randomUUID();
  c.set("requestId", requestId);
  await next();
  c.res.headers.set("X-Request-Id", requestId);
});

app.onError(renderError);

// Pages that need no configuration answer even while it is broken.
app.get("/healthz", healthCheck);
app.route("/", dashboardRoutes);

app.use(async (c, next) => {
  try {
    c.set("config", getConfig(c.env));
  } catch (error) {
    if (error instanceof ConfigError) return answerMisconfigured(c, error);
    throw error;
  }
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

app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
  type: "http",
  scheme: "bearer",
});
app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "invite-edge",
    version: "0.1.0",
    description: "Signed, single-use Qualtrics survey invite links.",
  },
});
app.get("/docs", (c) => c.html(DOCS_HTML));
app.get("/docs.js", (c) =>
  c.body(DOCS_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
);

app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  if (path.startsWith("/v1/") || path.startsWith("/.well-known/")) {
    return errorResponse(c, new ApiError(404, "not_found", "No such endpoint."));
  }
  return page("not_found");
});
