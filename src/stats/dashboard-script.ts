/**
 * The dashboard's script, a plain ES module run by the analyst's browser. A key is kept only once
 * the API accepted it for stats (a key without `stats:read` is refused at sign-in and never
 * stored); it lives in sessionStorage only (gone when the tab closes) and goes out only as the
 * bearer header of same-origin requests to /v1/stats. Everything is drawn with DOM APIs (textContent, attributes),
 * never innerHTML, so no value from an answer can become markup.
 */
// biome-ignore lint/complexity/noUselessStringRaw: backslashes in the browser code stay as written
export const DASHBOARD_JS = String.raw`
const KEY_STORAGE = "invite-edge.analystKey";
const SVG_NS = "http://www.w3.org/2000/svg";
const COLUMNS = [
  ["issued", "Issued"], ["opened", "Opened"], ["reopened", "Re-opened"], ["previews", "Previews"],
  ["blocked", "Blocked"], ["expired", "Expired"], ["revoked", "Revoked"], ["completed", "Completed"],
  ["openRate", "Open rate"], ["completionRate", "Completion rate"],
  ["medianSecondsToOpen", "Median time to open"],
  ["p90SecondsToOpen", "90th percentile time to open"],
];
const SERIES = [["issued", "issued"], ["opened", "opened"], ["completed", "completed"]];
const GROUP_LABEL = { day: "Day", survey: "Survey", trigger: "Trigger", channel: "Channel" };
const integer = new Intl.NumberFormat("en");
const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });
const dayLabel = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem(KEY_STORAGE), applied: null, days: null };

class SignedOut extends Error {}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function duration(seconds) {
  if (seconds < 60) return (seconds < 10 ? seconds.toFixed(1) : String(Math.round(seconds))) + " s";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return minutes + " min";
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return hours + " h" + (minutes % 60 ? " " + (minutes % 60) + " min" : "");
  return Math.floor(hours / 24) + " d" + (hours % 24 ? " " + (hours % 24) + " h" : "");
}

function formatted(field, value) {
  if (value === null || value === undefined) return "—";
  if (field.endsWith("Rate")) return percent.format(value);
  if (field.endsWith("SecondsToOpen")) return duration(value);
  return integer.format(value);
}

const dayName = (key) => dayLabel.format(new Date(key + "T00:00:00Z"));

function say(message) {
  $("status").textContent = message;
}

function fail(error) {
  if (error instanceof SignedOut) return;
  say("");
  $("error").textContent = error.message;
}

function showSignedIn(signedIn) {
  $("sign-in").hidden = signedIn;
  $("stats").hidden = !signedIn;
  $("forget").hidden = !signedIn;
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  showSignedIn(false);
  $("key-error").textContent = message;
  $("key").focus();
}

function query(applied, groupBy) {
  const params = new URLSearchParams();
  if (applied.from) params.set("from", applied.from);
  if (applied.to) params.set("to", applied.to);
  if (applied.survey) params.set("survey", applied.survey);
  params.set("groupBy", groupBy);
  return params;
}

async function stats(params, accept) {
  const response = await fetch("/v1/stats?" + params.toString(), {
    headers: { Authorization: "Bearer " + state.key, Accept: accept },
    cache: "no-store",
  });
  const refused = keyProblem(response.status);
  if (refused) {
    signOut(refused);
    throw new SignedOut();
  }
  if (!response.ok) {
    let message = "The stats could not be loaded (HTTP " + response.status + ").";
    try {
      const body = await response.json();
      if (body && body.error) {
        const details = (body.error.details || []).map((d) => d.path + ": " + d.message);
        message = [body.error.message, ...details].join(" ");
      }
    } catch {}
    throw new Error(message);
  }
  return response;
}

const json = async (params) => (await stats(params, "application/json")).json();

/** Why the API refuses a key, from its answer's status; null when it did not refuse the key. */
function keyProblem(status) {
  if (status === 401) return "That key was not accepted. Check it and enter it again.";
  if (status === 403) return "That key cannot read stats (it lacks the stats:read scope). Use an analyst key.";
  return null;
}

/** Asks the API whether the key may read stats (today's totals, a cheap call); null when it may. */
async function checkKey(key) {
  const today = new Date().toISOString().slice(0, 10);
  try {
    const response = await fetch("/v1/stats?from=" + today + "&to=" + today + "&groupBy=survey", {
      headers: { Authorization: "Bearer " + key, Accept: "application/json" },
      cache: "no-store",
    });
    if (response.ok) return null;
    return keyProblem(response.status) || "The key could not be checked (HTTP " + response.status + "). Try again.";
  } catch {
    return "The key could not be checked: the server did not answer. Try again.";
  }
}

/** A round step for the y axis (1, 2 or 5 times a power of ten, at least 1) and its top. */
function yScale(max) {
  const rough = Math.max(1, max / 4);
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  return { step: step, top: Math.max(step, Math.ceil(max / step) * step) };
}

function drawChart(rows) {
  const box = $("chart");
  const width = Math.max(300, Math.round(box.clientWidth || 640));
  const height = Math.round(Math.min(320, Math.max(200, width * 0.42)));
  const max = Math.max(0, ...rows.flatMap((row) => SERIES.map(([field]) => row[field])));
  const { step, top } = yScale(max);
  // Room for the longest y label (12px digits are about 7px wide).
  const margin = { left: 14 + 7 * integer.format(top).length, right: 12, top: 12, bottom: 30 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (i) => margin.left + (rows.length === 1 ? plotW / 2 : (i * plotW) / (rows.length - 1));
  const y = (value) => margin.top + plotH - (value / top) * plotH;
  const total = (field) => rows.reduce((sum, row) => sum + row[field], 0);
  const first = rows[0];
  const last = rows[rows.length - 1];
  const root = svg("svg", {
    class: "chart",
    viewBox: "0 0 " + width + " " + height,
    width: width,
    height: height,
    role: "img",
    "aria-labelledby": "chart-title chart-desc",
  });
  root.append(
    svg("title", { id: "chart-title" }, "Issued, opened and completed invites per day"),
    svg(
      "desc",
      { id: "chart-desc" },
      (first ? dayName(first.key) + " to " + dayName(last.key) + ": " : "") +
        SERIES.map(([field, label]) => integer.format(total(field)) + " " + label).join(", ") +
        ". The table below has every number.",
    ),
  );
  for (let value = 0; value <= top; value += step) {
    root.append(
      svg("line", { class: "grid", x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value) }),
      svg("text", { class: "axis", x: margin.left - 6, y: y(value) + 4, "text-anchor": "end" }, integer.format(value)),
    );
  }
  const every = Math.max(1, Math.ceil(rows.length / Math.max(1, Math.floor(plotW / 64))));
  rows.forEach((row, i) => {
    if (i % every !== 0) return;
    root.append(
      svg("text", { class: "axis", x: x(i), y: height - 8, "text-anchor": "middle" }, dayName(row.key)),
    );
  });
  for (const [field, label] of SERIES) {
    const points = rows.map((row, i) => x(i).toFixed(1) + "," + y(row[field]).toFixed(1));
    root.append(svg("polyline", { class: "line s-" + field, points: points.join(" ") }));
    if (rows.length <= 62) {
      rows.forEach((row, i) => {
        const dot = svg("circle", { class: "dot s-" + field, cx: x(i), cy: y(row[field]), r: 3 });
        dot.append(svg("title", {}, dayName(row.key) + ": " + integer.format(row[field]) + " " + label));
        root.append(dot);
      });
    }
  }
  box.replaceChildren(root);
}

function cells(tr, values) {
  for (const [field] of COLUMNS) tr.append(element("td", {}, formatted(field, values[field])));
}

function drawTable(answer) {
  const table = $("table");
  const label = GROUP_LABEL[answer.groupBy];
  const caption = element(
    "caption",
    { id: "table-caption" },
    "Invites by " + label.toLowerCase() + ", " + answer.from + " to " + answer.to + " (UTC)",
  );
  const head = element("thead");
  const headRow = element("tr");
  headRow.append(element("th", { scope: "col" }, label));
  for (const [, title] of COLUMNS) headRow.append(element("th", { scope: "col" }, title));
  head.append(headRow);
  const body = element("tbody");
  for (const row of answer.rows) {
    const tr = element("tr");
    tr.append(element("th", { scope: "row" }, row.key));
    cells(tr, row);
    body.append(tr);
  }
  if (answer.rows.length === 0) {
    const tr = element("tr");
    tr.append(element("td", { colspan: String(COLUMNS.length + 1) }, "No invites in this range."));
    body.append(tr);
  }
  const foot = element("tfoot");
  const totals = element("tr");
  totals.append(element("th", { scope: "row" }, "Total"));
  cells(totals, answer.totals);
  foot.append(totals);
  table.replaceChildren(caption, head, body, foot);
}

function fillSurveys(answer, selected) {
  const select = $("survey");
  const keys = answer.rows.map((row) => row.key);
  if (selected && !keys.includes(selected)) keys.push(selected);
  const options = [element("option", { value: "" }, "All surveys")];
  for (const key of keys.sort()) options.push(element("option", { value: key }, key));
  select.replaceChildren(...options);
  select.value = selected || "";
}

async function refresh() {
  const applied = {
    from: $("from").value,
    to: $("to").value,
    survey: $("survey").value,
    groupBy: $("groupBy").value,
  };
  $("error").textContent = "";
  say("Loading…");
  try {
    const everySurvey = { from: applied.from, to: applied.to, survey: "" };
    const [days, grouped, surveys] = await Promise.all([
      json(query(applied, "day")),
      applied.groupBy === "day" ? null : json(query(applied, applied.groupBy)),
      json(query(everySurvey, "survey")),
    ]);
    state.applied = { ...applied, from: days.from, to: days.to };
    state.days = days.rows;
    $("from").value = days.from;
    $("to").value = days.to;
    fillSurveys(surveys, applied.survey);
    drawChart(days.rows);
    drawTable(grouped || days);
    const t = days.totals;
    say(
      integer.format(t.issued) + " issued, " + integer.format(t.opened) + " opened, " +
        integer.format(t.completed) + " completed from " + days.from + " to " + days.to + ".",
    );
  } catch (error) {
    fail(error);
  }
}

async function downloadCsv() {
  if (!state.applied) return;
  $("error").textContent = "";
  say("Preparing the CSV…");
  try {
    const response = await stats(query(state.applied, state.applied.groupBy), "text/csv");
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const name = match ? match[1] : "invite-stats.csv";
    const url = URL.createObjectURL(await response.blob());
    const link = element("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say("Downloaded " + name + ".");
  } catch (error) {
    fail(error);
  }
}

$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  const submit = $("key-form").querySelector("button");
  submit.disabled = true;
  $("key-error").textContent = "";
  const problem = await checkKey(key);
  submit.disabled = false;
  if (problem) {
    $("key-error").textContent = problem;
    $("key").focus();
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  state.key = key;
  $("key").value = "";
  showSignedIn(true);
  refresh();
});

$("forget").addEventListener("click", () => signOut(""));

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  refresh();
});

$("download").addEventListener("click", downloadCsv);

let resizing = 0;
window.addEventListener("resize", () => {
  cancelAnimationFrame(resizing);
  resizing = requestAnimationFrame(() => {
    if (state.days) drawChart(state.days);
  });
});

if (state.key) {
  showSignedIn(true);
  refresh();
} else {
  showSignedIn(false);
}
`;
