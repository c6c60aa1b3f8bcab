/**
 * Errors for machines: one JSON envelope `{error: {code, message, details?}}` with the right
 * status. Routes throw `ApiError`; `renderError` (the app's onError) turns anything into the
 * envelope, so bad input never becomes a bare 500.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { ConfigError } from "../config";
import type { AppEnv } from "./context";
import { log } from "./log";

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: ErrorDetail[];
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
  if (error instanceof ConfigError) {
    log("config_error", { requestId: c.get("requestId"), message: error.message });
    return errorResponse(c, new ApiError(500, "config_error", error.message));
  }
  log("unhandled_error", {
    requestId: c.get("requestId"),
    error: error.name,
    message: error.message,
  });
  return errorResponse(
    c,
    new ApiError(503, "unavailable", "The service could not complete the request; try again."),
  );
}
