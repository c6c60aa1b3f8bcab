/**
 * BRAND (src/config/brand.ts) and the pages that carry it (src/tap/pages.ts), as pure logic:
 * every problem named by path, every page in every language with the brand, the help link where
 * the customer's way in ends, Open Graph tags on the preview, and a content security policy that
 * allows exactly what the page shows. The same pages through the Worker: test/brand.test.ts.
 */
import { describe, expect, it } from "vitest";
import { type Brand, parseBrand } from "../../src/config/brand";
import { PAGE_LANGUAGES } from "../../src/config/page-languages";
import { Problems } from "../../src/config/parsing";
import { PAGE_KINDS, PAGE_TEXTS } from "../../src/tap/page-text";
import { renderPage, textColorOn } from "../../src/tap/pages";
import { policyProblems } from "../fixtures/page-policy";

const ORIGIN = "https://links.example.com";
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="5"/></svg>';

function brandOf(value: unknown, hosts?: string): { brand: Brand | null; problems: string[] } {
  const problems = new Problems();
  const env = {
    BRAND: typeof value === "string" ? value : JSON.stringify(value),
    ...(hosts ? { ALLOWED_LOGO_HOSTS: hosts } : {}),
  };
  const brand = parseBrand(problems, env, ORIGIN);
  return { brand, problems: problems.list };
}

describe("BRAND", () => {
  it("is optional: none set, no brand and no problem", () => {
    expect(parseBrand(new Problems(), {}, ORIGIN)).toBeNull();
  });

  it("takes a name, a logo on this origin or an allowed host or inline SVG, a colour and help", () => {
    const full = brandOf(
      {
        name: "Acme Arena",
        logoUrl: "https://cdn.acme.example/brand/logo.png?v=3",
        color: "#15B",
        helpUrl: "https://acme.example/help",
        helpText: { en: "Ask us", fr: "Écrivez-nous" },
      },
      "cdn.acme.example",
    );
    expect(full.problems).toEqual([]);
    expect(full.brand).toEqual({
      name: "Acme Arena",
      logo: {
        src: "https://cdn.acme.example/brand/logo.png?v=3",
        cspSource: "https://cdn.acme.example/brand/logo.png",
      },
      color: "#1155bb",
      helpUrl: "https://acme.example/help",
      helpText: { en: "Ask us", fr: "Écrivez-nous", de: "Ask us", es: "Ask us" },
    });
    const own = brandOf({ name: "A", logoUrl: `${ORIGIN}/logo.svg`, helpText: "Call 0800 123" });
    expect(own.brand?.logo?.cspSource).toBe(`${ORIGIN}/logo.svg`);
    expect(own.brand?.helpText?.de).toBe("Call 0800 123");
    const inline = brandOf({ name: "A", logoUrl: SVG, helpUrl: "mailto:help@acme.example" });
    expect(inline.brand?.logo?.cspSource).toBe("data:");
    expect(atob(inline.brand?.logo?.src.split(",")[1] ?? "")).toBe(SVG);
  });

  it.each([
    ["{not json", "BRAND is not valid JSON"],
    [{}, "BRAND.name: "],
    [{ name: "" }, "BRAND.name: must not be empty"],
    [{ name: "A\u0007" }, "BRAND.name: must not contain control characters"],
    [{ name: "A", colour: "#fff" }, "BRAND: Unrecognized key"],
    [{ name: "A", color: "red" }, "BRAND.color: must be a hex colour"],
    [{ name: "A", color: "#fff;background:url(//x)" }, "BRAND.color: must be a hex colour"],
    [{ name: "A", logoUrl: "http://cdn.acme.example/l.png" }, "BRAND.logoUrl: must use https"],
    [
      { name: "A", logoUrl: "https://tracker.example/l.png" },
      "BRAND.logoUrl: host tracker.example must be PUBLIC_BASE_URL's or listed in ALLOWED_LOGO_HOSTS",
    ],
    [
      { name: "A", logoUrl: "https://u:p@links.example.com/l.png" },
      "BRAND.logoUrl: must not carry credentials",
    ],
    [
      { name: "A", logoUrl: "https://links.example.com/a;b.png" },
      "BRAND.logoUrl: its path must not contain",
    ],
    [
      { name: "A", logoUrl: "/logo.png" },
      "BRAND.logoUrl: must be an https URL or inline SVG markup",
    ],
    [
      { name: "A", logoUrl: "<img src=x>" },
      "BRAND.logoUrl: inline SVG must start with <svg and end with </svg>",
    ],
    [
      { name: "A", logoUrl: `<svg>${"x".repeat(9000)}</svg>` },
      "BRAND.logoUrl: inline SVG may be at most 8192 bytes",
    ],
    [
      { name: "A", helpUrl: "javascript:alert(1)" },
      "BRAND.helpUrl: must be an https, mailto: or tel: URL",
    ],
    [
      { name: "A", helpUrl: "http://acme.example/help" },
      "BRAND.helpUrl: must be an https, mailto: or tel: URL",
    ],
    [
      { name: "A", helpText: { fr: "Aide" } },
      "BRAND.helpText: must be a string, or an object of strings by language (en required; fr, de, es optional)",
    ],
    [
      { name: "A", helpText: { en: "Help", it: "Aiuto" } },
      'BRAND.helpText: Unrecognized key: "it"',
    ],
  ])("%j is refused: %s", (value, problem) => {
    const { brand, problems } = brandOf(value);
    expect(brand).toBeNull();
    expect(problems.join("\n")).toContain(problem);
  });

  it("names every problem at once", () => {
    const { problems } = brandOf({ name: "A", color: "blue", helpUrl: "ftp://x", logoUrl: "<p>" });
    expect(problems).toHaveLength(3);
  });
});

const BRANDS: Record<string, Brand> = {
  "a logo on an allowed host, one help text": {
    name: "Acme <Arena> & Co",
    logo: {
      src: "https://cdn.acme.example/brand/logo.png?v=3",
      cspSource: "https://cdn.acme.example/brand/logo.png",
    },
    color: "#ffd400",
    helpUrl: "https://acme.example/help?from=survey&x=1",
    helpText: { en: "Contact us", fr: "Contact us", de: "Contact us", es: "Contact us" },
  },
  "an inline SVG logo, help by language": {
    name: "Acme",
    logo: { src: `data:image/svg+xml;base64,${btoa(SVG)}`, cspSource: "data:" },
    color: "#1f5fbf",
    helpUrl: "tel:+441234567",
    helpText: { en: "Call us", fr: "Appelez-nous", de: "Rufen Sie uns an", es: "Llámenos" },
  },
  "a name alone, a help link without text": {
    name: "Acme",
    logo: null,
    color: null,
    helpUrl: "mailto:help@acme.example",
    helpText: null,
  },
};

const HELP_PAGES = ["not_found", "used", "expired", "revoked", "erased"];

describe("every page in every language, branded", () => {
  const confirm = { action: "/s/x", surveyOrigin: "https://example.qualtrics.com" };

  it.each(Object.entries(BRANDS))(
    "%s: the brand, the help link where the way in ends, Open Graph on the preview, and a policy allowing exactly that",
    (_, brand) => {
      for (const language of PAGE_LANGUAGES) {
        for (const kind of PAGE_KINDS) {
          const where = `${language} ${kind}`;
          const { html, csp } = renderPage(kind, language, { brand, confirm });
          expect(policyProblems(html, csp, ORIGIN), where).toEqual([]);
          const name = brand.name
            .replace(/&/g, "&amp;")
            .replace(/</g, "&lt;")
            .replace(/>/g, "&gt;");
          expect(html, where).toContain(`<header class="brand">`);
          expect(html, where).toContain(`<span>${name}</span>`);
          expect(html, where).not.toContain("<Arena>");
          expect(csp.includes("img-src"), where).toBe(brand.logo !== null);
          if (brand.color) {
            expect(html, where).toContain(
              `--accent:${brand.color};--on-accent:${textColorOn(brand.color)}`,
            );
          }
          const help = html.match(
            /<p class="help"><a href="([^"]*)" rel="noreferrer">([^<]*)<\/a>/,
          );
          if (HELP_PAGES.includes(kind)) {
            expect(help?.[1], where).toBe(brand.helpUrl?.replace(/&/g, "&amp;"));
            expect(help?.[2], where).toBe(brand.helpText?.[language] ?? PAGE_TEXTS[language].help);
          } else {
            expect(help, where).toBeNull();
          }
          const og = [...html.matchAll(/<meta property="og:(\w+)" content="([^"]*)">/g)];
          if (kind === "preview") {
            const text = PAGE_TEXTS[language].pages.preview;
            expect(Object.fromEntries(og.map((m) => [m[1], m[2]])), where).toEqual({
              type: "website",
              title: text.title.replace(/'/g, "&#39;"),
              description: text.body.replace(/'/g, "&#39;"),
              site_name: name,
            });
          } else {
            expect(og, where).toEqual([]);
          }
        }
      }
    },
  );

  it("without a brand: no header, no help, no image allowed, Open Graph without a site name", () => {
    for (const language of PAGE_LANGUAGES) {
      for (const kind of PAGE_KINDS) {
        const { html, csp } = renderPage(kind, language, { confirm });
        expect(policyProblems(html, csp, ORIGIN)).toEqual([]);
        expect(html).not.toMatch(/class="brand"|class="help"|<img|og:site_name/);
        expect(csp).not.toContain("img-src");
      }
    }
  });

  it("every language has its own words for the help link", () => {
    const words = PAGE_LANGUAGES.map((language) => PAGE_TEXTS[language].help);
    expect(new Set(words).size).toBe(PAGE_LANGUAGES.length);
  });

  it("the confirm page's policy lets its form reach the survey, and only there", () => {
    const { csp } = renderPage("confirm", "en", { confirm });
    expect(csp).toContain("form-action 'self' https://example.qualtrics.com;");
    expect(renderPage("used", "en", { confirm }).csp).toContain("form-action 'self';");
  });
});

describe("textColorOn", () => {
  it.each([
    ["#1f5fbf", "#ffffff"],
    ["#000000", "#ffffff"],
    ["#ffd400", "#000000"],
    ["#ffffff", "#000000"],
    ["#595959", "#ffffff"],
    ["#767676", "#000000"],
  ])("%s: %s", (background, text) => {
    expect(textColorOn(background)).toBe(text);
  });
});
