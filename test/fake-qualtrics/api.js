// @ts-check
/**
 * The Qualtrics side of the fake: every request to `/API/v3/…` or `/oauth2/token` goes
 * fault → auth → rate limit → handler, and ends in a contract-shaped answer that is counted in
 * `state.calls` and `state.requests`.
 */
import { matchApiRoute } from "./api-routes.js";
import { authenticate } from "./auth.js";
import { ApiError, errorEnvelope, sendJson, successEnvelope } from "./envelopes.js";
import { takeFault } from "./faults.js";
import { issueOAuthToken } from "./oauth.js";
import { enforceRateLimits } from "./rate-limits.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").Fault} Fault
 */

/** @param {FakeContext} ctx @param {string} endpoint @param {number} status @param {string} method @param {string} path */
function recordCall(ctx, endpoint, status, method, path) {
  const { calls, requests } = ctx.state;
  calls.total += 1;
  calls.byEndpoint[endpoint] = (calls.byEndpoint[endpoint] ?? 0) + 1;
  calls.byStatus[String(status)] = (calls.byStatus[String(status)] ?? 0) + 1;
  requests.push({ method, path, endpoint, status, at: new Date(ctx.now()).toISOString() });
  // Bounded so a long local session does not grow without limit.
  if (requests.length > 10_000) requests.splice(0, requests.length - 10_000);
}

/** @param {FakeContext} ctx @param {number} ms */
function delay(ctx, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      ctx.timers.delete(t);
      resolve(undefined);
    }, ms);
    ctx.timers.add(t);
  });
}

/**
 * @param {FakeContext} ctx
 * @param {import("node:http").IncomingMessage} req
 * @param {import("node:http").ServerResponse} res
 * @param {URL} url
 * @param {Buffer} body
 * @param {string} origin  where this fake listens, for URLs in answers when the request has no Host
 */
export async function handleQualtrics(ctx, req, res, url, body, origin) {
  const method = req.method ?? "GET";
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const isOAuth = path === "/oauth2/token";
  const apiPath = path.startsWith("/API/v3/") ? path.slice("/API/v3".length) : null;
  const match = isOAuth || apiPath === null ? null : matchApiRoute(method, apiPath);
  const endpoint = isOAuth
    ? method === "POST"
      ? "oauthToken"
      : "unknown"
    : (match?.route.endpoint ?? "unknown");
  const baseUrl = `${req.headers.host ? `http://${req.headers.host}` : origin}/API/v3`;

  /** @param {number} status @param {unknown} payload @param {Record<string, string>} [headers] */
  const answer = (status, payload, headers) => {
    recordCall(ctx, endpoint, status, method, path);
    sendJson(res, status, payload, headers);
  };

  const fault = endpoint === "unknown" ? null : takeFault(ctx, endpoint);
  /**
   * Answers as the fault says: a dropped socket, no answer, a body of the test's choosing, or an
   * error status. True when the fault took the answer's place; false for a hang with hangMs
   * (answer normally afterwards).
   * @param {Fault} f
   */
  const applyFault = async (f) => {
    if (f.kind === "reset") {
      recordCall(ctx, endpoint, 0, method, path);
      req.socket.destroy();
      return true;
    }
    if (f.kind === "reply") {
      const text = typeof f.reply === "string" ? f.reply : JSON.stringify(f.reply);
      recordCall(ctx, endpoint, f.status, method, path);
      res.writeHead(f.status, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
      });
      res.end(text);
      return true;
    }
    if (f.kind === "hang") {
      if (f.hangMs === null) {
        recordCall(ctx, endpoint, 0, method, path);
        return true; // never answered; close() or the client's abort ends the socket
      }
      await delay(ctx, f.hangMs);
      return res.destroyed;
    }
    /** @type {Record<string, string>} */
    const headers = f.retryAfter === null ? {} : { "Retry-After": String(f.retryAfter) };
    const code =
      f.status === 429 ? "TOO_MANY_REQUESTS" : f.status >= 500 ? "SERVER_ERROR" : "FAULT";
    answer(f.status, errorEnvelope(f.status, code, `Injected ${f.status}`), headers);
    return true;
  };
  if (fault && !fault.after && (await applyFault(fault))) return;

  if (isOAuth) {
    if (method !== "POST") {
      answer(404, errorEnvelope(404, "NOT_FOUND", `No route for ${method} ${path}`));
      return;
    }
    const issued = issueOAuthToken(ctx, req, body);
    answer(
      issued.status,
      issued.body,
      issued.status === 200 ? { "Cache-Control": "no-store" } : {},
    );
    return;
  }
  try {
    if (!match) throw new ApiError(404, "NOT_FOUND", `No route for ${method} ${path}`);
    const { route, params } = match;
    authenticate(ctx, req, route.endpoint);
    enforceRateLimits(ctx, route.endpoint);
    const result = route.run(ctx, { params, query: url.searchParams, body, baseUrl });
    // The work is done; the fault takes the answer's place.
    if (fault?.after && (await applyFault(fault))) return;
    answer(200, route.raw ? result : successEnvelope(result, method));
  } catch (err) {
    if (err instanceof ApiError) {
      answer(err.status, errorEnvelope(err.status, err.errorCode, err.message), err.headers);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    answer(500, errorEnvelope(500, "SERVER_ERROR", `Fake Qualtrics bug: ${message}`));
  }
}
