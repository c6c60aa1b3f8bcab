/**
 * `/dashboard`: the analysts' page, its script (dashboard.browser.js) and its stylesheet
 * (dashboard.css), all served by the Worker (no CDN: the browser may have no internet). The page
 * holds no data and no key; the script asks for the analyst key, checks with the API that it may
 * read stats, keeps it in sessionStorage only and reads `/v1/stats` with it as a bearer.
 * The Content-Security-Policy allows this origin only: no inline script or style, no framing.
 */
import { createRouter } from "../http/openapi";
import DASHBOARD_JS from "./dashboard.browser.js";
import DASHBOARD_CSS from "./dashboard.css";

const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const DEFINITIONS: [string, string][] = [
  ["Issued", "Invites created in the range, by issue time (UTC days)."],
  ["Opened", "Of those, claimed by a person's tap. Also counted when revoked after the open."],
  ["Re-opened", "Extra opens from the browser that first opened the invite."],
  ["Previews", "HEAD requests and link-preview bots; a preview never opens an invite."],
  ["Blocked", "Taps refused because the invite had already been used elsewhere."],
  ["Expired", "Never opened, not revoked, and past its expiry now."],
  ["Revoked", "Revoked before anyone opened it."],
  ["Completed", "Marked completed by reconciliation with Qualtrics."],
  ["Rates", "Opened or completed, divided by issued."],
  [
    "Median time to open",
    "Median time from issue to first open, over opened invites (within 1 %).",
  ],
  [
    "90th percentile time to open",
    "Nine in ten opened invites were opened within this time of their issue (within 1 %).",
  ],
];

const definitionList = DEFINITIONS.map(([term, text]) => `<dt>${term}</dt><dd>${text}</dd>`).join(
  "\n",
);

const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Invite stats · invite-edge</title>
<link rel="icon" href="/dashboard-icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard.css">
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<header class="bar">
<h1>Invite stats</h1>
<button type="button" id="forget" class="secondary" hidden>Forget key</button>
</header>
<main>
<noscript><p class="error">This page needs JavaScript to load the stats.</p></noscript>

<section id="sign-in" aria-labelledby="sign-in-title" hidden>
<h2 id="sign-in-title">Enter your analyst key</h2>
<form id="key-form" class="key-form">
<label for="key">Analyst API key</label>
<input id="key" name="key" type="password" autocomplete="off" spellcheck="false" required aria-describedby="key-hint key-error">
<p id="key-hint" class="hint">A key with the stats:read scope. It stays in this browser tab only (sessionStorage) and is sent to this server as a bearer header.</p>
<p id="key-error" class="error" role="alert"></p>
<button type="submit">Show stats</button>
</form>
</section>

<section id="stats" aria-labelledby="filters-title" hidden>
<h2 id="filters-title" class="visually-hidden">Filters</h2>
<form id="filters" class="filters">
<div><label for="from">From</label><input id="from" name="from" type="date"></div>
<div><label for="to">To</label><input id="to" name="to" type="date"></div>
<div><label for="survey">Survey</label><select id="survey" name="survey"><option value="">All surveys</option></select></div>
<div><label for="groupBy">Group table by</label><select id="groupBy" name="groupBy">
<option value="day">Day</option><option value="survey">Survey</option><option value="trigger">Trigger</option><option value="channel">Channel</option>
</select></div>
<div class="actions"><button type="submit">Update</button><button type="button" id="download" class="secondary">Download CSV</button></div>
</form>
<p id="status" class="status" role="status" aria-live="polite"></p>
<p id="error" class="error" role="alert"></p>

<figure class="chart-box">
<figcaption id="chart-caption">Issued, opened and completed invites per day</figcaption>
<div id="chart"></div>
<ul class="legend" aria-hidden="true">
<li><span class="swatch s-issued"></span>Issued</li>
<li><span class="swatch s-opened"></span>Opened</li>
<li><span class="swatch s-completed"></span>Completed</li>
</ul>
</figure>

<div class="table-wrap" role="region" aria-labelledby="table-caption" tabindex="0">
<table id="table"><caption id="table-caption">Invites</caption></table>
</div>

<details class="definitions">
<summary>What the numbers mean</summary>
<dl>
${definitionList}
</dl>
<p>Issued = opened + revoked + expired + still live (not opened, not revoked, not yet expired).</p>
</details>
</section>
</main>
</body>
</html>`;

/** A bar-chart icon, so the browser does not ask for a /favicon.ico the Worker lacks. */
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f5fbf"/><path fill="#fff" d="M7 24h4V14H7zm7 0h4V8h-4zm7 0h4V17h-4z"/></svg>`;

const ASSET_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-cache",
};

export const dashboardRoutes = createRouter()
  .get("/dashboard", (c) =>
    c.html(DASHBOARD_HTML, 200, {
      ...ASSET_HEADERS,
      "Content-Security-Policy": DASHBOARD_CSP,
      "Referrer-Policy": "no-referrer",
      "X-Robots-Tag": "noindex, nofollow",
    }),
  )
  .get("/dashboard.js", (c) =>
    c.body(DASHBOARD_JS, 200, {
      ...ASSET_HEADERS,
      "Content-Type": "text/javascript; charset=utf-8",
    }),
  )
  .get("/dashboard.css", (c) =>
    c.body(DASHBOARD_CSS, 200, { ...ASSET_HEADERS, "Content-Type": "text/css; charset=utf-8" }),
  )
  .get("/dashboard-icon.svg", (c) =>
    c.body(ICON_SVG, 200, { ...ASSET_HEADERS, "Content-Type": "image/svg+xml" }),
  );
