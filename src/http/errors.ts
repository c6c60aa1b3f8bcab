/**
 * Errors for machines: one JSON envelope `{error: {code, message, details?, requestId?}}` with the
 * right status. Routes throw `ApiError`; `renderError` (the app's onError) turns anything into the
 * envelope: a transient store failure is a `503` with `Retry-After`, anything unknown a `500`
 * (a retry would only repeat a bug). Server-side failures carry the request id and name nothing
 * internal; the details go to the log.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { ConfigError } from "../config/config";
import { describeError, log } from "../core/log";
import { isTransientStoreFailure, STORE_RETRY_AFTER_SECONDS } from "../store/failures";
import type { AppEnv } from "./context";

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: ErrorDetail[];
  /** On server-side failures: the id to quote to the operator (also the `X-Request-Id` header). */
  requestId?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/**
 * An invite id the ledger does not hold: never issued, or its row left its shard after the
 * retention period (docs/privacy.md). Nothing is kept of a removed row, so the two look alike.
 */
export function unknownOrPurged(what: "link" | "invite"): ApiError {
  return new ApiError(
    404,
    "unknown_or_purged",
    `No ${what} with this id: it was never issued, or it was removed after the retention period.`,
  );
}

export function invalidRequest(
  details: ErrorDetail[],
  message = "The request is invalid.",
): ApiError {
  return new ApiError(400, "invalid_request", message, details);
}

/** zod issues as error details, with dotted paths (`embeddedData.venue`, `links.3.survey`). */
export function zodDetails(error: z.ZodError, prefix: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join(".") || "(body)",
    message: issue.message,
  }));
}

const STATUS_CODES: Partial<Record<number, string>> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
  503: "unavailable",
};

export function errorResponse(c: Context, error: ApiError): Response {
  return c.json({ error: error.body }, error.status, error.headers);
}

export function renderError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) return errorResponse(c, error);
  if (error instanceof HTTPException) {
    const code = STATUS_CODES[error.status] ?? "error";
    return errorResponse(c, new ApiError(error.status, code, error.message || code));
  }
  const requestId = c.get("requestId");
  if (error instanceof ConfigError) {
    log("config_error", { requestId, problems: error.message });
    return serverError(c, 500, "config_error", CONFIG_ERROR_MESSAGE);
  }
  const transient = isTransientStoreFailure(error);
  log(transient ? "store_unavailable" : "unhandled_error", {
    requestId,
    error: error.name,
    message: describeError(error),
  });
  if (transient) {
    return serverError(c, 503, "unavailable", "A store is briefly unavailable; retry shortly.", {
      "Retry-After": String(STORE_RETRY_AFTER_SECONDS),
    });
  }
  return serverError(c, 500, "internal_error", "The service failed to complete the request.");
}

export const CONFIG_ERROR_MESSAGE =
  "The service is not configured correctly; the operator has the details in the log.";

/** A server-side failure's envelope: a generic message and the request id, nothing internal. */
export function serverError(
  c: Context<AppEnv>,
  status: 500 | 503,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json({ error: { code, message, requestId: c.get("requestId") } }, status, headers);
}
