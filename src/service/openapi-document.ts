/**
 * `GET /openapi.json`: the API's description (OpenAPI 3.1), generated from the zod routes and the
 * entries of the non-JSON routes. It needs no configuration, so it answers (and `/docs` renders
 * it) whatever else is misconfigured. `servers` is the public origin: PUBLIC_BASE_URL when it is
 * a valid URL, else the origin the request came to.
 */
import type { Context } from "hono";
import { scopes } from "../config/config";
import type { AppEnv } from "../http/context";
import { type createRouter, registerSharedComponents } from "../http/openapi";
import { registerPublicPaths } from "./public-paths";

type Router = ReturnType<typeof createRouter>;

function publicOrigin(c: Context<AppEnv>): string {
  const configured = c.env.PUBLIC_BASE_URL;
  if (configured) {
    try {
      return new URL(configured).origin;
    } catch {
      // A malformed PUBLIC_BASE_URL is reported by /healthz and the log, not here.
    }
  }
  return new URL(c.req.url).origin;
}

const DESCRIPTION =
  "Signed, single-use Qualtrics survey invite links. A notification platform issues a link " +
  "per trigger event (`POST /v1/links`); the customer's tap lands once on the survey with " +
  "the invite's values signed; analysts read the stats; operators reconcile with Qualtrics.\n\n" +
  "Authentication: an API key as `Authorization: Bearer <key>`, whose scopes each operation " +
  "names (`admin` holds them all); the web-service data route takes a shared secret header " +
  'instead. Errors are one JSON envelope, `{"error": {"code", "message", "details"?}}`.';

const TAGS = [
  { name: "Links", description: "Issue, read and revoke invite links (notification platforms)." },
  {
    name: "Web service",
    description: "The invite's values for a survey's Web Service element (Qualtrics' servers).",
  },
  { name: "Stats", description: "Counts and rates for analysts." },
  { name: "Reconcile", description: "Pushing invites to Qualtrics and reading completions." },
  {
    name: "Webhooks",
    description: "Signed invite events pushed to WEBHOOKS: failed deliveries, counters, replay.",
  },
  {
    name: "Privacy",
    description: "Finding and erasing one customer's data on request; the erasures' audit trail.",
  },
  {
    name: "Opt-outs",
    description:
      "Customers who asked not to be surveyed: recorded as a keyed hash, honoured by every issue call.",
  },
  { name: "Tap", description: "The link a customer opens: HTML pages and redirects, not JSON." },
  { name: "Service", description: "Health and public keys." },
];

/** Registers the shared components and `GET /openapi.json` on the app. */
export function serveOpenApiDocument(app: Router): void {
  registerSharedComponents(app.openAPIRegistry, scopes);
  registerPublicPaths(app.openAPIRegistry);
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: { title: "invite-edge", version: "0.2.0", description: DESCRIPTION },
    servers: [{ url: publicOrigin(c), description: "This service" }],
    tags: TAGS,
  }));
}
