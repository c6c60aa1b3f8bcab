// @ts-check
/**
 * `POST /oauth2/token`, OAuth 2.0 client credentials: Basic auth with the client id and secret, a
 * form body with `grant_type=client_credentials` and the scopes wanted. Errors here follow
 * RFC 6749 (`{error, error_description}`), not the API envelope.
 */
import { randomBytes } from "node:crypto";
import { KNOWN_SCOPES } from "./scopes.js";

/**
 * @param {import("./state.js").FakeContext} ctx
 * @param {import("node:http").IncomingMessage} req
 * @param {Buffer} body
 * @returns {{ status: number, body: Record<string, unknown> }}
 */
export function issueOAuthToken(ctx, req, body) {
  const { clientId, clientSecret, expiresIn } = ctx.oauthClient;
  const authz = req.headers.authorization ?? "";
  const basic = /^basic (.+)$/i.exec(authz);
  const decoded = Buffer.from(basic?.[1] ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const id = colon >= 0 ? decoded.slice(0, colon) : "";
  const secret = colon >= 0 ? decoded.slice(colon + 1) : "";
  if (id !== clientId || secret !== clientSecret) {
    return {
      status: 401,
      body: { error: "invalid_client", error_description: "Client authentication failed" },
    };
  }
  const contentType = String(req.headers["content-type"] ?? "");
  if (!contentType.startsWith("application/x-www-form-urlencoded")) {
    return {
      status: 400,
      body: {
        error: "invalid_request",
        error_description: "Body must be application/x-www-form-urlencoded",
      },
    };
  }
  const form = new URLSearchParams(body.toString("utf8"));
  if (form.get("grant_type") !== "client_credentials") {
    return {
      status: 400,
      body: { error: "unsupported_grant_type", error_description: "Use client_credentials" },
    };
  }
  const requested = (form.get("scope") ?? "").split(/\s+/).filter(Boolean);
  const unknown = requested.filter((s) => !KNOWN_SCOPES.includes(s) && s !== "manage:all");
  if (unknown.length > 0) {
    return {
      status: 400,
      body: { error: "invalid_scope", error_description: `Unknown scope: ${unknown.join(" ")}` },
    };
  }
  // No scope asked for: the client's default grant, which here is everything.
  const scopes =
    requested.length === 0 || requested.includes("manage:all") ? [...KNOWN_SCOPES] : requested;
  const accessToken = randomBytes(24).toString("base64url");
  ctx.state.oauthTokens[accessToken] = { expiresAt: ctx.now() + expiresIn * 1000, scopes };
  return {
    status: 200,
    body: {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: expiresIn,
      scope: scopes.join(" "),
    },
  };
}
