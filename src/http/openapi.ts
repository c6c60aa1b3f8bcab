/** OpenAPIHono wired to our error envelope: a failed zod validation is a 400 naming each field. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { invalidRequest, zodDetails } from "./errors";

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalidRequest(zodDetails(result.error));
    },
  });
}

export const bearerAuth = [{ bearerAuth: [] }];

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: "Error envelope",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    ]),
  );
