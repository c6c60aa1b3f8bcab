/**
 * The languages the customer's pages are written in (src/tap/page-text.ts has every page in each;
 * English is the fallback). Here, below the tap, because settings that carry text for those
 * pages (`BRAND.helpText`) are checked against the same list.
 */
export const PAGE_LANGUAGES = ["en", "fr", "de", "es"] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];
