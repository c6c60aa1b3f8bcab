/**
 * What a tap answers with: a page for a person (pages.ts) or a redirect, each with the headers
 * every tap response carries, so no answer can be cached, indexed, or leak the link in a
 * Referer.
 */
import type { PageLanguage } from "../config/page-languages";
import { type PageKind, type PageOptions, renderPage } from "./pages";

const TAP_HEADERS = {
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex, nofollow",
  "X-Content-Type-Options": "nosniff",
};

/** A page for a person, in `language`, with its status and content security policy. */
export function page(
  kind: PageKind,
  language: PageLanguage,
  options: PageOptions = {},
  extraHeaders: Record<string, string> = {},
): Response {
  const { status, html, csp } = renderPage(kind, language, options);
  return new Response(html, {
    status,
    headers: {
      ...TAP_HEADERS,
      "Content-Type": "text/html; charset=utf-8",
      "Content-Language": language,
      "Content-Security-Policy": csp,
      ...extraHeaders,
    },
  });
}

/** A redirect: `302` to the survey (with any cookies), or `308` to a link's own address. */
export function redirect(status: 302 | 308, location: string, cookies: string[] = []): Response {
  const headers = new Headers({ ...TAP_HEADERS, Location: location });
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  return new Response(null, { status, headers });
}
