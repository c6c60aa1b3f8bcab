// @ts-check
/**
 * Naive storage floors: per route, exactly the KV and D1 round trips the obvious
 * design needs on its hot path, awaited in order, then a fixed answer. No JWT, no
 * validation, no cookies, no pages: whatever the service adds on top of these
 * must be paid for by using the stores more cleverly than this.
 *
 *   GET  /tap/:id      KV read, D1 batch (claim UPDATE + click INSERT), KV write, 302
 *   GET  /refused/:id  KV read, D1 write (blocked_count + 1), 410 (302 if unclaimed)
 *   POST /issue        KV write, D1 insert, 201 with a small JSON
 *   POST /seed?kind=tap|refused&prefix=P&from=A&count=N
 *                      creates ids P<A>..P<A+N-1> (KV keys + invites rows), untimed
 *   GET  /             200 "ok" (readiness)
 */

/**
 * @typedef {{ get(key: string): Promise<string | null>;
 *   getWithMetadata(key: string): Promise<{ value: string | null; metadata: unknown }>;
 *   put(key: string, value: string, options?: { expirationTtl?: number; metadata?: unknown }): Promise<void> }} KV
 * @typedef {{ bind(...values: unknown[]): D1Statement; run(): Promise<unknown> }} D1Statement
 * @typedef {{ prepare(sql: string): D1Statement; batch(statements: D1Statement[]): Promise<unknown[]> }} D1
 * @typedef {{ LINKS: KV; DB: D1 }} Env
 */

const TARGET = "https://example.qualtrics.com/jfe/form/SV_demo";
const TTL_SECONDS = 7 * 24 * 3600;
// Stands in for the signed token the service stores under each id (a compact
// ES256 JWS with the invite's claims is about this long).
const TOKEN = `eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldi0xIn0.${"x".repeat(560)}.${"s".repeat(86)}`;

const EMBEDDED_DATA = '{"venue":"A","event":"E1","seat":"12"}';
const REQUEST_HASH = "0".repeat(64);

const redirect = () =>
  new Response(null, {
    status: 302,
    headers: { Location: TARGET, "Cache-Control": "no-store" },
  });

/** @param {number} status */
const page = (status) =>
  new Response(status === 410 ? "used" : "not found", {
    status,
    headers: { "Content-Type": "text/plain", "Cache-Control": "no-store" },
  });

/** 16 random bytes as base64url: the same id length as the service. */
function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** @param {string} id @param {Env} env */
async function tap(id, env) {
  const { value } = await env.LINKS.getWithMetadata(id);
  if (value === null) return page(404);
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare("UPDATE invites SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL").bind(
      now,
      id,
    ),
    env.DB.prepare(
      "INSERT INTO click_events (invite_id, at, outcome, country, ua_class) VALUES (?, ?, 'opened', NULL, 'mobile')",
    ).bind(id, now),
  ]);
  await env.LINKS.put(id, value, {
    expirationTtl: TTL_SECONDS,
    metadata: { consumedAt: now },
  });
  return redirect();
}

/** @param {string} id @param {Env} env */
async function refused(id, env) {
  const { value, metadata } = await env.LINKS.getWithMetadata(id);
  if (value === null) return page(404);
  const consumed = typeof metadata === "object" && metadata !== null && "consumedAt" in metadata;
  await env.DB.prepare("UPDATE invites SET blocked_count = blocked_count + 1 WHERE id = ?")
    .bind(id)
    .run();
  return consumed ? page(410) : redirect();
}

/** @param {Env} env */
async function issue(env) {
  const id = newId();
  const now = Date.now();
  await env.LINKS.put(id, TOKEN, { expirationTtl: TTL_SECONDS });
  await env.DB.prepare(
    "INSERT INTO invites (id, survey, customer_ref, transaction_id, trigger, channel, embedded_data, request_hash, issued_at, expires_at) VALUES (?, 'demo', ?, ?, 'bench', 'in_app', ?, ?, ?, ?)",
  )
    .bind(id, `c-${id}`, id, EMBEDDED_DATA, REQUEST_HASH, now, now + TTL_SECONDS * 1000)
    .run();
  return Response.json({ id, url: `http://localhost/s/${id}`, status: "issued" }, { status: 201 });
}

/** Untimed setup: KV keys and ledger rows for the tap and refused floors. */
/** @param {URL} url @param {Env} env */
async function seed(url, env) {
  const kind = url.searchParams.get("kind") === "refused" ? "refused" : "tap";
  const prefix = url.searchParams.get("prefix") ?? "f";
  const from = Number(url.searchParams.get("from") ?? "0");
  const count = Math.min(Number(url.searchParams.get("count") ?? "0"), 5000);
  const now = Date.now();
  const consumedAt = kind === "refused" ? now : null;
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);
  const insert = env.DB.prepare(
    "INSERT OR IGNORE INTO invites (id, survey, customer_ref, transaction_id, trigger, channel, embedded_data, request_hash, issued_at, expires_at, consumed_at) VALUES (?, 'demo', 'c', ?, 'bench', 'in_app', ?, ?, ?, ?, ?)",
  );
  for (let i = 0; i < ids.length; i += 500) {
    await env.DB.batch(
      ids
        .slice(i, i + 500)
        .map((id) =>
          insert.bind(
            id,
            id,
            EMBEDDED_DATA,
            REQUEST_HASH,
            now,
            now + TTL_SECONDS * 1000,
            consumedAt,
          ),
        ),
    );
  }
  const options =
    kind === "refused"
      ? { expirationTtl: TTL_SECONDS, metadata: { consumedAt: now } }
      : { expirationTtl: TTL_SECONDS };
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id) => env.LINKS.put(id, TOKEN, options)));
  }
  return Response.json({ kind, seeded: ids.length });
}

export default {
  /** @param {Request} request @param {Env} env */
  async fetch(request, env) {
    const url = new URL(request.url);
    const [, route, id] = url.pathname.split("/");
    if (route === "tap" && id) return tap(id, env);
    if (route === "refused" && id) return refused(id, env);
    if (route === "issue" && request.method === "POST") return issue(env);
    if (route === "seed" && request.method === "POST") return seed(url, env);
    if (url.pathname === "/") return new Response("ok");
    return page(404);
  },
};
