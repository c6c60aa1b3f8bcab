/**
 * Languages in plain Node: the issue API's `language` mapped to Qualtrics' code (app locales and
 * Qualtrics codes in, the stored code out, anything else refused), and the language of the tap's
 * own pages (the invite's when the pages have it, else Accept-Language by q-value, else English),
 * each page written in each language. Over HTTP: test/language.test.ts, test/tap-languages.test.ts.
 */
import { describe, expect, it } from "vitest";
import { PAGE_LANGUAGES } from "../../src/config/page-languages";
import { toQualtricsLanguage } from "../../src/links/language";
import { choosePageLanguage } from "../../src/tap/page-language";
import { PAGE_KINDS, PAGE_TEXTS } from "../../src/tap/page-text";
import { renderPage } from "../../src/tap/pages";

/** The app locales and codes a notification platform may send, and the Qualtrics code stored. */
const MAPPED: [string, string][] = [
  ["FR", "FR"],
  ["fr", "FR"],
  ["fr-FR", "FR"],
  ["fr-CA", "FR-CA"],
  ["fr_CA", "FR-CA"],
  ["de", "DE"],
  ["de-AT", "DE"],
  ["es", "ES"],
  ["es-419", "ES"],
  ["es-MX", "ES"],
  ["es-ES", "ES-ES"],
  ["ES-ES", "ES-ES"],
  ["pt", "PT"],
  ["pt-PT", "PT"],
  ["pt-BR", "PT-BR"],
  ["PT-BR", "PT-BR"],
  ["en-US", "EN"],
  ["en-GB", "EN-GB"],
  ["it-IT", "IT"],
  ["nl", "NL"],
  ["ja-JP", "JA"],
  ["ko", "KO"],
  ["zh", "ZH-S"],
  ["zh-CN", "ZH-S"],
  ["zh-Hans", "ZH-S"],
  ["zh-Hans-CN", "ZH-S"],
  ["zh-Hant", "ZH-T"],
  ["zh-TW", "ZH-T"],
  ["zh-HK", "ZH-T"],
  ["ZH-T", "ZH-T"],
  ["tl", "TGL"],
  ["fil-PH", "TGL"],
  ["nb-NO", "NO"],
  ["sq", "SQI"],
  [" de-CH ", "DE"],
];

const INVALID = ["klingon", "xx", "tlh", "fr-", "-fr", "", " ", "en us", "fr;q=1", "x".repeat(36)];

const CONFIRM = { confirm: { action: "/s/x", surveyOrigin: "https://example.qualtrics.com" } };

describe("toQualtricsLanguage", () => {
  it.each(MAPPED)("%j is stored as %s", (input, code) => {
    expect(toQualtricsLanguage(input)).toBe(code);
  });

  it.each(INVALID)("%j is no language", (input) => {
    expect(toQualtricsLanguage(input)).toBeNull();
  });
});

describe("choosePageLanguage: the invite's language first", () => {
  it.each([
    ["fr-CA", "fr"],
    ["DE", "de"],
    ["es-419", "es"],
    ["ES-ES", "es"],
    ["en-GB", "en"],
  ])("an invite in %s: pages in %s, whatever the browser asks", (invite, page) => {
    expect(choosePageLanguage(invite, "ja, de;q=0.9, fr;q=0.8")).toBe(page);
  });

  it("an invite in a language the pages lack: the browser's language", () => {
    expect(choosePageLanguage("JA", "ja, de;q=0.5")).toBe("de");
    expect(choosePageLanguage("JA", undefined)).toBe("en");
  });
});

describe("choosePageLanguage: without one, Accept-Language by q-value, else English", () => {
  it.each([
    [undefined, "en"],
    ["fr", "fr"],
    ["de-CH, en;q=0.8", "de"],
    ["en;q=0.1, de;q=0.5, fr;q=0.9", "fr"],
    ["ja, es-MX;q=0.8, de;q=0.7", "es"],
    ["ja, zh-CN;q=0.9", "en"],
    ["fr;q=0, de;q=0", "en"],
    ["*", "en"],
    ["FR-ca", "fr"],
    ["de;q=0.5, fr;q=0.5", "de"],
  ])("Accept-Language %j: %s", (acceptLanguage, language) => {
    expect(choosePageLanguage(null, acceptLanguage)).toBe(language);
  });
});

describe("the translations", () => {
  it("every page exists in every language, with its own words and <html lang>", () => {
    for (const language of PAGE_LANGUAGES) {
      for (const kind of PAGE_KINDS) {
        const { html } = renderPage(kind, language, CONFIRM);
        expect(html).toContain(`<html lang="${language}">`);
        const text = PAGE_TEXTS[language].pages[kind];
        if (language !== "en") {
          expect(text.title).not.toBe(PAGE_TEXTS.en.pages[kind].title);
          expect(text.body).not.toBe(PAGE_TEXTS.en.pages[kind].body);
        }
      }
      const confirm = renderPage("confirm", language, CONFIRM).html;
      expect(confirm).toContain(`<button type="submit">${PAGE_TEXTS[language].start}</button>`);
    }
  });
});
