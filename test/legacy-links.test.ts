/**
 * Links issued before the ledger had shards: 22-character ids, their row in DB (shard 0), their
 * signed token in KV, exactly as the issue path of that version stored them. They must still
 * tap, re-open, refuse, answer status and data calls, count in stats and reconcile, on any
 * shard count.
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getConfig } from "../src/config/config";
import { inviteValues } from "../src/links/survey-link";
import { runReconcile } from "../src/reconcile/run";
import { base64url } from "../src/tokens/ids";
import { signInviteToken } from "../src/tokens/invite-token";
import { signLinkValues, verifyLinkValues } from "../src/tokens/link-signature";
import { ANALYST_KEY, api, cookieFrom, ORIGIN, tap, uniqueTxn } from "./helpers/api";
import {
  addResponses,
  exactlyOnce,
  fakeState,
  fast,
  inviteRows,
  qualtricsEnv,
  resetLedger,
  startFake,
  stopFakes,
} from "./helpers/reconcile";

beforeEach(resetLedger);
afterEach(stopFakes);

const WEEK_MS = 7 * 86_400_000;

/** Issues a link the way the service did before shards: row in DB, token in KV. */
async function legacyLink(survey: "demo" | "demo-ws", trigger: string): Promise<string> {
  const id = base64url(crypto.getRandomValues(new Uint8Array(16)));
  expect(id).toHaveLength(22);
  const config = getConfig(env);
  const now = Date.now();
  const expiresAt = now + WEEK_MS;
  const source = {
    customerId: "customer-legacy",
    transactionId: uniqueTxn("legacy"),
    trigger,
    embeddedData: { venue: "Old Arena", event: "Cup", seat: "A1" },
  };
  const sig = await signLinkValues(config, inviteValues(id, source));
  const token = await signInviteToken(
    config,
    id,
    { survey, ...source, channel: "push", sig },
    now,
    expiresAt,
  );
  await env.DB.prepare(
    `INSERT INTO invites (id, survey, transaction_id, customer_ref, trigger, channel,
       embedded_data, request_hash, issued_at, expires_at)
     VALUES (?, ?, ?, ?, ?, 'push', ?, ?, ?, ?)`,
  )
    .bind(
      id,
      survey,
      source.transactionId,
      source.customerId,
      trigger,
      JSON.stringify(source.embeddedData),
      "0".repeat(64),
      now,
      expiresAt,
    )
    .run();
  await env.LINKS.put(id, token, { expiration: Math.ceil(expiresAt / 1000) });
  return id;
}

describe("links issued before shards", () => {
  it("tap, re-open, refuse another browser, and answer status, data and stats", async () => {
    const trigger = `legacy_${Date.now()}`;
    const id = await legacyLink("demo", trigger);
    const first = await tap(id);
    expect(first.status).toBe(302);
    const { sig, ...values } = Object.fromEntries(
      new URL(first.headers.get("Location") ?? "").searchParams,
    );
    expect(values).toMatchObject({ inv: id, venue: "Old Arena", customer_id: "customer-legacy" });
    expect(await verifyLinkValues(getConfig(env), values, sig ?? "")).toBe(true);
    expect((await tap(id, { cookie: cookieFrom(first) })).status).toBe(302);
    expect((await tap(id)).status).toBe(410);

    const status = await api(`/v1/links/${id}`);
    expect(await status.json()).toMatchObject({ id, status: "opened", trigger });
    const stats = await api(`/v1/stats?trigger=${trigger}`, { key: ANALYST_KEY });
    expect(((await stats.json()) as { totals: unknown }).totals).toMatchObject({
      issued: 1,
      opened: 1,
    });

    const ws = await legacyLink("demo-ws", trigger);
    const data = await SELF.fetch(`${ORIGIN}/v1/invites/${ws}/data`, {
      headers: { "X-Webservice-Secret": "dev-webservice-secret" },
    });
    expect(await data.json()).toMatchObject({ inv: ws, seat: "A1" });
    expect((await api(`/v1/links/${ws}`, { method: "DELETE" })).status).toBe(200);
    expect((await tap(ws)).status).toBe(410);
  });

  it("reconcile pushes them once and completes them from their responses", async () => {
    const fake = await startFake({ pollsToComplete: 1 });
    const ids = [await legacyLink("demo", "legacy"), await legacyLink("demo", "legacy")];
    const opened = ids[0] ?? "";
    const landing = await tap(opened);
    const values = Object.fromEntries(new URL(landing.headers.get("Location") ?? "").searchParams);
    await addResponses(fake, "SV_demo", [{ embeddedData: values }]);

    const run = await runReconcile(qualtricsEnv(fake), fast());
    expect(run).toMatchObject({ status: "ok", pushed: 2, completions: 1, tampered: 0 });
    expect(exactlyOnce(await fakeState(fake), ids)).toMatchObject({ once: 2, duplicated: 0 });
    const [row] = await inviteRows([opened]);
    expect(row?.completed_at).not.toBeNull();
  });
});
