/**
 * `/docs`: a small, dependency-free reference page rendered in the browser from `/openapi.json`
 * (no CDN: the page must work where the browser has no internet).
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>invite-edge API</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.45}
.op{border:1px solid #ccc;border-radius:.5rem;margin:1rem 0;padding:.75rem 1rem}
.m{font-weight:700;text-transform:uppercase;display:inline-block;min-width:4.5rem}
code,pre{font-family:ui-monospace,monospace;font-size:.9rem}
pre{background:#f4f4f4;padding:.5rem;overflow:auto;border-radius:.3rem}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}pre{background:#222}}
</style>
</head>
<body>
<h1>invite-edge API</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>.</p>
<div id="ops">Loading…</div>
<script type="module" src="/docs.js"></script>
</body>
</html>`;

export const DOCS_JS = `
const el = (tag, text) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; };
const spec = await (await fetch("/openapi.json")).json();
const ops = document.getElementById("ops");
ops.textContent = "";
const schemas = spec.components?.schemas ?? {};
const show = (s) => JSON.stringify(s && s.$ref ? schemas[s.$ref.split("/").pop()] : s, null, 2);
for (const [path, methods] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(methods)) {
    const box = el("section"); box.className = "op";
    const h = el("h2"); const m = el("span", method); m.className = "m"; h.append(m, el("code", path)); box.append(h);
    if (op.summary) box.append(el("p", op.summary));
    const body = op.requestBody?.content?.["application/json"]?.schema;
    if (body) { box.append(el("h3", "Request body")); box.append(el("pre", show(body))); }
    box.append(el("h3", "Responses"));
    const list = el("ul");
    for (const [status, r] of Object.entries(op.responses ?? {})) list.append(el("li", status + " — " + (r.description ?? "")));
    box.append(list);
    ops.append(box);
  }
}
`;
