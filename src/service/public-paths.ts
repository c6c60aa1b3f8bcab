/**
 * The OpenAPI entries of the routes that are not zod routes: the tap (HTML for people), the health
 * check and the public signing keys. Documentation only: app.ts and src/tap/ serve them.
 */
import { z } from "@hono/zod-openapi";
import { type createRouter, errorResponses } from "../http/openapi";
import { IdParamSchema } from "../links";

type Registry = ReturnType<typeof createRouter>["openAPIRegistry"];

const html = (description: string, headers?: Record<string, string>) => ({
  description,
  headers: headers
    ? Object.fromEntries(
        Object.entries(headers).map(([name, text]) => [
          name,
          { description: text, schema: { type: "string" as const } },
        ]),
      )
    : undefined,
  content: { "text/html": { schema: z.string() } },
});

const JwkSchema = z
  .object({
    kid: z.string().openapi({ example: "2026-11" }),
    kty: z.string().openapi({ example: "EC" }),
    alg: z.enum(["ES256", "EdDSA"]),
    crv: z.string().openapi({ example: "P-256" }),
    x: z.string(),
    y: z.string().optional().openapi({ description: "EC keys only." }),
    use: z.literal("sig"),
  })
  .openapi("PublicJwk");

const HealthSchema = z
  .object({
    ok: z.boolean().openapi({ description: "`true` with 200, `false` with 503." }),
    config: z.enum(["ok", "invalid"]).openapi({
      description: "`invalid`: a setting is wrong; the log names every problem.",
    }),
    ledger: z.enum(["ready", "not_migrated", "unavailable"]).openapi({
      description:
        "The worst shard: `not_migrated` (the newest migration is missing on a shard) or " +
        "`unavailable` (a shard did not answer).",
    }),
    brand: z.enum(["ok", "none", "invalid"]).openapi({
      description: "`none`: BRAND is not set; `invalid`: the pages stay unbranded (not a 503).",
    }),
    brandProblems: z
      .array(z.string())
      .optional()
      .openapi({ example: ["BRAND.color: must be a hex colour such as #1f5fbf or #15b"] }),
    webhooks: z.enum(["ok", "none", "invalid"]).openapi({
      description:
        "`none`: WEBHOOKS is not set; `invalid`: events wait in the queue until it is fixed " +
        "(not a 503: taps and issue calls go on).",
    }),
    webhookProblems: z
      .array(z.string())
      .optional()
      .openapi({
        description: "Paths and what is wrong, never a value (WEBHOOKS is a secret).",
        example: ["WEBHOOKS.0.url: must use https"],
      }),
  })
  .openapi("Health");

export function registerPublicPaths(registry: Registry): void {
  registry.registerPath({
    method: "get",
    path: "/s/{id}",
    operationId: "tapLink",
    tags: ["Tap"],
    summary: "The link a customer opens: one survey start per invite",
    description:
      "Browsers only; answers are HTML pages, never JSON. `HEAD` and link-preview bots get the " +
      "preview page and consume nothing. For a survey with `confirm`, `GET` shows a button that " +
      "`POST`s to the same address. The browser that opened an invite may open it again; for a " +
      "survey with `sameDeviceMinutes`, so may another browser on the same device (address and " +
      "platform) within that many minutes of the first open. An id followed by `.`, `)`, `,` or " +
      "`/` (a link pasted with punctuation) is redirected to `/s/{id}` first.",
    request: { params: IdParamSchema },
    responses: {
      ...errorResponses(), // 500 (a bad configuration) is JSON even here; 503 is a page, below
      302: {
        description: "To the survey, with the invite's values signed (`sig`).",
        headers: { Location: { description: "The survey URL.", schema: { type: "string" } } },
      },
      308: {
        description: "The id was followed by `.`, `)`, `,` or `/`: to the link's own address.",
        headers: { Location: { description: "`/s/{id}`.", schema: { type: "string" } } },
      },
      200: html("The preview page (bots, `HEAD`; with Open Graph tags) or the confirm page."),
      404: html("No such link."),
      410: html("Already used in another browser, expired or revoked."),
      429: html("Too many taps from this network.", { "Retry-After": "Seconds to wait." }),
      503: html("A transient failure; the link still works.", {
        "Retry-After": "Seconds to wait.",
      }),
    },
  });
  registry.registerPath({
    method: "post",
    path: "/s/{id}",
    operationId: "confirmTap",
    tags: ["Tap"],
    summary: "The confirm page's button: claims the invite of a survey with `confirm`",
    description:
      "Sent by the confirm page's form (no body is read). Claims the invite exactly as a `GET` " +
      "does for surveys without `confirm`; link-preview bots that submit forms still consume " +
      "nothing.",
    request: { params: IdParamSchema },
    responses: {
      ...errorResponses(),
      302: {
        description: "To the survey, with the invite's values signed (`sig`).",
        headers: { Location: { description: "The survey URL.", schema: { type: "string" } } },
      },
      200: html("The preview page (bots)."),
      404: html("No such link."),
      410: html("Already used in another browser, expired or revoked."),
      429: html("Too many taps from this network.", { "Retry-After": "Seconds to wait." }),
      503: html("A transient failure; the link still works.", {
        "Retry-After": "Seconds to wait.",
      }),
    },
  });
  registry.registerPath({
    method: "get",
    path: "/healthz",
    operationId: "health",
    tags: ["Service"],
    summary: "Readiness: the configuration parses and every ledger shard is migrated",
    description:
      "Answers whatever else is broken, and names nothing secret: the configuration's problems " +
      "go to the log (`config_error` lines) and `npm run check-config` lists them. `brand` says " +
      "whether the pages carry BRAND: `invalid` leaves them unbranded, never down, and " +
      "`brandProblems` says why. `webhooks` says the same of WEBHOOKS: `invalid` holds events " +
      "in the queue, and `webhookProblems` names what to fix.",
    responses: {
      ...errorResponses(), // 500: a failure of the check itself; its 503 is the body below
      200: {
        description: "Ready.",
        content: { "application/json": { schema: HealthSchema } },
      },
      503: {
        description: "Not ready: the field that is not `ok`/`ready` says which part.",
        content: { "application/json": { schema: HealthSchema } },
      },
    },
  });
  registry.registerPath({
    method: "get",
    path: "/.well-known/jwks.json",
    operationId: "signingKeys",
    tags: ["Service"],
    summary: "The public keys that verify invite tokens and the `sig` on survey links",
    responses: {
      200: {
        description: "A JSON Web Key Set (public parts only).",
        content: {
          "application/json": {
            schema: z.object({ keys: z.array(JwkSchema) }).openapi("Jwks"),
          },
        },
      },
      ...errorResponses(),
    },
  });
}
