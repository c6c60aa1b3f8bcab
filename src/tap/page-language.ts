/**
 * Which language a tap's page speaks: the invite's language when the pages have it, else the
 * browser's `Accept-Language` (highest q-value first, q=0 never), else English. The invite's
 * language comes first because the customer's app chose it; a forwarded link's page may then be
 * in someone else's language, but the survey it leads to would be too.
 */
import { parseAccept } from "hono/utils/accept";
import { PAGE_LANGUAGES, type PageLanguage } from "../config/page-languages";

const SUPPORTED = new Set<string>(PAGE_LANGUAGES);

/** The page language of a language tag or Qualtrics code (`fr-CA`, `FR-CA`, `ES-ES` → fr, fr, es). */
function pageLanguageOf(tag: string): PageLanguage | null {
  const primary = tag.trim().split(/[-_]/)[0]?.toLowerCase() ?? "";
  return SUPPORTED.has(primary) ? (primary as PageLanguage) : null;
}

/**
 * @example choosePageLanguage("FR-CA", "de") // "fr"
 * @example choosePageLanguage(null, "ja, de;q=0.8, fr;q=0.9") // "fr"
 * @example choosePageLanguage("JA", undefined) // "en"
 */
export function choosePageLanguage(
  inviteLanguage: string | null | undefined,
  acceptLanguage: string | null | undefined,
): PageLanguage {
  const invites = inviteLanguage ? pageLanguageOf(inviteLanguage) : null;
  if (invites) return invites;
  // Sorted by q-value, highest first; equal q-values keep the header's order.
  for (const { type, q } of parseAccept(acceptLanguage ?? "")) {
    if (q <= 0) continue;
    const language = pageLanguageOf(type);
    if (language) return language;
  }
  return "en";
}
