/** The dashboard's stylesheet: mobile first, light and dark, visible focus, 4.5:1 text contrast. */
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de; --panel: #f6f8fa;
  --accent: #1f5fbf; --on-accent: #ffffff; --error: #b42318; --focus: #f5a623;
  --c-issued: #1f5fbf; --c-opened: #a85400; --c-completed: #1a7f37;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d; --panel: #161b22;
    --accent: #6ca4f8; --on-accent: #0d1117; --error: #ff8a80;
    --c-issued: #6ca4f8; --c-opened: #f0a33a; --c-completed: #3fb950;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45; }
.bar { display: flex; align-items: center; justify-content: space-between; gap: 1rem;
  padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.15rem; }
main { max-width: 72rem; margin: 0 auto; padding: 0 1rem 2rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input, select, button { font: inherit; min-height: 2.75rem; border-radius: .4rem; }
input, select { width: 100%; padding: .4rem .6rem; border: 1px solid var(--muted);
  background: var(--bg); color: var(--fg); }
button { border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent);
  padding: 0 1rem; cursor: pointer; font-weight: 600; }
button.secondary { background: transparent; color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.key-form { max-width: 28rem; }
.key-form button { margin-top: .5rem; }
.hint { color: var(--muted); font-size: .9rem; }
.error { color: var(--error); font-weight: 600; }
.error:empty, .status:empty { margin: 0; }
.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr));
  gap: .75rem; align-items: end; margin: 1rem 0; }
.actions { grid-column: 1 / -1; display: flex; gap: .5rem; flex-wrap: wrap; }
.status { color: var(--muted); }
.chart-box { margin: 1rem 0; padding: .75rem; border: 1px solid var(--line); border-radius: .5rem;
  background: var(--panel); }
figcaption { font-weight: 600; margin-bottom: .5rem; }
#chart { min-height: 12rem; }
.chart { display: block; width: 100%; height: auto; }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.chart .axis { fill: var(--muted); font-size: 12px; }
.chart .line { fill: none; stroke-width: 2.5; stroke-linejoin: round; stroke-linecap: round; }
.chart .dot { stroke: none; }
.s-issued { stroke: var(--c-issued); }
.s-opened { stroke: var(--c-opened); stroke-dasharray: 7 4; }
.s-completed { stroke: var(--c-completed); stroke-dasharray: 2 4; }
.dot.s-issued, .swatch.s-issued { fill: var(--c-issued); background: var(--c-issued); }
.dot.s-opened, .swatch.s-opened { fill: var(--c-opened); background: var(--c-opened); }
.dot.s-completed, .swatch.s-completed { fill: var(--c-completed); background: var(--c-completed); }
.legend { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; list-style: none; padding: 0;
  margin: .5rem 0 0; }
.swatch { display: inline-block; width: 1.5rem; height: .35rem; margin-right: .4rem;
  vertical-align: middle; border-radius: .2rem; }
.table-wrap { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: .5rem 0; }
th, td { padding: .45rem .5rem; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
thead th { vertical-align: bottom; white-space: normal; min-width: 3.5rem; }
th[scope="row"], thead th:first-child { text-align: left; position: sticky; left: 0;
  background: var(--bg); }
tfoot th, tfoot td { font-weight: 700; border-top: 2px solid var(--fg); }
.definitions dt { font-weight: 600; margin-top: .5rem; }
.definitions dd { margin: 0 0 0 1rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
`;
