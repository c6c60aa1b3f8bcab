/**
 * Pages for people tapping a link: small, accessible, mobile-first HTML with the right status,
 * no invite data, no JSON, no stack traces. Everything interpolated is escaped.
 */
export type PageKind =
  | "not_found"
  | "used"
  | "expired"
  | "revoked"
  | "erased"
  | "unavailable"
  | "error"
  | "rate_limited"
  | "preview"
  | "confirm";

interface PageText {
  status: 200 | 404 | 410 | 429 | 500 | 503;
  title: string;
  body: string;
}

const TEXT: Record<PageKind, PageText> = {
  not_found: {
    status: 404,
    title: "Link not found",
    body: "We couldn't find this survey link. Please check that you opened the whole link from your message.",
  },
  used: {
    status: 410,
    title: "This link has already been used",
    body: "This survey link was already opened on another device or browser. Each invitation can be used once. Thank you for your interest!",
  },
  expired: {
    status: 410,
    title: "This link has expired",
    body: "The time to answer this survey has passed. Thank you for your interest!",
  },
  revoked: {
    status: 410,
    title: "This link is no longer available",
    body: "This survey invitation was withdrawn. Thank you for your interest!",
  },
  // 410, not 404: the link was real and is gone for good (404 would tell the customer to check
  // the link). Says nothing of why: whoever holds a forwarded link learns nothing more.
  erased: {
    status: 410,
    title: "This link is no longer available",
    body: "This survey invitation has been removed. Thank you for your interest!",
  },
  unavailable: {
    status: 503,
    title: "Please try again",
    body: "We couldn't open the survey just now. Your link still works: please try again in a moment.",
  },
  error: {
    status: 500,
    title: "Something went wrong",
    body: "We couldn't open the survey because of a problem on our side. We have been told about it; please try again later.",
  },
  rate_limited: {
    status: 429,
    title: "Please wait a moment",
    body: "Too many requests came from your network. Please try again in a few seconds.",
  },
  preview: {
    status: 200,
    title: "Survey invitation",
    body: "You're invited to share your feedback. Open the link to start the survey.",
  },
  confirm: {
    status: 200,
    title: "Share your feedback",
    body: "You're invited to a short survey. It takes a few minutes.",
  },
};

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
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
  confirmAction?: string,
): { status: PageText["status"]; html: string } {
  const text = TEXT[kind];
  const form =
    kind === "confirm" && confirmAction
      ? `<form method="post" action="${escapeHtml(confirmAction)}"><button type="submit">Start the survey</button></form>`
      : "";
  const html = `<!doctype html>
<html lang="en">
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
  return { status: text.status, html };
}
