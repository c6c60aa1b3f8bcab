/**
 * `/docs`: the API reference, rendered in the browser from `/openapi.json` by Redoc (the npm
 * package's standalone bundle, imported as text through a `rules` entry in wrangler.toml and
 * served from here) and started by docs.browser.js beside this file. Nothing comes from another
 * host: the Content-Security-Policy allows this origin only, plus the inline styles Redoc injects
 * and the search worker it starts from a blob.
 */
import REDOC_BUNDLE from "redoc/bundles/redoc.standalone.js";
import { createRouter } from "../http/openapi";
import DOCS_JS from "./docs.browser.js";

/**
 * Redoc 2 hard-codes one request to another host: its sidebar logo. `data:,` is no image, so the
 * browser fails it locally and Redoc hides the logo (its onError). The Chromium test of /docs
 * fails if a Redoc upgrade brings another off-origin request.
 */
const REDOC_LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const REDOC_JS = REDOC_BUNDLE.replaceAll(REDOC_LOGO_URL, "data:,");

const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference · invite-edge</title>
<link rel="icon" href="/dashboard-icon.svg" type="image/svg+xml">
<script src="/docs/redoc.standalone.js" defer></script>
<script src="/docs.js" defer></script>
</head>
<body>
<noscript>The reference needs JavaScript. The document itself: <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="reference"></div>
</body>
</html>`;

const ASSET_HEADERS = { "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache" };

export const docsRoutes = createRouter()
  .get("/docs", (c) =>
    c.html(DOCS_HTML, 200, {
      ...ASSET_HEADERS,
      "Content-Security-Policy": DOCS_CSP,
      "Referrer-Policy": "no-referrer",
    }),
  )
  .get("/docs.js", (c) =>
    c.body(DOCS_JS, 200, { ...ASSET_HEADERS, "Content-Type": "text/javascript; charset=utf-8" }),
  )
  .get("/docs/redoc.standalone.js", (c) =>
    c.body(REDOC_JS, 200, {
      ...ASSET_HEADERS,
      "Content-Type": "text/javascript; charset=utf-8",
    }),
  );
