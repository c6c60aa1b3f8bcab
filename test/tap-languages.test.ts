/**
 * The tap's own pages speak the customer's language: the invite's language when the pages have it
 * (read from the row the claim returns, or from the KV consumed mark), else the browser's
 * Accept-Language by q-value, else English; `<html lang>` and Content-Language say which. (The
 * choice and the translations themselves, in plain Node: test/unit/language.test.ts.)
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type PAGE_KINDS, PAGE_TEXTS } from "../src/tap/page-text";
import { api, cookieFrom, eventually, issue, randomIp, uniqueTxn } from "./helpers/api";
import { failingBatches } from "./helpers/ledger";
import { erase } from "./helpers/privacy";
import { callWorker, tapRequest } from "./security/helpers";

afterEach(() => {
  vi.useRealTimers();
});

const LEDGER_OUTAGE = failingBatches("D1_ERROR: network connection lost");
const LEDGER_BUG = failingBatches("TypeError: undefined is not a function");

/** A tap from a phone whose browser sends `acceptLanguage` (none when undefined). */
function tapIn(
  id: string,
  acceptLanguage?: string,
  init: Parameters<typeof tapRequest>[1] = {},
  overrides: Parameters<typeof callWorker>[1] = undefined,
): Promise<Response> {
  const request = tapRequest(id, { ip: randomIp(), ...init });
  if (acceptLanguage !== undefined) request.headers.set("Accept-Language", acceptLanguage);
  return callWorker(request, overrides);
}

/** Asserts the page's status and language, and returns its HTML. */
async function expectPage(res: Response, status: number, language: string, title: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Language")).toBe(language);
  const html = await res.text();
  expect(html).toContain(`<html lang="${language}">`);
  expect(html).toContain(`<h1>${title}</h1>`);
  return html;
}

const title = (language: "en" | "fr" | "de" | "es", kind: (typeof PAGE_KINDS)[number]) =>
  PAGE_TEXTS[language].pages[kind].title.replaceAll("'", "&#39;");

describe("the invite's language chooses", () => {
  it.each([
    ["fr-CA", "fr", "Ce lien a déjà été utilisé"],
    ["ES-ES", "es", "Este enlace ya se utilizó"],
  ])(
    "an invite in %s: the 'already used' page in %s, whatever the browser asks",
    async (language, page, text) => {
      const link = await issue({ language });
      expect((await tapIn(link.id)).status).toBe(302);
      await expectPage(await tapIn(link.id, "ja, de;q=0.9, fr;q=0.8"), 410, page, text);
    },
  );

  it("an invite in a language the pages lack (JA): the browser's language", async () => {
    const link = await issue({ language: "ja" });
    await tapIn(link.id);
    await expectPage(await tapIn(link.id, "ja, de;q=0.5"), 410, "de", title("de", "used"));
  });

  it("the refusal KV answers (the consumed mark) speaks the invite's language too", async () => {
    const link = await issue({ language: "fr" });
    await tapIn(link.id);
    // The first refusal comes from the ledger and writes the mark.
    await tapIn(link.id, "de");
    await eventually(async () => {
      const { metadata } = await env.LINKS.getWithMetadata<{ language?: string }>(link.id);
      expect(metadata?.language).toBe("FR");
    });
    // With the ledger down, only KV can answer.
    await expectPage(await tapIn(link.id, "de", {}, LEDGER_OUTAGE), 410, "fr", title("fr", "used"));
  });

  it("expired, revoked and erased invites, the confirm page and the preview page", async () => {
    const expired = await issue({ language: "es", ttlSeconds: 60 });
    const revoked = await issue({ language: "de" });
    const customerId = `erased-${uniqueTxn()}`;
    const erased = await issue({ language: "fr-CA", customerId });
    const confirm = await issue({ survey: "demo-confirm", language: "de-AT" });
    const previewed = await issue({ language: "es-MX" });

    expect((await api(`/v1/links/${revoked.id}`, { method: "DELETE" })).status).toBe(200);
    await expectPage(await tapIn(revoked.id, "en"), 410, "de", title("de", "revoked"));
    expect((await erase(customerId)).status).toBe(200);
    await expectPage(await tapIn(erased.id, "en"), 410, "fr", title("fr", "erased"));
    const html = await expectPage(await tapIn(confirm.id, "en"), 200, "de", title("de", "confirm"));
    expect(html).toContain(">Umfrage starten</button>");
    const bot = { ua: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" };
    await expectPage(await tapIn(previewed.id, "en", bot), 200, "es", title("es", "preview"));

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 120_000);
    await expectPage(await tapIn(expired.id, "en"), 410, "es", title("es", "expired"));
  });

  it("a browser that claimed the link and comes back is redirected, never shown a page", async () => {
    const link = await issue({ language: "de" });
    const first = await tapIn(link.id, "fr");
    const again = await tapIn(link.id, "fr", { cookie: cookieFrom(first) });
    expect(again.status).toBe(302);
  });
});

describe("without an invite language, Accept-Language chooses (q-values), else English", () => {
  it.each([
    [undefined, "en"],
    ["en;q=0.1, de;q=0.5, fr;q=0.9", "fr"],
    ["ja, zh-CN;q=0.9", "en"],
  ])("Accept-Language %j: %s", async (acceptLanguage, language) => {
    const link = await issue();
    await tapIn(link.id);
    await expectPage(
      await tapIn(link.id, acceptLanguage),
      410,
      language,
      title(language as "en", "used"),
    );
  });

  it("an unknown id, a rate-limited tap, a ledger outage, a bug and a broken configuration", async () => {
    await expectPage(await tapIn("A".repeat(24), "es"), 404, "es", title("es", "not_found"));

    const link = await issue({ language: "fr" });
    const ip = randomIp();
    let limited: Response | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const res = await tapIn(link.id, "de", { ip });
      if (res.status === 429) limited = res;
    }
    if (!limited) throw new Error("no tap was rate limited");
    await expectPage(limited, 429, "de", title("de", "rate_limited"));

    // No row was read: the browser's language, even for an invite that has one.
    const fresh = await issue({ language: "de" });
    await expectPage(
      await tapIn(fresh.id, "fr", {}, LEDGER_OUTAGE),
      503,
      "fr",
      title("fr", "unavailable"),
    );
    await expectPage(await tapIn(fresh.id, "es", {}, LEDGER_BUG), 500, "es", title("es", "error"));

    const broken = { SURVEYS: "{not json" };
    await expectPage(
      await tapIn(fresh.id, "de", {}, broken),
      503,
      "de",
      title("de", "unavailable"),
    );
  });
});
