/**
 * Same-device re-open (`sameDeviceMinutes`, docs/tap.md): within the window after the first open,
 * another browser on the same device (address, or IPv6 /64, and platform) re-opens the survey,
 * counted as a re-open and marked `cross_browser`; anything else is refused as for any survey.
 * Only a keyed hash of the device is kept, only for the window. `demo-in-app` (wrangler.toml)
 * has a 30-minute window; `demo` has none.
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { purgeExpiredPersonalData } from "../src/retention/purge";
import { DEVICE_AGENTS } from "./fixtures/user-agents";
import {
  ANALYST_KEY,
  api,
  cookieFrom,
  eventually,
  issue,
  linkStatus,
  ORIGIN,
  tap,
  uniqueTxn,
} from "./helpers/api";
import { failingBatches } from "./helpers/ledger";
import { erase } from "./helpers/privacy";
import { callWorker, clickOutcomes, ledgerRow, tapRequest } from "./security/helpers";

const WINDOW_MS = 30 * 60_000;
const { instagramIphone, safariIphone, chromeAndroid, curl } = DEVICE_AGENTS;

afterEach(() => {
  vi.useRealTimers();
});

let addresses = 0;
/** A client address of its own per call, so that taps from other tests never share it. */
const address = () => `198.51.${100 + Math.floor(++addresses / 250)}.${addresses % 250}`;

/**
 * An in-app open of a fresh demo-in-app link from `ip`, and its background work (keeping the
 * device) done; returns the link and the answer.
 */
async function openedInApp(ip: string, overrides: Record<string, unknown> = {}) {
  const link = await issue({ survey: "demo-in-app", ...overrides });
  const first = await callWorker(tapRequest(link.id, { ua: instagramIphone, ip }));
  expect(first.status).toBe(302);
  return { link, first };
}

const statsOf = async (trigger: string) => {
  const res = await api(`/v1/stats?trigger=${trigger}&groupBy=survey`, { key: ANALYST_KEY });
  return ((await res.json()) as { totals: Record<string, number> }).totals;
};

/** Every shard's claim batch failing: only KV can answer a tap. */
const LEDGER_OUTAGE = failingBatches("D1_ERROR: network connection lost");

describe("a survey with a same-device window", () => {
  it("another browser on the same phone re-opens: a re-open marked cross_browser, with its own cookie", async () => {
    const ip = address();
    const trigger = `same-device-${uniqueTxn()}`.slice(0, 60);
    const { link, first } = await openedInApp(ip, { trigger });
    const safari = await tap(link.id, { ua: safariIphone, ip });
    expect(safari.status).toBe(302);
    expect(safari.headers.get("Location")).toBe(first.headers.get("Location"));
    const cookie = safari.headers.get("Set-Cookie") ?? "";
    expect(cookie).toContain(`Path=/s/${link.id}`);
    // That browser now re-opens with its cookie, from wherever it is, like the first.
    const later = await tap(link.id, {
      ua: safariIphone,
      ip: address(),
      cookie: cookieFrom(safari),
    });
    expect(later.status).toBe(302);

    await eventually(async () =>
      expect(await clickOutcomes(link.id)).toEqual(["opened", "cross_browser", "reopened"]),
    );
    expect(await linkStatus(link.id)).toMatchObject({ reopens: 2, blocked: 0 });
    expect(await statsOf(trigger)).toMatchObject({
      opened: 1,
      reopened: 2,
      crossBrowser: 1,
      blocked: 0,
    });
  });

  it("the same IPv6 /64 is the same network", async () => {
    const { link } = await openedInApp("2001:db8:42:7::1");
    expect((await tap(link.id, { ua: safariIphone, ip: "2001:db8:42:7:abcd::9" })).status).toBe(
      302,
    );
    expect((await tap(link.id, { ua: safariIphone, ip: "2001:db8:42:8::1" })).status).toBe(410);
  });

  it("another address, another platform, an unknown agent or no address is refused, counted as blocked", async () => {
    const ip = address();
    const { link } = await openedInApp(ip);
    expect((await tap(link.id, { ua: safariIphone, ip: address() })).status).toBe(410);
    expect((await tap(link.id, { ua: chromeAndroid, ip })).status).toBe(410);
    expect((await tap(link.id, { ua: curl, ip })).status).toBe(410);
    const anonymous = await SELF.fetch(`${ORIGIN}/s/${link.id}`, {
      headers: { "User-Agent": safariIphone },
      redirect: "manual",
    });
    expect(anonymous.status).toBe(410);
    await eventually(async () => expect((await linkStatus(link.id)).blocked).toBe(4));
    expect((await linkStatus(link.id)).reopens).toBe(0);
  });

  it("after the window the same phone is refused, and the scheduled job clears its hash", async () => {
    const ip = address();
    const { link } = await openedInApp(ip);
    const opened = await ledgerRow(link.id);
    expect(opened?.device_until).toBe((opened?.consumed_at ?? 0) + WINDOW_MS);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((opened?.consumed_at ?? 0) + WINDOW_MS + 1);
    expect((await tap(link.id, { ua: safariIphone, ip })).status).toBe(410);
    const report = await purgeExpiredPersonalData(env);
    expect(report.deviceHashesCleared).toBeGreaterThanOrEqual(1);
    expect(await ledgerRow(link.id)).toMatchObject({ device_hash: null, device_until: null });
  });

  it("keeps only a keyed hash of the device, different for each invite", async () => {
    const ip = address();
    const a = await openedInApp(ip);
    const b = await openedInApp(ip);
    const [rowA, rowB] = [await ledgerRow(a.link.id), await ledgerRow(b.link.id)];
    expect(rowA?.device_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rowB?.device_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The same phone on two invites: nothing in common to link them by.
    expect(rowA?.device_hash).not.toBe(rowB?.device_hash);
    const stored = JSON.stringify(rowA);
    for (const part of [ip, "ios", "iPhone", "phone"]) expect(stored).not.toContain(part);
  });

  it("an erasure clears the hash with the rest of the customer's data", async () => {
    const customerId = `same-device-${uniqueTxn()}`;
    const ip = address();
    const { link } = await openedInApp(ip, { customerId });
    expect((await ledgerRow(link.id))?.device_hash).not.toBeNull();
    expect((await erase(customerId)).status).toBe(200);
    expect(await ledgerRow(link.id)).toMatchObject({ device_hash: null, device_until: null });
    expect((await tap(link.id, { ua: safariIphone, ip })).status).toBe(410);
  });
});

describe("the KV consumed mark and the window", () => {
  it("inside the window a refusal writes no mark, so the same phone still gets in; after it, the mark refuses even that phone", async () => {
    const ip = address();
    const { link } = await openedInApp(ip);
    const stranger = await callWorker(tapRequest(link.id, { ip: address(), ua: safariIphone }));
    expect(stranger.status).toBe(410);
    // callWorker waited for the tap's background work: a mark would be written by now.
    expect(await env.LINKS.getWithMetadata(link.id)).toMatchObject({ value: null });
    expect((await callWorker(tapRequest(link.id, { ip, ua: safariIphone }))).status).toBe(302);

    const opened = await ledgerRow(link.id);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((opened?.consumed_at ?? 0) + WINDOW_MS + 1);
    expect(
      (await callWorker(tapRequest(link.id, { ip: address(), ua: safariIphone }))).status,
    ).toBe(410);
    const { metadata } = await env.LINKS.getWithMetadata<{ consumedAt?: number }>(link.id);
    expect(metadata?.consumedAt).toBeGreaterThan(0);
    // The ledger cannot answer: the refusal comes from the mark alone, even for the same phone.
    const fromKv = await callWorker(
      tapRequest(link.id, { ip, ua: DEVICE_AGENTS.facebookIphone }),
      LEDGER_OUTAGE,
    );
    expect(fromKv.status).toBe(410);
  });
});

describe("a survey without the setting (demo)", () => {
  it("stays single use: the same phone's other browser is refused, and no device is kept", async () => {
    const ip = address();
    const link = await issue({ survey: "demo" });
    expect((await tap(link.id, { ua: instagramIphone, ip })).status).toBe(302);
    expect((await tap(link.id, { ua: safariIphone, ip })).status).toBe(410);
    expect(await ledgerRow(link.id)).toMatchObject({ device_hash: null, device_until: null });
    await eventually(async () =>
      expect(await clickOutcomes(link.id)).toEqual(["opened", "blocked"]),
    );
  });
});
