/**
 * Pages for people tapping a link: small, accessible, mobile-first HTML with the right status,
 * no invite data, no JSON, no stack traces, in the language `page-language.ts` chose (the words
 * are in `page-text.ts`). Everything interpolated is escaped.
 */
import { PAGE_TEXTS, type PageKind, type PageLanguage } from "./page-text";

export type { PageKind } from "./page-text";

type PageStatus = 200 | 404 | 410 | 429 | 500 | 503;

const STATUS: Record<PageKind, PageStatus> = {
  not_found: 404,
  used: 410,
  expired: 410,
  revoked: 410,
  // 410, not 404: the link was real and is gone for good (404 would tell the customer to check
  // the link). Says nothing of why: whoever holds a forwarded link learns nothing more.
  erased: 410,
  unavailable: 503,
  error: 500,
  rate_limited: 429,
  preview: 200,
  confirm: 200,
};

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

const STYLE = `
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:Canvas;color:CanvasText}
main{max-width:28rem;padding:2rem 1.25rem;line-height:1.5}
h1{font-size:1.4rem;margin:0 0 .75rem}
p{margin:0 0 1.25rem;font-size:1.05rem}
button{font:inherit;font-size:1.1rem;width:100%;min-height:3rem;border:0;border-radius:.6rem;background:#1f5fbf;color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #f5a623;outline-offset:2px}`;

export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The confirm page's form POSTs to `/s/<id>`, which redirects to the survey. Browsers apply
 * `form-action` to that redirect too (Chromium blocks it), so the survey's origin is allowed.
 */
export function confirmPageCsp(surveyOrigin: string): string {
  return PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${surveyOrigin}`);
}

/** The HTML and status of a page. `confirmAction` is the form target on the confirm page. */
export function renderPage(
  kind: PageKind,
  language: PageLanguage,
  confirmAction?: string,
): { status: PageStatus; html: string } {
  const texts = PAGE_TEXTS[language];
  const text = texts.pages[kind];
  const form =
    kind === "confirm" && confirmAction
      ? `<form method="post" action="${escapeHtml(confirmAction)}"><button type="submit">${escapeHtml(texts.start)}</button></form>`
      : "";
  const html = `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(text.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(text.title)}</h1>
<p>${escapeHtml(text.body)}</p>
${form}
</main>
</body>
</html>`;
  return { status: STATUS[kind], html };
}
