// @ts-check
/**
 * Every Qualtrics route the fake serves, gathered from the endpoint modules, and what follows
 * from their declarations: the per-minute limits.
 */
import { responseExportRoutes } from "./response-exports.js";
import { singleResponseRoutes } from "./single-response.js";
import { transactionRoutes } from "./transactions.js";
import { updateResponsesRoutes } from "./update-responses.js";

/** @type {import("./route.js").ApiRoute[]} */
export const API_ROUTES = [
  ...transactionRoutes,
  ...responseExportRoutes,
  ...updateResponsesRoutes,
  ...singleResponseRoutes,
];

/** Per-minute limits per endpoint name, as Qualtrics applies them. */
export const DEFAULT_ENDPOINT_LIMITS = Object.freeze(
  Object.fromEntries(
    API_ROUTES.flatMap((r) => (r.perMinute === undefined ? [] : [[r.endpoint, r.perMinute]])),
  ),
);

/**
 * The route for a request below /API/v3, with its decoded path parameters, or null.
 * @param {string} method @param {string} path
 */
export function matchApiRoute(method, path) {
  for (const route of API_ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) {
      const [a = "", b = "", c = ""] = match.slice(1).map((p) => decodeURIComponent(p));
      /** @type {[string, string, string]} */
      const params = [a, b, c];
      return { route, params };
    }
  }
  return null;
}
