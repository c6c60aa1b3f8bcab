/**
 * OpenAPI plumbing shared by every route: OpenAPIHono wired to our error envelope (a failed zod
 * validation is a 400 naming each field), the envelope's schema, one named response per error
 * status, and the two ways a caller authenticates (an API key with a scope, or the web-service
 * secret). Routes say which errors they answer; 500 and 503 can come from any route.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Scope } from "../config/config";
import type { AppEnv } from "./context";
import { invalidRequest, zodDetails } from "./errors";

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalidRequest(zodDetails(result.error));
    },
  });
}

export const ErrorBodySchema = z
  .object({
    code: z.string().openapi({
      description: "Stable, machine-readable: branch on this, not on the message.",
      example: "invalid_request",
    }),
    message: z.string().openapi({ example: "The request is invalid." }),
    details: z
      .array(
        z.object({
          path: z.string().openapi({ example: "embeddedData.venue" }),
          message: z.string().openapi({ example: "must be at most 1000 characters" }),
        }),
      )
      .optional()
      .openapi({ description: "For invalid input: one entry per bad field." }),
    requestId: z
      .string()
      .optional()
      .openapi({ description: "On 5xx: the request's id, as in the X-Request-Id header." }),
  })
  .openapi("ErrorBody");

const ErrorSchema = z
  .object({ error: ErrorBodySchema })
  .openapi("Error", { description: "Every error a machine gets: one envelope." });

const header = (description: string) => ({ description, schema: { type: "string" as const } });

/** Each error status: its component name, its `error.code` and when it happens. */
const ERRORS = {
  400: ["BadRequest", "invalid_request", "The body, a parameter or the query is invalid."],
  401: [
    "Unauthorized",
    "unauthorized",
    "No credentials, or unknown ones (API key routes also send `WWW-Authenticate`).",
  ],
  403: ["Forbidden", "forbidden", "The API key is valid but lacks the scope this route needs."],
  404: [
    "NotFound",
    "not_found",
    "No such import or run (`not_found`), or no such link or invite (`unknown_or_purged`: never " +
      "issued, or removed after the retention period).",
  ],
  409: ["Conflict", "conflict", "The request conflicts with the current state (see the message)."],
  410: [
    "Gone",
    "gone",
    "The invite was revoked (code `revoked`), or its data deleted (retention period, or erased on request).",
  ],
  413: ["PayloadTooLarge", "payload_too_large", "The body is over the route's size limit."],
  415: ["UnsupportedMediaType", "unsupported_media_type", "The body is not application/json."],
  429: ["TooManyRequests", "rate_limited", "Over the rate limit: wait `Retry-After` seconds."],
  500: [
    "InternalError",
    "internal_error",
    "A bug (`internal_error`) or a broken configuration (`config_error`); the message names " +
      "nothing internal, the log has the details under the request id.",
  ],
  503: ["Unavailable", "unavailable", "A transient failure (a store or upstream); retry later."],
} as const;

type ErrorStatus = keyof typeof ERRORS;

const RESPONSE_HEADERS: Partial<Record<ErrorStatus, Record<string, ReturnType<typeof header>>>> = {
  401: { "WWW-Authenticate": header('`Bearer realm="invite-edge"` on API key routes.') },
  429: { "Retry-After": header("Seconds to wait before the next call.") },
};

/** The routes' error responses, by reference; 500 and 503 are added to every route. */
export function errorResponses(...statuses: ErrorStatus[]) {
  const all = [...new Set<ErrorStatus>([...statuses, 500, 503])].sort((a, b) => a - b);
  return Object.fromEntries(
    all.map((status) => [status, { $ref: `#/components/responses/${ERRORS[status][0]}` }]),
  );
}

/** The security schemes' names in the document. */
const API_KEY = "apiKey";
const WEBSERVICE_SECRET = "webserviceSecret";

/**
 * An operation that needs an API key with `scope`: the security requirement (OpenAPI 3.1 lets
 * non-OAuth schemes list the roles they need), the `x-required-scope` extension, and the same in
 * words, first in the description, for renderers that show neither.
 */
export function apiKeyAuth(scope: Scope, description?: string) {
  const requirement = `**Requires** an API key with the \`${scope}\` scope${scope === "admin" ? "" : " (or `admin`)"}.`;
  return {
    security: [{ [API_KEY]: [scope] }],
    "x-required-scope": scope,
    description: description ? `${requirement}\n\n${description}` : requirement,
  };
}

/** The web-service data route: the shared secret in a header, no API key. */
export function webserviceSecretAuth(description: string) {
  const requirement = "**Requires** the shared secret in the `X-Webservice-Secret` header.";
  return {
    security: [{ [WEBSERVICE_SECRET]: [] }],
    description: `${requirement}\n\n${description}`,
  };
}

type Registry = OpenAPIHono<AppEnv>["openAPIRegistry"];

/** The document's shared components: the envelope, the error responses, the security schemes. */
export function registerSharedComponents(registry: Registry, scopes: readonly Scope[]): void {
  registry.register("Error", ErrorSchema);
  for (const [status, [name, code, when]] of Object.entries(ERRORS)) {
    registry.registerComponent("responses", name, {
      description: `${when} \`error.code\`: \`${code}\`.`,
      headers: RESPONSE_HEADERS[Number(status) as ErrorStatus],
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    });
  }
  registry.registerComponent("securitySchemes", API_KEY, {
    type: "http",
    scheme: "bearer",
    description:
      "An API key as `Authorization: Bearer <key>`. Each key has scopes " +
      `(${scopes.map((s) => `\`${s}\``).join(", ")}); \`admin\` holds every scope. ` +
      "Each operation names the scope it needs.",
  });
  registry.registerComponent("securitySchemes", WEBSERVICE_SECRET, {
    type: "apiKey",
    in: "header",
    name: "X-Webservice-Secret",
    description: "The shared secret (`WEBSERVICE_SECRET`) a survey's Web Service element sends.",
  });
}
