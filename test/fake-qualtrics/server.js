// @ts-check
/**
 * Fake Qualtrics API v3: the only fake in the test suite. A real loopback HTTP server that answers
 * the endpoints invite-edge uses with Qualtrics' envelopes, statuses and limits (XM Directory
 * transaction imports, response exports, response updates, OAuth client credentials), plus a
 * `/_fake/` control surface for tests.
 *
 * One module per endpoint group: transactions.js, response-exports.js, update-responses.js,
 * single-response.js, oauth.js; the surveys' responses in surveys.js (seeded, or recorded from
 * the landing URL a respondent arrived with: landing.js reads it, `Q_EED` included, as the survey
 * flow declares); the shared core in envelopes.js, auth.js, rate-limits.js and api.js
 * (fault → auth → limit → handler); the controls in control.js and faults.js.
 *
 * Invariant: anything a client can observe through `/API/v3` or `/oauth2/token` follows the
 * contract; test-only behaviour lives under `/_fake/` (or the handle's methods) and nowhere else.
 *
 * Node built-ins only, so it runs from vitest's globalSetup, from `scripts/fake-qualtrics.js`, or
 * from any plain node script.
 */
import { createServer } from "node:http";
import { handleQualtrics } from "./api.js";
import { createControlRoutes, createControls } from "./control.js";
import { errorEnvelope, readBody, sendJson } from "./envelopes.js";
import { createContext } from "./state.js";

/**
 * @typedef {import("./state.js").FakeOptions} FakeOptions
 * @typedef {import("./state.js").FakeServerState} FakeServerState
 * @typedef {import("./control.js").Controls} Controls
 */

/**
 * @typedef {object} FakeHandle
 * @property {string} url       e.g. http://127.0.0.1:8788
 * @property {string} baseUrl   url + "/API/v3"
 * @property {string} tokenUrl  url + "/oauth2/token"
 * @property {number} port
 * @property {FakeServerState} state  live state (plain objects/arrays; do not hold on to it across reset)
 * @property {() => Promise<void>} close
 */

/** @typedef {FakeHandle & Controls} FakeQualtrics */

/**
 * Start a fake Qualtrics on loopback.
 *
 * @example
 * const fake = await startFakeQualtrics({ rateLimits: false });
 * await fetch(`${fake.baseUrl}/directories/POOL_fake/transactionbatches`, { … });
 * await fake.close();
 *
 * @param {FakeOptions} [options]
 * @returns {Promise<FakeQualtrics>}
 */
export async function startFakeQualtrics(options = {}) {
  const host = options.host ?? "127.0.0.1";
  const ctx = createContext(options);
  const controls = createControls(ctx);
  const control = createControlRoutes(ctx, controls, (child) =>
    startFakeQualtrics({ host, ...child }),
  );
  let origin = "";

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    readBody(req)
      .then((body) =>
        url.pathname.startsWith("/_fake/")
          ? control.handle(req, res, url, body)
          : handleQualtrics(ctx, req, res, url, body, origin),
      )
      .catch((err) => {
        if (!res.headersSent && !res.destroyed) {
          sendJson(
            res,
            500,
            errorEnvelope(500, "SERVER_ERROR", `Fake Qualtrics bug: ${String(err)}`),
          );
        }
      });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("fake Qualtrics did not bind a TCP port");
  const urlHost = host.includes(":") ? `[${host}]` : host;
  origin = `http://${urlHost}:${address.port}`;

  let closed = false;
  return {
    ...controls,
    url: origin,
    baseUrl: `${origin}/API/v3`,
    tokenUrl: `${origin}/oauth2/token`,
    port: address.port,
    get state() {
      return ctx.state;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of ctx.timers) clearTimeout(t);
      ctx.timers.clear();
      await control.closeInstances();
      await new Promise((resolve) => {
        server.close(() => resolve(undefined));
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
}
