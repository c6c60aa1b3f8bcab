/**
 * `GET /v1/invites/:id/data` for a survey's Web Service element (webservice mode): the invite's
 * values as a flat JSON object of strings. Called from Qualtrics' servers, so it is public and
 * guarded by a shared secret header compared in constant time. Wrong secrets are rate-limited
 * per client address; a right secret is never refused, because Qualtrics' servers are shared by
 * every Qualtrics customer and someone else's survey must not lock ours out (docs/rate-limits.md).
 * A revoked invite's data is no longer served.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { secretsEqual } from "../http/auth";
import { clientAddress } from "../http/client-address";
import { ApiError, unknownOrPurged } from "../http/errors";
import { createRouter, errorResponses, webserviceSecretAuth } from "../http/openapi";
import { overRateLimit } from "../http/rate-limit";
import { findInvite } from "../store/links";
import { isInviteId } from "../tokens/ids";
import { IdParamSchema } from "./schema";
import { inviteValues, linkValueSourceFromRow } from "./survey-link";

const dataRoute = createRoute({
  method: "get",
  path: "/v1/invites/{id}/data",
  operationId: "getInviteData",
  tags: ["Web service"],
  summary: "An invite's values for the survey's Web Service element",
  ...webserviceSecretAuth(
    "For surveys in webservice mode: the survey's Web Service element calls this from " +
      "Qualtrics' servers with the `inv` value from the survey link, so personal values never " +
      "appear in the link itself.",
  ),
  request: { params: IdParamSchema },
  responses: {
    200: {
      description:
        "Flat map of strings: the embedded data plus customer_id, transaction_id, trigger, inv",
      content: {
        "application/json": {
          schema: z.record(z.string(), z.string()).openapi("InviteData", {
            example: {
              venue: "Arena North",
              customer_id: "customer-42",
              transaction_id: "scan-2026-11-28-0001",
              trigger: "ticket_scanned",
              inv: "AB3q2-7wEAbcDEfGhIjKlMnO",
            },
          }),
        },
      },
    },
    ...errorResponses(401, 404, 410, 429),
  },
});

/** The period of WEBSERVICE_LIMITER in wrangler.toml, in seconds. */
const WRONG_SECRET_PERIOD = 60;

export const webserviceRoutes = createRouter().openapi(dataRoute, async (c) => {
  const config = c.get("config");
  const presented = c.req.header("X-Webservice-Secret") ?? "";
  if (!(await secretsEqual(presented, config.webserviceSecret))) {
    const address = clientAddress(c.req.raw);
    const wait = await overRateLimit(
      config,
      c.env.WEBSERVICE_LIMITER,
      address,
      WRONG_SECRET_PERIOD,
    );
    if (wait !== null) {
      throw new ApiError(429, "rate_limited", "Too many wrong secrets; wait.", undefined, {
        "Retry-After": String(wait),
      });
    }
    throw new ApiError(401, "unauthorized", "Missing or wrong X-Webservice-Secret.");
  }
  const { id } = c.req.valid("param");
  const row = isInviteId(id) ? await findInvite(c.get("store"), id) : null;
  if (!row) throw unknownOrPurged("invite");
  if (row.erased_at !== null) throw new ApiError(410, "gone", "This invite's data was erased.");
  if (row.revoked_at !== null) throw new ApiError(410, "revoked", "This invite was revoked.");
  const source = linkValueSourceFromRow(row);
  if (!source) {
    throw new ApiError(410, "gone", "This invite's data was deleted after the retention period.");
  }
  const values = inviteValues(row.id, source);
  c.header("Cache-Control", "no-store");
  return c.json(values, 200);
});
