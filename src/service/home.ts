/**
 * `GET /`: a small page for operators who open the service's address: what it is and where its
 * reference, document, dashboard and health check are. Static, no script, no data.
 */
import { createRouter } from "../http/openapi";

const LINKS: [href: string, title: string, what: string][] = [
  [
    "/docs",
    "API reference",
    "every operation, its parameters, schemas, errors and the scope it needs",
  ],
  ["/openapi.json", "OpenAPI document", "the same, machine-readable (OpenAPI 3.1)"],
  [
    "/dashboard",
    "Stats dashboard",
    "issued, opened and completed invites, for analysts (a stats:read key)",
  ],
  [
    "/healthz",
    "Health check",
    "200 when the configuration parses and every ledger shard has the latest migration, else 503",
  ],
  [
    "/.well-known/jwks.json",
    "Signing keys",
    "the public keys that verify the signed survey values",
  ],
];

const HOME_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>invite-edge</title>
<link rel="icon" href="/dashboard-icon.svg" type="image/svg+xml">
<style>
body{font-family:system-ui,sans-serif;max-width:42rem;margin:0 auto;padding:1.5rem 1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.6rem;margin-bottom:.25rem}
ul{padding-left:1.2rem}
li{margin:.4rem 0}
a{color:#1f5fbf}
code{font-family:ui-monospace,monospace;font-size:.95em}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}a{color:#8ab4f8}}
</style>
</head>
<body>
<main>
<h1>invite-edge</h1>
<p>This service issues signed, single-use links to Qualtrics surveys. A notification platform asks
for a link through the API (<code>POST /v1/links</code>); the customer taps it
(<code>/s/&lt;id&gt;</code>) and lands on the survey once, with the invite's data signed. Customers
never see this page.</p>
<h2>For operators</h2>
<ul>
${LINKS.map(([href, title, what]) => `<li><a href="${href}">${title}</a> (<code>${href}</code>): ${what}.</li>`).join("\n")}
</ul>
</main>
</body>
</html>`;

const HOME_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const homeRoutes = createRouter().get("/", (c) =>
  c.html(HOME_HTML, 200, {
    "Content-Security-Policy": HOME_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-cache",
  }),
);
