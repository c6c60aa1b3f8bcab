// @ts-check
/**
 * Who may call: `X-API-TOKEN` with the brand's token (which may do everything), or
 * `Authorization: Bearer` with a live OAuth access token that holds every scope the endpoint
 * needs by the scope table (scopes.js, `state.endpointScopes`). Missing, wrong or expired
 * credentials are 401; a token without a needed scope is 403.
 */
import { ApiError } from "./envelopes.js";

/**
 * @param {import("./state.js").FakeContext} ctx
 * @param {import("node:http").IncomingMessage} req
 * @param {string} endpoint
 */
export function authenticate(ctx, req, endpoint) {
  const apiToken = req.headers["x-api-token"];
  if (typeof apiToken === "string" && apiToken.length > 0) {
    if (apiToken === ctx.state.token) return;
    throw new ApiError(401, "AUTH_1.2", "Invalid X-API-TOKEN");
  }
  const authz = req.headers.authorization;
  if (typeof authz === "string" && /^bearer /i.test(authz)) {
    const grant = ctx.state.oauthTokens[authz.slice(7).trim()];
    if (!grant) throw new ApiError(401, "AUTH_1.2", "Invalid access token");
    if (grant.expiresAt <= ctx.now()) throw new ApiError(401, "AUTH_1.3", "Access token expired");
    const needed = ctx.state.endpointScopes[endpoint] ?? [];
    const missing = needed.filter((s) => !grant.scopes.includes(s));
    if (missing.length > 0)
      throw new ApiError(403, "AUTH_2.1", `Missing scope: ${missing.join(" ")}`);
    return;
  }
  throw new ApiError(401, "AUTH_1.1", "Missing X-API-TOKEN or Authorization header");
}
