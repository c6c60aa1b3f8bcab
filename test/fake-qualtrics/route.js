// @ts-check
/**
 * How an endpoint module declares its Qualtrics routes: method, path below `/API/v3`, the name
 * calls are counted, faulted, limited and scope-checked under (scopes.js), Qualtrics' per-minute
 * limit for it, and the handler that returns the `result` (or throws an `ApiError`).
 */

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {{ params: [string, string, string], query: URLSearchParams, body: Buffer, baseUrl: string }} RouteRequest
 */

/**
 * @typedef {object} ApiRoute
 * @property {"GET" | "POST" | "PUT"} method
 * @property {RegExp} pattern     matched against the path below /API/v3
 * @property {string} endpoint    the name in `state.calls`, faults, limits and the scope table
 * @property {number} [perMinute] Qualtrics' own limit for this endpoint, if it has one
 * @property {boolean} [raw]      the answer is the result itself, not wrapped in the envelope
 * @property {(ctx: FakeContext, request: RouteRequest) => unknown} run
 */

/**
 * A path with `:name` parameters as an anchored pattern capturing each one.
 * @example pathPattern("/surveys/:surveyId/export-responses") // /^\/surveys\/([^/]+)\/export-responses$/
 * @param {string} path
 */
export function pathPattern(path) {
  return new RegExp(`^${path.replace(/:[A-Za-z]+/g, "([^/]+)")}$`);
}
