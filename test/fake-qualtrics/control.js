// @ts-check
/**
 * The test controls, never part of Qualtrics: as methods on the handle `startFakeQualtrics`
 * returns, and as HTTP routes under `/_fake/` for tests running in workerd. Inspect and reset the
 * state, declare a survey flow's embedded data, seed responses (or record them from the landing
 * URL a respondent arrived with), inject faults, change the token, the limits or the job speed, mark
 * contacts as failing or updates as refused, add directories, expire OAuth and continuation
 * tokens, change the scope table or the directory's deduplication, and start private instances.
 * Control requests are never counted and never rate limited.
 */
import { ApiError, isObject, sendJson } from "./envelopes.js";
import { injectFault } from "./faults.js";
import { rateLimitConfig } from "./rate-limits.js";
import { addResponses, declareEmbeddedData } from "./surveys.js";

/**
 * @typedef {import("./state.js").FakeContext} FakeContext
 * @typedef {import("./state.js").FakeServerState} FakeServerState
 * @typedef {import("./state.js").FakeOptions} FakeOptions
 * @typedef {import("./state.js").ResponseInput} ResponseInput
 * @typedef {import("./state.js").Transaction} Transaction
 * @typedef {import("./faults.js").FaultInput} FaultInput
 * @typedef {import("./rate-limits.js").RateLimitOptions} RateLimitOptions
 */

/**
 * @typedef {object} Controls
 * @property {() => FakeServerState} snapshot  a JSON deep copy of the state
 * @property {() => void} reset
 * @property {(surveyId: string, fields: string[]) => void} declareEmbeddedData  the survey flow's fields
 * @property {(surveyId: string, responses: ResponseInput[]) => string[]} addResponses
 * @property {(fault: FaultInput) => void} injectFault
 * @property {() => void} clearFaults
 * @property {(token: string) => void} setToken
 * @property {(limits: RateLimitOptions | false) => void} setRateLimits
 * @property {(extRefs: string[]) => void} failContacts
 * @property {(directoryId: string, mailingListIds: string[]) => void} addDirectory
 * @property {() => void} expireOAuthTokens
 * @property {() => void} expireContinuationTokens  the tokens issued so far are refused from now on
 * @property {(responseIds: string[], reason: string, at: "start" | "job") => void} refuseUpdates
 * @property {(endpoint: string, scopes: string[]) => void} requireScopes
 * @property {(on: "extRef" | "email" | null) => void} deduplicateOn
 * @property {(extRef: string, directoryId?: string) => Transaction[]} transactionsFor
 */

/**
 * @typedef {object} Instance  a fake started through `/_fake/instances`
 * @property {string} url
 * @property {string} baseUrl
 * @property {string} tokenUrl
 * @property {number} port
 * @property {() => Promise<void>} close
 */

/** @param {FakeContext} ctx @returns {Controls} */
export function createControls(ctx) {
  return {
    snapshot: () => /** @type {FakeServerState} */ (JSON.parse(JSON.stringify(ctx.state))),
    reset: () => ctx.reset(),
    declareEmbeddedData: (surveyId, fields) => declareEmbeddedData(ctx, surveyId, fields),
    addResponses: (surveyId, responses) => addResponses(ctx, surveyId, responses),
    injectFault: (fault) => injectFault(ctx, fault),
    clearFaults() {
      ctx.state.faults = [];
    },
    setToken(token) {
      ctx.state.token = token;
    },
    setRateLimits(limits) {
      ctx.state.rateLimits = rateLimitConfig(limits, ctx.initialLimits);
      ctx.windows = new Map();
    },
    failContacts(extRefs) {
      const failing = ctx.state.failingExtRefs;
      for (const e of extRefs) if (!failing.includes(e)) failing.push(e);
    },
    addDirectory(directoryId, mailingListIds) {
      const lists = ctx.state.directories[directoryId] ?? [];
      for (const ml of mailingListIds) if (!lists.includes(ml)) lists.push(ml);
      ctx.state.directories[directoryId] = lists;
    },
    expireOAuthTokens() {
      for (const grant of Object.values(ctx.state.oauthTokens)) grant.expiresAt = 0;
    },
    expireContinuationTokens() {
      for (const token of Object.values(ctx.state.continuationTokens)) token.expired = true;
    },
    refuseUpdates(responseIds, reason, at) {
      for (const id of responseIds) ctx.state.refusedUpdates[id] = { reason, at };
    },
    requireScopes(endpoint, scopes) {
      ctx.state.endpointScopes[endpoint] = [...scopes];
    },
    deduplicateOn(on) {
      ctx.state.deduplicateOn = on;
    },
    transactionsFor(extRef, directoryId) {
      return ctx.state.transactions.filter(
        (t) => t.extRef === extRef && (directoryId === undefined || t.directoryId === directoryId),
      );
    },
  };
}

/**
 * The `/_fake/` routes over the controls. Private instances (one per test file, so parallel
 * files never share state or limits) are started with `startInstance` and closed with this fake.
 * @param {FakeContext} ctx
 * @param {Controls} controls
 * @param {(options: FakeOptions) => Promise<Instance>} startInstance
 */
export function createControlRoutes(ctx, controls, startInstance) {
  /** @type {Map<number, Instance>} */
  const instances = new Map();

  /**
   * @param {string} method @param {string} path @param {Record<string, unknown>} body
   * @returns {Promise<[number, unknown]>}
   */
  async function route(method, path, body) {
    const { state } = ctx;
    const surveyMatch = /^\/_fake\/surveys\/([^/]+)\/responses$/.exec(path);
    const flowMatch = /^\/_fake\/surveys\/([^/]+)\/flow$/.exec(path);
    const instanceMatch = /^\/_fake\/instances\/(\d+)$/.exec(path);
    if (method === "GET" && path === "/_fake/state") return [200, controls.snapshot()];
    if (method === "POST" && path === "/_fake/reset") {
      controls.reset();
      return [200, { ok: true }];
    }
    if (method === "POST" && surveyMatch) {
      const list = Array.isArray(body.value) ? body.value : body.responses;
      if (!Array.isArray(list)) return [400, { error: "send {responses: [...]}" }];
      const surveyId = decodeURIComponent(surveyMatch[1] ?? "");
      return [200, { responseIds: controls.addResponses(surveyId, list) }];
    }
    if (method === "PUT" && flowMatch) {
      const fields = body.embeddedData;
      if (!Array.isArray(fields) || !fields.every((f) => typeof f === "string")) {
        return [400, { error: "send {embeddedData: [field names]}" }];
      }
      controls.declareEmbeddedData(decodeURIComponent(flowMatch[1] ?? ""), fields);
      return [200, { embeddedData: fields }];
    }
    if (method === "GET" && surveyMatch) {
      const surveyId = decodeURIComponent(surveyMatch[1] ?? "");
      return [200, { responses: state.surveys[surveyId]?.responses ?? [] }];
    }
    if (method === "POST" && path === "/_fake/faults") {
      const list = Array.isArray(body.value) ? body.value : [body];
      for (const f of list) controls.injectFault(/** @type {FaultInput} */ (f));
      return [200, { faults: ctx.state.faults }];
    }
    if (method === "DELETE" && path === "/_fake/faults") {
      controls.clearFaults();
      return [200, { ok: true }];
    }
    if (method === "POST" && path === "/_fake/token") {
      if (typeof body.token !== "string") return [400, { error: "send {token}" }];
      controls.setToken(body.token);
      return [200, { ok: true }];
    }
    if (method === "POST" && path === "/_fake/rate-limits") {
      controls.setRateLimits(
        body.enabled === false ? false : /** @type {RateLimitOptions} */ (body),
      );
      return [200, { rateLimits: ctx.state.rateLimits }];
    }
    if (method === "POST" && path === "/_fake/polls-to-complete") {
      if (typeof body.value !== "number") return [400, { error: "send a number" }];
      state.pollsToComplete = body.value;
      return [200, { pollsToComplete: state.pollsToComplete }];
    }
    if (method === "POST" && path === "/_fake/failing-contacts") {
      const list = Array.isArray(body.value) ? body.value : body.extRefs;
      if (!Array.isArray(list)) return [400, { error: "send {extRefs: [...]}" }];
      controls.failContacts(list.map(String));
      return [200, { failingExtRefs: state.failingExtRefs }];
    }
    if (method === "DELETE" && path === "/_fake/failing-contacts") {
      state.failingExtRefs = [];
      return [200, { failingExtRefs: state.failingExtRefs }];
    }
    if (method === "POST" && path === "/_fake/directories") {
      if (typeof body.directoryId !== "string" || !Array.isArray(body.mailingListIds)) {
        return [400, { error: "send {directoryId, mailingListIds}" }];
      }
      controls.addDirectory(body.directoryId, body.mailingListIds.map(String));
      return [200, { directories: state.directories }];
    }
    if (method === "POST" && path === "/_fake/oauth/expire") {
      controls.expireOAuthTokens();
      return [200, { ok: true }];
    }
    if (method === "POST" && path === "/_fake/continuation-tokens/expire") {
      controls.expireContinuationTokens();
      return [200, { ok: true }];
    }
    if (method === "POST" && path === "/_fake/refused-updates") {
      const { responseIds, reason, at } = body;
      if (
        !Array.isArray(responseIds) ||
        typeof reason !== "string" ||
        (at !== "start" && at !== "job")
      ) {
        return [400, { error: 'send {responseIds: [...], reason, at: "start" | "job"}' }];
      }
      controls.refuseUpdates(responseIds.map(String), reason, at);
      return [200, { refusedUpdates: state.refusedUpdates }];
    }
    if (method === "DELETE" && path === "/_fake/refused-updates") {
      state.refusedUpdates = {};
      return [200, { refusedUpdates: state.refusedUpdates }];
    }
    if (method === "POST" && path === "/_fake/scopes") {
      const { endpoint, scopes } = body;
      if (typeof endpoint !== "string" || !Array.isArray(scopes)) {
        return [400, { error: "send {endpoint, scopes: [...]}" }];
      }
      controls.requireScopes(endpoint, scopes.map(String));
      return [200, { endpointScopes: state.endpointScopes }];
    }
    if (method === "POST" && path === "/_fake/deduplication") {
      const on = body.on;
      if (on !== "extRef" && on !== "email" && on !== null) {
        return [400, { error: 'send {on: "extRef" | "email" | null}' }];
      }
      controls.deduplicateOn(on);
      return [200, { deduplicateOn: state.deduplicateOn }];
    }
    if (method === "POST" && path === "/_fake/instances") {
      const child = await startInstance(/** @type {FakeOptions} */ (body));
      instances.set(child.port, child);
      const { url, baseUrl, tokenUrl, port } = child;
      return [200, { url, baseUrl, tokenUrl, port }];
    }
    if (method === "DELETE" && instanceMatch) {
      const child = instances.get(Number(instanceMatch[1]));
      if (!child) return [404, { error: "no such instance" }];
      instances.delete(child.port);
      await child.close();
      return [200, { ok: true }];
    }
    return [404, { error: `no control route ${method} ${path}` }];
  }

  return {
    /**
     * @param {import("node:http").IncomingMessage} req
     * @param {import("node:http").ServerResponse} res
     * @param {URL} url
     * @param {Buffer} raw
     */
    async handle(req, res, url, raw) {
      const method = req.method ?? "GET";
      const path = url.pathname.replace(/\/+$/, "");
      /** @type {Record<string, unknown>} */
      let body = {};
      if (raw.length > 0) {
        try {
          const parsed = JSON.parse(raw.toString("utf8"));
          body = isObject(parsed) ? parsed : { value: parsed };
        } catch {
          return sendJson(res, 400, { error: "body is not JSON" });
        }
      }
      try {
        const [status, payload] = await route(method, path, body);
        sendJson(res, status, payload);
      } catch (err) {
        if (err instanceof ApiError) return sendJson(res, err.status, { error: err.message });
        throw err;
      }
    },

    async closeInstances() {
      await Promise.all([...instances.values()].map((c) => c.close()));
      instances.clear();
    },
  };
}
