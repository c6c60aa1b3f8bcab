/**
 * BRAND on the pages the Worker answers taps with: every page in every language carries the
 * brand, with a content security policy that allows exactly what the page shows (checked against
 * the HTML, test/fixtures/page-policy.ts); the pages where the way in ends offer the help link;
 * the preview page has Open Graph tags. A bad BRAND leaves the pages unbranded, never down.
 * (The same pages as pure logic, with other brands: test/unit/branded-pages.test.ts.)
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { PageLanguage } from "../src/config/page-languages";
import { PAGE_LANGUAGES } from "../src/config/page-languages";
import { PAGE_TEXTS } from "../src/tap/page-text";
import { policyProblems } from "./fixtures/page-policy";
import { PREVIEW_AGENTS } from "./fixtures/user-agents";
import { api, type IssuedLink, issue, ORIGIN, randomIp, uniqueTxn } from "./helpers/api";
import { failingBatches } from "./helpers/ledger";
import { erase } from "./helpers/privacy";
import { callWorker, type TestEnv, tapRequest } from "./security/helpers";

const LOGO = "https://cdn.acme.example/brand/logo.png";
const BRANDED: Partial<TestEnv> = {
  BRAND: JSON.stringify({
    name: "Acme Arena",
    logoUrl: LOGO,
    color: "#ffd400",
    helpUrl: "https://acme.example/help",
    helpText: { en: "Ask Acme", fr: "Écrire à Acme", de: "Acme fragen", es: "Preguntar a Acme" },
  }),
  ALLOWED_LOGO_HOSTS: "cdn.acme.example",
};

/** The branded env with every shard's batch failing: an outage (503) or a bug (500). */
const OUTAGE = { ...BRANDED, ...failingBatches("D1_ERROR: network connection lost") };
const BUG = { ...BRANDED, ...failingBatches("TypeError: undefined is not a function") };

afterEach(() => {
  vi.useRealTimers();
});

/** A tap in the branded service from a browser that asks for `language`. */
function brandedTap(
  id: string,
  language: PageLanguage,
  init: Parameters<typeof tapRequest>[1] = {},
  overrides: Partial<TestEnv> = BRANDED,
): Promise<Response> {
  const request = tapRequest(id, { ip: randomIp(), ...init });
  request.headers.set("Accept-Language", language);
  return callWorker(request, overrides);
}

const HELP =
  /<p class="help"><a href="https:\/\/acme\.example\/help" rel="noreferrer">([^<]*)<\/a><\/p>/;

/** The page's status and language, the brand on it, its policy; returns the HTML. */
async function expectBranded(res: Response, status: number, language: PageLanguage) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Language")).toBe(language);
  const html = await res.text();
  expect(html).toContain(`<header class="brand"><img src="${LOGO}" alt=""`);
  expect(html).toContain("<span>Acme Arena</span>");
  expect(html).toContain("--accent:#ffd400;--on-accent:#000000");
  const csp = res.headers.get("Content-Security-Policy") ?? "";
  expect(csp).toContain(`img-src ${LOGO};`);
  expect(policyProblems(html, csp, ORIGIN)).toEqual([]);
  return html;
}

const LIMITED_IP = randomIp();

const HELP_TEXT = {
  en: "Ask Acme",
  fr: "Écrire à Acme",
  de: "Acme fragen",
  es: "Preguntar a Acme",
};

describe("every page in every language carries BRAND", () => {
  let used: IssuedLink;
  let revoked: IssuedLink;
  let erased: IssuedLink;
  let confirm: IssuedLink;
  let previewed: IssuedLink;
  let expiring: IssuedLink;

  beforeAll(async () => {
    const customerId = `brand-${uniqueTxn()}`;
    [used, revoked, erased, confirm, previewed, expiring] = await Promise.all([
      issue(),
      issue(),
      issue({ customerId }),
      issue({ survey: "demo-confirm" }),
      issue(),
      issue({ ttlSeconds: 60 }),
    ]);
    expect((await brandedTap(used.id, "en")).status).toBe(302);
    expect((await api(`/v1/links/${revoked.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await erase(customerId)).status).toBe(200);
  });

  it.each(PAGE_LANGUAGES)(
    "%s: every page is branded, and its policy allows exactly its logo",
    async (language) => {
      const help = async (res: Response, status: number) => {
        const html = await expectBranded(res, status, language);
        expect(html.match(HELP)?.[1]).toBe(HELP_TEXT[language]);
      };
      await help(await brandedTap(used.id, language), 410);
      await help(await brandedTap(revoked.id, language), 410);
      await help(await brandedTap(erased.id, language), 410);
      await help(await brandedTap("A".repeat(24), language), 404);
      await help(
        await callWorker(
          new Request(`${ORIGIN}/nowhere`, { headers: { "Accept-Language": language } }),
          BRANDED,
        ),
        404,
      );

      const page = await expectBranded(await brandedTap(confirm.id, language), 200, language);
      expect(page).toContain(`>${PAGE_TEXTS[language].start}</button>`);
      expect(page).not.toMatch(HELP);

      const bot = { ua: PREVIEW_AGENTS.Slackbot };
      const preview = await expectBranded(
        await brandedTap(previewed.id, language, bot),
        200,
        language,
      );
      const text = PAGE_TEXTS[language].pages.preview;
      expect(preview).toContain(`<meta property="og:title" content="${text.title}">`);
      expect(preview).toContain(
        `<meta property="og:description" content="${text.body.replace(/'/g, "&#39;")}">`,
      );
      expect(preview).toContain('<meta property="og:site_name" content="Acme Arena">');
      expect(preview).not.toContain(previewed.id);

      // One address for every language: once over the limit, its next taps are refused at once.
      let limited: Response | undefined;
      for (let i = 0; i < 12 && !limited; i++) {
        const res = await brandedTap(used.id, language, { ip: LIMITED_IP });
        if (res.status === 429) limited = res;
      }
      if (!limited) throw new Error("no tap was rate limited");
      expect(await expectBranded(limited, 429, language)).not.toMatch(HELP);

      const fresh = await issue();
      await expectBranded(await brandedTap(fresh.id, language, {}, OUTAGE), 503, language);
      await expectBranded(await brandedTap(fresh.id, language, {}, BUG), 500, language);

      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 120_000);
      await help(await brandedTap(expiring.id, language), 410);
    },
  );
});

describe("a bad BRAND", () => {
  it("never takes the pages down: they are served unbranded, and the link still works", async () => {
    const log = vi.spyOn(console, "log");
    const bad: Partial<TestEnv> = {
      BRAND: JSON.stringify({ name: "Acme", logoUrl: "https://tracker.example/pixel.gif" }),
    };
    const link = await issue();
    expect((await callWorker(tapRequest(link.id, { ip: randomIp() }), bad)).status).toBe(302);
    const refused = await callWorker(tapRequest(link.id, { ip: randomIp() }), bad);
    expect(refused.status).toBe(410);
    const html = await refused.text();
    expect(html).not.toMatch(/class="brand"|<img|tracker\.example/);
    expect(refused.headers.get("Content-Security-Policy")).not.toContain("img-src");
    const lines = log.mock.calls.map((call) => String(call[0]));
    expect(lines.find((line) => line.includes('"event":"brand_invalid"'))).toContain(
      "BRAND.logoUrl: host tracker.example",
    );
    log.mockRestore();
  });
});
