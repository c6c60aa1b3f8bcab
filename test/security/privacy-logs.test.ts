/**
 * Logs carry no customer ids, embedded data, tokens, API keys or secrets. A full scenario (issue,
 * batch, retries, every kind of tap, the data endpoint, revocation, forged tokens, wrong keys, bad
 * bodies, store faults, the retention cron) runs with console output captured; the capture is
 * then scanned for every sensitive value the scenario used.
 */
import { createScheduledController, env, SELF } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import {
  api,
  COOKIE_SECRET,
  cookieFrom,
  type IssuedLink,
  issue,
  linkRequest,
  ORIGIN,
  tap,
  WEBSERVICE_SECRET,
} from "../helpers/api";
import { failingBatches, ledgerOf } from "../helpers/ledger";
import { callWorker, devSigningJwk, ledgerRow, tapRequest } from "./helpers";

const CUSTOMER = "cust-PRIVATE-51d7c0";
const EMBEDDED = {
  venue: "venue-PRIVATE-aa01",
  event: "event-PRIVATE-bb02",
  seat: "seat-PRIVATE-cc03",
};
const WRONG_KEYS = ["wrong-key-PRIVATE-1", "dev-issuer-key-PRIVATE", "ie_live_PRIVATE_0123456789"];
const WRONG_SECRET = "webservice-PRIVATE-guess";

const methods = ["log", "info", "warn", "error", "debug"] as const;
const captured: string[] = [];
/** Values that must never be logged; the scenario adds tokens, cookies and signatures it sees. */
const sensitive = new Set<string>([
  CUSTOMER,
  ...Object.values(EMBEDDED),
  ...WRONG_KEYS,
  WRONG_SECRET,
  "dev-issuer-key",
  "dev-analyst-key",
  "dev-admin-key",
  COOKIE_SECRET,
  WEBSERVICE_SECRET,
  devSigningJwk().d ?? "",
]);

beforeAll(() => {
  for (const method of methods) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
});

const request = (overrides: Record<string, unknown> = {}) =>
  linkRequest({ customerId: CUSTOMER, embeddedData: EMBEDDED, ...overrides });

/** Remembers the token of a link and the pieces of it, which must not be logged either. */
async function rememberToken(id: string) {
  const token = (await ledgerRow(id))?.token;
  if (!token) return;
  sensitive.add(token);
  for (const part of token.split(".")) sensitive.add(part);
}

function rememberRedirect(res: Response) {
  const location = res.headers.get("Location");
  if (location) {
    const sig = new URL(location).searchParams.get("sig");
    if (sig) sensitive.add(sig);
  }
  const cookie = cookieFrom(res).split("=")[1];
  if (cookie) sensitive.add(cookie);
}

describe("logs over a full scenario", () => {
  it("run the scenario", async () => {
    // Issue: single, idempotent retry, conflict, batch with a bad item, wrong scope, bad bodies.
    const single = request();
    const issued = (await (
      await api("/v1/links", { method: "POST", json: single })
    ).json()) as IssuedLink;
    await api("/v1/links", { method: "POST", json: single });
    await api("/v1/links", { method: "POST", json: { ...single, trigger: "other" } });
    const batch = await api("/v1/links/batch", {
      method: "POST",
      json: { links: [request(), request({ survey: "demo-confirm" }), { ...request(), seat: 1 }] },
    });
    const [, confirmLink] = ((await batch.json()) as { results: { link?: { id: string } }[] })
      .results;
    await api("/v1/links", { method: "POST", key: "dev-analyst-key", json: request() });
    await api("/v1/links", {
      method: "POST",
      body: `{"customerId": "${CUSTOMER}",`,
      headers: { "Content-Type": "application/json" },
    });
    await api("/v1/links", { method: "POST", json: { ...request(), pad: CUSTOMER.repeat(5_000) } });
    await api("/v1/links", {
      method: "POST",
      json: request({ embeddedData: { ...EMBEDDED, nope: CUSTOMER } }),
    });
    for (const key of WRONG_KEYS) await api("/v1/links", { method: "POST", key, json: request() });
    await rememberToken(issued.id);

    // Taps: open, re-open, refused, previews, confirm page and its POST.
    const first = await tap(issued.id);
    rememberRedirect(first);
    await tap(issued.id, { cookie: cookieFrom(first) });
    await tap(issued.id, { ip: "198.51.100.50" });
    await tap(issued.id, { method: "HEAD" });
    await tap(issued.id, { ua: "facebookexternalhit/1.1" });
    if (confirmLink?.link) {
      await rememberToken(confirmLink.link.id);
      await tap(confirmLink.link.id);
      rememberRedirect(await tap(confirmLink.link.id, { method: "POST" }));
    }

    // Web service data: right and wrong secret; status; revoke and tap.
    const ws = await issue({ survey: "demo-ws", customerId: CUSTOMER, embeddedData: EMBEDDED });
    await rememberToken(ws.id);
    rememberRedirect(await tap(ws.id));
    await SELF.fetch(`${ORIGIN}/v1/invites/${ws.id}/data`, {
      headers: { "X-Webservice-Secret": WEBSERVICE_SECRET },
    });
    await SELF.fetch(`${ORIGIN}/v1/invites/${ws.id}/data`, {
      headers: { "X-Webservice-Secret": WRONG_SECRET },
    });
    await api(`/v1/links/${ws.id}`);
    await api(`/v1/links/${ws.id}`, { method: "DELETE" });
    await tap(ws.id, { ip: "198.51.100.51" });

    // Forged and edited tokens.
    const victim = await issue({ customerId: CUSTOMER, embeddedData: EMBEDDED });
    await rememberToken(victim.id);
    const token = (await ledgerRow(victim.id))?.token ?? "";
    const [header, payload, signature] = token.split(".");
    const edited = `${header}.${payload?.slice(0, -4)}AAAA.${signature}`;
    sensitive.add(edited);
    await ledgerOf(victim.id)
      .prepare("UPDATE invites SET token = ? WHERE id = ?")
      .bind(edited, victim.id)
      .run();
    await tap(victim.id);
    await tap("AAAAAAAAAAAAAAAAAAAAAA");

    // Store faults: D1 down during a claim, KV failing the consumed mark of a refused tap.
    const faulty = await issue({ customerId: CUSTOMER, embeddedData: EMBEDDED });
    await rememberToken(faulty.id);
    const d1Down = failingBatches("D1_ERROR: simulated outage");
    await callWorker(tapRequest(faulty.id), d1Down);
    const kvDown = new Proxy(env.LINKS, {
      get: (target, property) =>
        property === "put"
          ? () => Promise.reject(new Error("KV PUT failed"))
          : Reflect.get(target, property).bind(target),
    });
    rememberRedirect(await callWorker(tapRequest(faulty.id), { LINKS: kvDown }));
    await callWorker(tapRequest(faulty.id, { ip: "192.0.2.77" }), { LINKS: kvDown });

    // A broken configuration, and the retention cron.
    await callWorker(tapRequest(faulty.id), { COOKIE_SECRET: "short" });
    await ledgerOf(victim.id)
      .prepare("UPDATE invites SET issued_at = ? WHERE id = ?")
      .bind(Date.now() - 100 * 86_400_000, victim.id)
      .run();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: "*/10 * * * *" }),
      env,
    );
    expect(captured.length).toBeGreaterThan(5);
  });

  it("logged events for the scenario, none of them with personal data, tokens, keys or secrets", () => {
    const output = captured.join("\n");
    for (const event of [
      "links_batch_issued",
      "link_revoked",
      "token_rejected",
      "claim_failed",
      "background_write_failed",
      "scheduled_job_done",
    ]) {
      expect(output).toContain(`"event":"${event}"`);
    }
    const leaks = [...sensitive].filter((value) => value.length >= 8 && output.includes(value));
    expect(leaks).toEqual([]);
    expect(sensitive.size).toBeGreaterThan(20);
  });
});
