/**
 * `/openapi.json` says what the API does: every reference resolves, every operation documents its
 * errors (with the one envelope) and its credentials, and the scope each operation documents is
 * the one it enforces. (A maintained validator checks the whole document in
 * test/e2e/docs.e2e.ts, in Node.)
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, ANALYST_KEY, api, ISSUER_KEY } from "./helpers/api";

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  "x-required-scope"?: string;
  description?: string;
  requestBody?: unknown;
  responses: Record<string, { $ref?: string }>;
}

interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, unknown>;
    responses: Record<string, { headers?: Record<string, unknown>; content: unknown }>;
    securitySchemes: Record<string, Record<string, unknown>>;
  };
}

let spec: Document;
const operations: { method: string; path: string; op: Operation }[] = [];

beforeAll(async () => {
  const res = await api("/openapi.json", { key: null });
  expect(res.status).toBe(200);
  spec = await res.json();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) operations.push({ method, path, op });
  }
});

/** Every `$ref` string in the document, with where it was found. */
function refs(node: unknown, at = "#"): { ref: string; at: string }[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => refs(item, `${at}/${i}`));
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "$ref" && typeof value === "string"
      ? [{ ref: value, at }]
      : refs(value, `${at}/${key}`),
  );
}

function resolve(document: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  return ref
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>(
      (node, part) =>
        node !== null && typeof node === "object"
          ? (node as Record<string, unknown>)[part]
          : undefined,
      document,
    );
}

const samplePath = (path: string) => path.replace("{id}", "3q2-7wEAbcDEfGhIjKlMnO");

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and every $ref in it resolves", () => {
    expect(spec.openapi).toMatch(/^3\.1\./);
    const all = refs(spec);
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter(({ ref }) => resolve(spec, ref) === undefined)).toEqual([]);
  });

  it("documents the error envelope once, and every error response uses it", () => {
    const envelope = resolve(spec, "#/components/schemas/Error");
    expect(envelope).toMatchObject({
      type: "object",
      properties: { error: { $ref: "#/components/schemas/ErrorBody" } },
      required: ["error"],
    });
    expect(resolve(spec, "#/components/schemas/ErrorBody")).toMatchObject({
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
      required: ["code", "message"],
    });
    for (const [name, response] of Object.entries(spec.components.responses)) {
      expect(response.content, name).toEqual({
        "application/json": { schema: { $ref: "#/components/schemas/Error" } },
      });
    }
    expect(spec.components.responses.TooManyRequests?.headers).toHaveProperty("Retry-After");
    expect(spec.components.responses.Unauthorized?.headers).toHaveProperty("WWW-Authenticate");
  });

  it("every operation documents 5xx; API key routes 401 and 403; JSON bodies 400, 413, 415", () => {
    const missing: string[] = [];
    const expectStatus = (name: string, op: Operation, status: string) => {
      if (!op.responses[status]) missing.push(`${name}: ${status}`);
    };
    for (const { method, path, op } of operations) {
      const name = `${method.toUpperCase()} ${path}`;
      for (const status of ["500", "503"]) expectStatus(name, op, status);
      if (op["x-required-scope"]) for (const s of ["401", "403"]) expectStatus(name, op, s);
      if (op.requestBody) for (const s of ["400", "413", "415"]) expectStatus(name, op, s);
    }
    expect(missing).toEqual([]);
    expect(spec.paths["/v1/links"]?.post?.responses).toHaveProperty("409");
    expect(spec.paths["/v1/links"]?.post?.responses).toHaveProperty("429");
    expect(spec.paths["/v1/links/batch"]?.post?.responses).toHaveProperty("429");
  });

  it("types each batch item as a LinkRequest", () => {
    const batch = resolve(spec, "#/components/schemas/BatchRequest") as {
      properties: { links: { items: unknown; maxItems: number } };
    };
    expect(batch.properties.links.items).toEqual({
      allOf: [{ $ref: "#/components/schemas/LinkRequest" }],
    });
    expect(batch.properties.links.maxItems).toBe(500);
    expect(resolve(spec, "#/components/schemas/BatchResult")).toMatchObject({
      properties: {
        link: { allOf: expect.arrayContaining([{ $ref: "#/components/schemas/Link" }]) },
        error: { allOf: expect.arrayContaining([{ $ref: "#/components/schemas/ErrorBody" }]) },
      },
    });
  });

  it("every /v1 operation names its credentials: an API key scope or the web-service secret", () => {
    expect(spec.components.securitySchemes.apiKey).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    expect(spec.components.securitySchemes.webserviceSecret).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "X-Webservice-Secret" }),
    );
    for (const { method, path, op } of operations.filter((o) => o.path.startsWith("/v1/"))) {
      const name = `${method.toUpperCase()} ${path}`;
      const scope = op["x-required-scope"];
      if (path === "/v1/invites/{id}/data") {
        expect(op.security, name).toEqual([{ webserviceSecret: [] }]);
        continue;
      }
      expect(scope, name).toMatch(
        /^(links:write|links:read|stats:read|privacy|optouts:write|admin)$/,
      );
      expect(op.security, name).toEqual([{ apiKey: [scope] }]);
      expect(op.description, name).toContain(`\`${scope}\` scope`);
    }
  });
});

describe("the service's own entries", () => {
  it("names the public origin as the server", () => {
    expect((spec as unknown as { servers: unknown }).servers).toEqual([
      { url: "https://invite-edge.test", description: "This service" },
    ]);
  });

  it("describes /healthz as it answers, and the confirm page's POST", async () => {
    const health = spec.paths["/healthz"]?.get;
    expect(health?.responses).toHaveProperty("200");
    expect(resolve(spec, "#/components/schemas/Health")).toMatchObject({
      properties: {
        ok: { type: "boolean" },
        config: {},
        ledger: {},
        brand: {},
        brandProblems: {},
        webhooks: {},
        webhookProblems: {},
      },
      required: ["ok", "config", "ledger", "brand", "webhooks"],
    });
    const body = await (await api("/healthz", { key: null })).json();
    expect(Object.keys(body as object).sort()).toEqual([
      "brand",
      "config",
      "ledger",
      "ok",
      "webhooks",
    ]);
    const confirm = spec.paths["/s/{id}"]?.post;
    expect(confirm?.operationId).toBe("confirmTap");
    expect(confirm?.responses).toHaveProperty("302");
  });
});

describe("what the document says is what the routes do", () => {
  /** A key that lacks `scope` (the dev keys: issuer = links:*, analyst = stats:read). */
  const keyWithout = (scope: string) => (scope.startsWith("links:") ? ANALYST_KEY : ISSUER_KEY);

  it("each operation refuses a key without its documented scope, naming that scope", async () => {
    const scoped = operations.filter((o) => o.op["x-required-scope"]);
    expect(scoped.length).toBeGreaterThanOrEqual(9);
    for (const { method, path, op } of scoped) {
      const scope = op["x-required-scope"] ?? "";
      const res = await api(samplePath(path), { method, key: keyWithout(scope) });
      expect(res.status, `${method} ${path}`).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("forbidden");
      expect(body.error.message).toContain(scope);
      const none = await api(samplePath(path), { method, key: null });
      expect(none.status, `${method} ${path} without a key`).toBe(401);
      expect(none.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
    }
  });

  it("a key with the documented scope gets past the scope check (read operations)", async () => {
    const keyWith: Record<string, string> = {
      "links:read": ISSUER_KEY,
      "stats:read": ANALYST_KEY,
      privacy: ADMIN_KEY,
      admin: ADMIN_KEY,
    };
    for (const { path, op } of operations.filter(
      (o) => o.method === "get" && o.op["x-required-scope"],
    )) {
      const key = keyWith[op["x-required-scope"] ?? ""];
      const res = await api(samplePath(path), { key });
      expect([200, 404], `GET ${path}`).toContain(res.status);
    }
  });

  it("the web-service data route wants the X-Webservice-Secret header, not an API key", async () => {
    const path = samplePath("/v1/invites/{id}/data");
    expect((await api(path, { key: ADMIN_KEY })).status).toBe(401);
    const withSecret = await api(path, {
      key: null,
      headers: { "X-Webservice-Secret": "dev-webservice-secret" },
    });
    expect(withSecret.status).toBe(404);
  });
});
