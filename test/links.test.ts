import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  ADMIN_KEY,
  ANALYST_KEY,
  api,
  apiRequest,
  issue,
  linkRequest,
  linkStatus,
  ORIGIN,
  tap,
  uniqueTxn,
} from "./helpers/api";
import { ledgerOf } from "./helpers/ledger";
import { callWorker } from "./security/helpers";

interface ErrorEnvelope {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

const post = (json: unknown, path = "/v1/links") => api(path, { method: "POST", json });

async function errorOf(res: Response, status: number): Promise<ErrorEnvelope["error"]> {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toMatch(/application\/json/);
  const body = (await res.json()) as ErrorEnvelope;
  expect(typeof body.error.code).toBe("string");
  expect(typeof body.error.message).toBe("string");
  return body.error;
}

const paths = (error: ErrorEnvelope["error"]) => error.details?.map((d) => d.path) ?? [];

describe("POST /v1/links", () => {
  it("issues a link with an opaque, URL-safe id of at least 96 random bits", async () => {
    const res = await post(linkRequest());
    expect(res.status).toBe(201);
    const link = (await res.json()) as Record<string, string>;
    expect(Object.keys(link).sort()).toEqual(["expiresAt", "id", "status", "survey", "url"]);
    expect(link.id).toMatch(/^[A-Za-z0-9_-]{16,32}$/);
    expect(link.url).toBe(`${ORIGIN}/s/${link.id}`);
    expect(link.survey).toBe("demo");
    expect(link.status).toBe("issued");
    const lifetime = Date.parse(link.expiresAt ?? "") - Date.now();
    expect(lifetime).toBeGreaterThan(7 * 86_400_000 - 60_000); // the demo survey's default
    expect(lifetime).toBeLessThanOrEqual(7 * 86_400_000);
  });

  it("gives every link a different id", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await issue()).id);
    expect(ids.size).toBe(20);
  });

  it("honours ttlSeconds", async () => {
    const link = await issue({ ttlSeconds: 3600 });
    const lifetime = Date.parse(link.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(3_500_000);
    expect(lifetime).toBeLessThanOrEqual(3_600_000);
  });

  it("returns the same link with 200 when the same request is retried", async () => {
    const request = linkRequest();
    const first = await post(request);
    expect(first.status).toBe(201);
    const created = await first.json();
    // Key order does not matter; the platform may serialise differently on a retry.
    const reordered = Object.fromEntries(Object.entries(request).reverse());
    const again = await post(reordered);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(created);
  });

  it("answers 409 when the same survey and transaction come with a different body", async () => {
    const request = linkRequest();
    expect((await post(request)).status).toBe(201);
    const error = await errorOf(
      await post({ ...request, embeddedData: { venue: "Somewhere else" } }),
      409,
    );
    expect(error.code).toBe("conflict");
  });

  it("treats the same transaction id in another survey as a different invite", async () => {
    const transactionId = uniqueTxn();
    expect((await post(linkRequest({ transactionId }))).status).toBe(201);
    expect((await post(linkRequest({ transactionId, survey: "demo-ws" }))).status).toBe(201);
  });

  it("names each bad field", async () => {
    const error = await errorOf(
      await post({
        survey: "demo",
        customerId: 42,
        transactionId: "",
        trigger: "has spaces",
        embeddedData: { venue: { nested: true } },
        channel: "carrier-pigeon",
        ttlSeconds: 30,
        extra: "field",
      }),
      400,
    );
    expect(error.code).toBe("invalid_request");
    expect(paths(error)).toEqual(
      expect.arrayContaining([
        "customerId",
        "transactionId",
        "trigger",
        "embeddedData.venue",
        "channel",
        "ttlSeconds",
      ]),
    );
    expect(error.details?.some((d) => d.message.includes("extra"))).toBe(true);
  });

  it("rejects an unknown survey", async () => {
    const error = await errorOf(await post(linkRequest({ survey: "nope" })), 400);
    expect(error.details).toEqual([{ path: "survey", message: 'unknown survey "nope"' }]);
  });

  it("rejects embedded-data fields the survey does not declare", async () => {
    const error = await errorOf(
      await post(linkRequest({ embeddedData: { venue: "A", price: 10, vip: true } })),
      400,
    );
    expect(paths(error).sort()).toEqual(["embeddedData.price", "embeddedData.vip"]);
  });

  it("rejects values over a sane length and control characters in ids", async () => {
    const error = await errorOf(
      await post(
        linkRequest({
          embeddedData: { venue: "x".repeat(1025) },
          customerId: "a\r\nSet-Cookie: x=1",
          transactionId: "t".repeat(129),
        }),
      ),
      400,
    );
    expect(paths(error).sort()).toEqual(["customerId", "embeddedData.venue", "transactionId"]);
  });

  it("refuses a customerId or transactionId made only of spaces, naming each", async () => {
    const error = await errorOf(
      await post(linkRequest({ customerId: "   ", transactionId: " \t " })),
      400,
    );
    expect(error.details).toEqual(
      expect.arrayContaining([
        { path: "customerId", message: "must not be blank" },
        { path: "transactionId", message: "must not be blank" },
      ]),
    );
    // Spaces around a real id are kept as given: the same request replays the same link.
    const padded = linkRequest({ customerId: " customer-42 " });
    const first = await post(padded);
    expect(first.status).toBe(201);
    expect((await post(padded)).status).toBe(200);
  });

  it("rejects ttlSeconds over the survey's maximum and under KV's minimum", async () => {
    const over = await errorOf(await post(linkRequest({ ttlSeconds: 31 * 86_400 })), 400);
    expect(paths(over)).toEqual(["ttlSeconds"]);
    expect(over.details?.[0]?.message).toContain("2592000");
    const under = await errorOf(await post(linkRequest({ ttlSeconds: 59 })), 400);
    expect(paths(under)).toEqual(["ttlSeconds"]);
  });

  it("answers 400 for malformed JSON, 415 for a body that is not JSON", async () => {
    const malformed = await api("/v1/links", {
      method: "POST",
      body: '{"survey": "demo",',
      headers: { "Content-Type": "application/json" },
    });
    expect((await errorOf(malformed, 400)).code).toBe("invalid_request");
    const form = await api("/v1/links", {
      method: "POST",
      body: "survey=demo",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect((await errorOf(form, 415)).code).toBe("unsupported_media_type");
    const none = await api("/v1/links", { method: "POST", body: "{}" });
    expect(none.status).toBe(415);
  });

  it("answers 413 over 64 KB for one link", async () => {
    const big = { ...linkRequest(), padding: "x".repeat(65 * 1024) };
    expect((await errorOf(await post(big), 413)).code).toBe("payload_too_large");
  });

  it("answers 401 without a key or with an unknown one, 403 without the scope", async () => {
    const none = await api("/v1/links", { method: "POST", json: linkRequest(), key: null });
    expect((await errorOf(none, 401)).code).toBe("unauthorized");
    expect(none.headers.get("WWW-Authenticate")).toContain("Bearer");
    const wrong = await api("/v1/links", { method: "POST", json: linkRequest(), key: "nope" });
    expect((await errorOf(wrong, 401)).code).toBe("unauthorized");
    const analyst = await api("/v1/links", {
      method: "POST",
      json: linkRequest(),
      key: ANALYST_KEY,
    });
    expect((await errorOf(analyst, 403)).code).toBe("forbidden");
  });

  it("accepts the admin key for every scope", async () => {
    const res = await api("/v1/links", {
      method: "POST",
      json: linkRequest(),
      key: "dev-admin-key",
    });
    expect(res.status).toBe(201);
  });
});

describe("POST /v1/links/batch", () => {
  it("answers one result per item, in order, and one bad item fails alone", async () => {
    const retried = linkRequest();
    expect((await post(retried)).status).toBe(201);
    const conflicting = linkRequest();
    expect((await post(conflicting)).status).toBe(201);
    const sameTwice = linkRequest();
    const res = await post(
      {
        links: [
          linkRequest(),
          { ...linkRequest(), survey: "unknown" },
          retried,
          { ...conflicting, trigger: "other" },
          "not an object",
          sameTwice,
          sameTwice,
        ],
      },
      "/v1/links/batch",
    );
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as {
      results: { index: number; status: number; link?: { id: string }; error?: { code: string } }[];
    };
    expect(results.map((r) => [r.index, r.status])).toEqual([
      [0, 201],
      [1, 400],
      [2, 200],
      [3, 409],
      [4, 400],
      [5, 201],
      [6, 200],
    ]);
    expect(results[1]?.error?.code).toBe("invalid_request");
    expect(results[3]?.error?.code).toBe("conflict");
    expect(results[6]?.link?.id).toBe(results[5]?.link?.id);
    expect((await tap(results[0]?.link?.id ?? "")).status).toBe(302);
  });

  it("issues 500 links in one call and refuses 501", async () => {
    const links = Array.from({ length: 500 }, () => linkRequest());
    const res = await post({ links }, "/v1/links/batch");
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { status: number }[] };
    expect(results).toHaveLength(500);
    expect(results.every((r) => r.status === 201)).toBe(true);
    const over = await post({ links: [...links, linkRequest()] }, "/v1/links/batch");
    expect((await errorOf(over, 400)).details?.[0]?.path).toBe("links");
  });

  it("answers 413 over 1 MB", async () => {
    const links = Array.from({ length: 2 }, () => ({ ...linkRequest(), pad: "x".repeat(600_000) }));
    expect((await post({ links }, "/v1/links/batch")).status).toBe(413);
  });
});

describe("GET and DELETE /v1/links/:id", () => {
  it("reports status, timestamps and counts", async () => {
    const link = await issue();
    const before = await linkStatus(link.id);
    expect(before).toMatchObject({
      id: link.id,
      survey: "demo",
      status: "issued",
      openedAt: null,
      reopens: 0,
      blocked: 0,
      previews: 0,
    });
    expect((await tap(link.id)).status).toBe(302);
    const after = await linkStatus(link.id);
    expect(after.status).toBe("opened");
    expect(Date.parse(after.openedAt ?? "")).toBeGreaterThan(0);
  });

  it("needs links:read and answers 404 for unknown or malformed ids", async () => {
    const link = await issue();
    expect((await api(`/v1/links/${link.id}`, { key: ANALYST_KEY })).status).toBe(403);
    expect((await api(`/v1/links/${link.id}`, { key: null })).status).toBe(401);
    expect((await errorOf(await api("/v1/links/AAAAAAAAAAAAAAAAAAAAAA"), 404)).code).toBe(
      "unknown_or_purged",
    );
    expect((await api("/v1/links/..%2F..%2Fetc")).status).toBe(404);
  });

  it("revokes a link: status revoked, and a later tap gets the revoked page", async () => {
    const link = await issue();
    const res = await api(`/v1/links/${link.id}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("revoked");
    const tapped = await tap(link.id);
    expect(tapped.status).toBe(410);
    expect(await tapped.text()).toContain("no longer available");
    expect((await linkStatus(link.id)).status).toBe("revoked");
    expect((await api("/v1/links/AAAAAAAAAAAAAAAAAAAAAA", { method: "DELETE" })).status).toBe(404);
  });

  it("refuses to revoke a link that expired unopened (409), which stays expired", async () => {
    const link = await issue();
    // Issued two days ago with a day to live: expired yesterday, never opened.
    await ledgerOf(link.id)
      .prepare(
        "UPDATE invites SET issued_at = issued_at - 172800000, expires_at = issued_at - 86400000 WHERE id = ?",
      )
      .bind(link.id)
      .run();
    expect((await linkStatus(link.id)).status).toBe("expired");
    const res = await api(`/v1/links/${link.id}`, { method: "DELETE" });
    const error = await errorOf(res, 409);
    expect(error.code).toBe("conflict");
    const after = await linkStatus(link.id);
    expect(after).toMatchObject({ status: "expired", revokedAt: null });
  });

  it("reports survey_removed for the live links of a survey no longer configured", async () => {
    const customerId = uniqueTxn("customer");
    const live = await issue({ customerId });
    const expired = await issue();
    await ledgerOf(expired.id)
      .prepare("UPDATE invites SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, expired.id)
      .run();
    const withoutDemo = { SURVEYS: { "demo-ws": env.SURVEYS["demo-ws" as never] } };
    const status = async (id: string) =>
      (
        (await (await callWorker(apiRequest(`/v1/links/${id}`), withoutDemo)).json()) as {
          status: string;
        }
      ).status;
    expect(await status(live.id)).toBe("survey_removed");
    expect(await status(expired.id)).toBe("expired");
    const lookup = await callWorker(
      apiRequest("/v1/privacy/lookup", { method: "POST", json: { customerId } }, ADMIN_KEY),
      withoutDemo,
    );
    const { invites } = (await lookup.json()) as { invites: { status: string }[] };
    expect(invites.map((i) => i.status)).toEqual(["survey_removed"]);
    // Configured again, the same link is issued as before.
    expect((await linkStatus(live.id)).status).toBe("issued");
  });

  it("answers a retried issue call for a removed survey with its link, survey_removed; a new one is an unknown survey", async () => {
    const request = linkRequest({ language: "fr" });
    const first = await api("/v1/links", { method: "POST", json: request });
    expect(first.status).toBe(201);
    const link = (await first.json()) as { id: string };
    const withoutDemo = { SURVEYS: { "demo-ws": env.SURVEYS["demo-ws" as never] } };
    const batch = await callWorker(
      apiRequest("/v1/links/batch", {
        method: "POST",
        json: {
          links: [request, linkRequest(), { ...request, trigger: "order_delivered" }],
        },
      }),
      withoutDemo,
    );
    expect(batch.status).toBe(200);
    const { results } = (await batch.json()) as {
      results: { status: number; link?: { id: string; status: string }; error?: unknown }[];
    };
    expect(results.map((r) => r.status)).toEqual([200, 400, 400]);
    expect(results[0]?.link).toMatchObject({ id: link.id, status: "survey_removed" });
    expect(JSON.stringify(results[1]?.error)).toContain('unknown survey \\"demo\\"');
    const single = await callWorker(
      apiRequest("/v1/links", { method: "POST", json: request }),
      withoutDemo,
    );
    expect(single.status).toBe(200);
    expect(await single.json()).toMatchObject({ id: link.id, status: "survey_removed" });
  });
});

describe("public documents", () => {
  it("publishes only public signing keys", async () => {
    const res = await api("/.well-known/jwks.json", { key: null });
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, string>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key.kid).toBeTruthy();
      expect(key.alg).toMatch(/^(ES256|EdDSA)$/);
      expect(key.d).toBeUndefined();
    }
  });

  it("describes the API in /openapi.json and renders it at /docs", async () => {
    const spec = (await (await api("/openapi.json", { key: null })).json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        "/v1/links",
        "/v1/links/batch",
        "/v1/links/{id}",
        "/v1/invites/{id}/data",
      ]),
    );
    expect(spec.paths["/v1/links"]?.post).toBeTruthy();
    expect(spec.components.schemas.LinkRequest).toBeTruthy();
    const docs = await api("/docs", { key: null });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });

  it("answers JSON 404 for unknown API paths", async () => {
    const res = await api("/v1/nothing");
    expect((await errorOf(res, 404)).code).toBe("not_found");
  });
});
