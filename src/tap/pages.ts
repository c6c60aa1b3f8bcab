/**
 * Pages for people tapping a link: small, accessible, mobile-first HTML with the right status,
 * no invite data, no JSON, no stack traces, in the language `page-language.ts` chose (the words
 * are in `page-text.ts`), carrying the operator's brand (BRAND) when one is set. Everything
 * interpolated is escaped, and each page's content security policy allows exactly what that
 * page needs: its inline style, the brand's logo, and where its form may go.
 */
import type { Brand } from "../config/brand";
import type { PageLanguage } from "../config/page-languages";
import { PAGE_TEXTS, type PageKind } from "./page-text";

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

/** Pages where the customer's way in ends: they offer the brand's help contact. */
const HELP_PAGES: ReadonlySet<PageKind> = new Set([
  "not_found",
  "used",
  "expired",
  "revoked",
  "erased",
]);

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
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;--accent:#1f5fbf;--on-accent:#ffffff}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:Canvas;color:CanvasText}
main{max-width:28rem;padding:2rem 1.25rem;line-height:1.5}
h1{font-size:1.4rem;margin:0 0 .75rem}
p{margin:0 0 1.25rem;font-size:1.05rem}
button{font:inherit;font-size:1.1rem;width:100%;min-height:3rem;border:0;border-radius:.6rem;background:var(--accent);color:var(--on-accent);cursor:pointer}
button:focus-visible,a:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.brand{display:flex;align-items:center;gap:.75rem;margin:0 0 1.5rem;padding-bottom:.75rem;border-bottom:4px solid var(--accent);font-weight:600;font-size:1.1rem}
.brand img{max-height:2.5rem;max-width:9rem}
.help{border-left:4px solid var(--accent);padding-left:.75rem}
.help a{color:inherit;font-weight:600}`;

/** sRGB channel (0-255) to linear light, as WCAG's relative luminance defines it. */
const linear = (channel: number): number => {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};

/**
 * The text colour for a `#rrggbb` background: black or white, whichever contrasts more.
 *
 * @example textColorOn("#1f5fbf") // "#ffffff"
 * @example textColorOn("#ffd400") // "#000000"
 */
export function textColorOn(background: string): "#000000" | "#ffffff" {
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((i) =>
    linear(Number.parseInt(background.slice(i, i + 2), 16)),
  );
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast with black (L + 0.05) / 0.05 against with white 1.05 / (L + 0.05).
  return (luminance + 0.05) ** 2 > 0.0525 ? "#000000" : "#ffffff";
}

export interface PageOptions {
  brand?: Brand | null;
  /** The confirm page's form: its target (`/s/<id>`), and the survey origin it redirects to. */
  confirm?: { action: string; surveyOrigin: string };
}

/**
 * The page's content security policy: nothing but its inline style, the brand's logo (exactly
 * that image, or `data:` for an inline SVG) and its form's targets. Browsers apply `form-action`
 * to the redirect after the confirm page's POST too (Chromium blocks it), so the survey's origin
 * is allowed there.
 */
function pageCsp(kind: PageKind, { brand, confirm }: PageOptions): string {
  const logo = brand?.logo;
  const survey = kind === "confirm" && confirm ? ` ${confirm.surveyOrigin}` : "";
  return [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    ...(logo ? [`img-src ${logo.cspSource}`] : []),
    `form-action 'self'${survey}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function brandHeader(brand: Brand): string {
  const logo = brand.logo
    ? `<img src="${escapeHtml(brand.logo.src)}" alt="" height="40" referrerpolicy="no-referrer">`
    : "";
  return `<header class="brand">${logo}<span>${escapeHtml(brand.name)}</span></header>`;
}

/** The brand's help contact: its link (with its text, or the page's words), or its text alone. */
function helpBlock(brand: Brand, language: PageLanguage): string {
  const text = brand.helpText?.[language];
  if (brand.helpUrl) {
    const words = text ?? PAGE_TEXTS[language].help;
    return `<p class="help"><a href="${escapeHtml(brand.helpUrl)}" rel="noreferrer">${escapeHtml(words)}</a></p>`;
  }
  return text ? `<p class="help">${escapeHtml(text)}</p>` : "";
}

/** Open Graph tags for the preview page, which chat apps unfurl: the page's words, the brand. */
function openGraph(title: string, description: string, brand: Brand | null): string {
  const tag = (property: string, content: string) =>
    `<meta property="og:${property}" content="${escapeHtml(content)}">`;
  return [
    `<meta name="description" content="${escapeHtml(description)}">`,
    tag("type", "website"),
    tag("title", title),
    tag("description", description),
    ...(brand ? [tag("site_name", brand.name)] : []),
  ].join("\n");
}

/** The HTML, status and content security policy of a page. */
export function renderPage(
  kind: PageKind,
  language: PageLanguage,
  options: PageOptions = {},
): { status: PageStatus; html: string; csp: string } {
  const brand = options.brand ?? null;
  const texts = PAGE_TEXTS[language];
  const text = texts.pages[kind];
  const form =
    kind === "confirm" && options.confirm
      ? `<form method="post" action="${escapeHtml(options.confirm.action)}"><button type="submit">${escapeHtml(texts.start)}</button></form>`
      : "";
  const colors = brand?.color
    ? `\n:root{--accent:${brand.color};--on-accent:${textColorOn(brand.color)}}`
    : "";
  const head = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    ...(kind === "preview" ? [openGraph(text.title, text.body, brand)] : []),
    `<title>${escapeHtml(brand ? `${text.title} – ${brand.name}` : text.title)}</title>`,
    `<style>${STYLE}${colors}</style>`,
  ];
  const body = [
    ...(brand ? [brandHeader(brand)] : []),
    `<h1>${escapeHtml(text.title)}</h1>`,
    `<p>${escapeHtml(text.body)}</p>`,
    form,
    ...(brand && HELP_PAGES.has(kind) ? [helpBlock(brand, language)] : []),
  ];
  const html = `<!doctype html>
<html lang="${language}">
<head>
${head.join("\n")}
</head>
<body>
<main>
${body.join("\n")}
</main>
</body>
</html>`;
  return { status: STATUS[kind], html, csp: pageCsp(kind, options) };
}
