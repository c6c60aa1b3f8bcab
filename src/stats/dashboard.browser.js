// @ts-check
/**
 * The dashboard's script, a plain ES module run by the analyst's browser and served as written
 * (wrangler.toml bundles it as text; tsconfig.browser.json typechecks it against the DOM).
 * A key is kept only once the API accepted it for stats (a key without `stats:read` is refused at
 * sign-in and never stored); it lives in this tab's sessionStorage only and goes out only as the
 * bearer header of same-origin requests to /v1/stats. Everything is drawn with DOM APIs
 * (textContent, attributes), never by parsing markup, so no value from an answer can become markup.
 */

/**
 * The stats API's answer (`Stats` in /openapi.json): the counts of one group, or of the whole range.
 * @typedef {object} Counts
 * @property {number} issued
 * @property {number} opened
 * @property {number} reopened
 * @property {number} crossBrowser
 * @property {number} previews
 * @property {number} blocked
 * @property {number} expired
 * @property {number} revoked
 * @property {number} completed
 * @property {number} suppressed
 * @property {number | null} openRate
 * @property {number | null} completionRate
 * @property {number | null} medianSecondsToOpen
 * @property {number | null} p90SecondsToOpen
 */
/** @typedef {Counts & { key: string }} Row */
/** @typedef {"day" | "survey" | "trigger" | "channel"} GroupBy */
/** @typedef {{ from: string, to: string, groupBy: GroupBy, rows: Row[], totals: Counts }} Stats */
/** @typedef {{ from: string, to: string, survey: string }} Range */
/** @typedef {Range & { groupBy: GroupBy }} Filters */
/** @typedef {"issued" | "opened" | "completed"} Series */

const KEY_STORAGE = "invite-edge.analystKey";
const SVG_NS = "http://www.w3.org/2000/svg";
/** @type {[keyof Counts, string][]} */
const COLUMNS = [
  ["issued", "Issued"],
  ["suppressed", "Suppressed"],
  ["opened", "Opened"],
  ["reopened", "Re-opened"],
  ["crossBrowser", "Same device, other browser"],
  ["previews", "Previews"],
  ["blocked", "Blocked"],
  ["expired", "Expired"],
  ["revoked", "Revoked"],
  ["completed", "Completed"],
  ["openRate", "Open rate"],
  ["completionRate", "Completion rate"],
  ["medianSecondsToOpen", "Median time to open"],
  ["p90SecondsToOpen", "90th percentile time to open"],
];
/** @type {[Series, string][]} */
const SERIES = [
  ["issued", "issued"],
  ["opened", "opened"],
  ["completed", "completed"],
];
/** @type {Record<GroupBy, string>} */
const GROUP_LABEL = { day: "Day", survey: "Survey", trigger: "Trigger", channel: "Channel" };
const integer = new Intl.NumberFormat("en");
const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });
const dayLabel = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });

/**
 * The page's element with this id, of the kind the page has there (/dashboard's HTML).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} kind
 * @returns {T}
 */
function byId(id, kind) {
  const node = document.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`The page has no ${kind.name} #${id}.`);
  return node;
}

const page = {
  signIn: byId("sign-in", HTMLElement),
  keyForm: byId("key-form", HTMLFormElement),
  key: byId("key", HTMLInputElement),
  keyError: byId("key-error", HTMLElement),
  forget: byId("forget", HTMLButtonElement),
  stats: byId("stats", HTMLElement),
  filters: byId("filters", HTMLFormElement),
  from: byId("from", HTMLInputElement),
  to: byId("to", HTMLInputElement),
  survey: byId("survey", HTMLSelectElement),
  groupBy: byId("groupBy", HTMLSelectElement),
  download: byId("download", HTMLButtonElement),
  status: byId("status", HTMLElement),
  error: byId("error", HTMLElement),
  chart: byId("chart", HTMLElement),
  table: byId("table", HTMLTableElement),
};

/** @type {{ key: string | null, applied: Filters | null, days: Row[] | null }} */
const state = { key: sessionStorage.getItem(KEY_STORAGE), applied: null, days: null };

/** The key was refused and the sign-in form is back: the caller has nothing more to show. */
class SignedOut extends Error {}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attributes]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attributes
 * @param {string} [text]
 * @returns {SVGElement}
 */
function svg(tag, attributes, text) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {number} seconds */
function duration(seconds) {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : String(Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ""}`;
}

/**
 * @param {keyof Counts} field
 * @param {number | null | undefined} value
 */
function formatted(field, value) {
  if (value === null || value === undefined) return "—";
  if (field.endsWith("Rate")) return percent.format(value);
  if (field.endsWith("SecondsToOpen")) return duration(value);
  return integer.format(value);
}

/** @param {string} key a day, YYYY-MM-DD */
const dayName = (key) => dayLabel.format(new Date(`${key}T00:00:00Z`));

/** @param {string} message */
function say(message) {
  page.status.textContent = message;
}

/** @param {unknown} error */
function fail(error) {
  if (error instanceof SignedOut) return;
  say("");
  page.error.textContent = error instanceof Error ? error.message : String(error);
}

/** @param {boolean} signedIn */
function showSignedIn(signedIn) {
  page.signIn.hidden = signedIn;
  page.stats.hidden = !signedIn;
  page.forget.hidden = !signedIn;
}

/** @param {string} message */
function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  showSignedIn(false);
  page.keyError.textContent = message;
  page.key.focus();
}

/**
 * @param {Range} applied
 * @param {GroupBy} groupBy
 */
function query(applied, groupBy) {
  const params = new URLSearchParams();
  if (applied.from) params.set("from", applied.from);
  if (applied.to) params.set("to", applied.to);
  if (applied.survey) params.set("survey", applied.survey);
  params.set("groupBy", groupBy);
  return params;
}

/**
 * @param {URLSearchParams} params
 * @param {string} accept
 */
async function stats(params, accept) {
  const response = await fetch(`/v1/stats?${params}`, {
    headers: { Authorization: `Bearer ${state.key}`, Accept: accept },
    cache: "no-store",
  });
  const refused = keyProblem(response.status);
  if (refused) {
    signOut(refused);
    throw new SignedOut();
  }
  if (!response.ok) {
    let message = `The stats could not be loaded (HTTP ${response.status}).`;
    try {
      /** @type {{ error?: { message: string, details?: { path: string, message: string }[] } }} */
      const body = await response.json();
      if (body?.error) {
        const details = (body.error.details || []).map((d) => `${d.path}: ${d.message}`);
        message = [body.error.message, ...details].join(" ");
      }
    } catch {}
    throw new Error(message);
  }
  return response;
}

/**
 * @param {URLSearchParams} params
 * @returns {Promise<Stats>}
 */
const json = async (params) => (await stats(params, "application/json")).json();

/**
 * Why the API refuses a key, from its answer's status; null when it did not refuse the key.
 * @param {number} status
 */
function keyProblem(status) {
  if (status === 401) return "That key was not accepted. Check it and enter it again.";
  if (status === 403) {
    return "That key cannot read stats (it lacks the stats:read scope). Use an analyst key.";
  }
  return null;
}

/**
 * Asks the API whether the key may read stats (today's totals, a cheap call); null when it may.
 * @param {string} key
 */
async function checkKey(key) {
  const today = new Date().toISOString().slice(0, 10);
  try {
    const response = await fetch(`/v1/stats?from=${today}&to=${today}&groupBy=survey`, {
      headers: { Authorization: `Bearer ${key}`, Accept: "application/json" },
      cache: "no-store",
    });
    if (response.ok) return null;
    return (
      keyProblem(response.status) ||
      `The key could not be checked (HTTP ${response.status}). Try again.`
    );
  } catch {
    return "The key could not be checked: the server did not answer. Try again.";
  }
}

/**
 * A round step for the y axis (1, 2 or 5 times a power of ten, at least 1) and its top.
 * @param {number} max
 */
function yScale(max) {
  const rough = Math.max(1, max / 4);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  return { step: step, top: Math.max(step, Math.ceil(max / step) * step) };
}

/** @param {Row[]} rows */
function drawChart(rows) {
  const box = page.chart;
  const width = Math.max(300, Math.round(box.clientWidth || 640));
  const height = Math.round(Math.min(320, Math.max(200, width * 0.42)));
  const max = Math.max(0, ...rows.flatMap((row) => SERIES.map(([field]) => row[field])));
  const { step, top } = yScale(max);
  // Room for the longest y label (12px digits are about 7px wide).
  const margin = { left: 14 + 7 * integer.format(top).length, right: 12, top: 12, bottom: 30 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  /** @param {number} i */
  const x = (i) => margin.left + (rows.length === 1 ? plotW / 2 : (i * plotW) / (rows.length - 1));
  /** @param {number} value */
  const y = (value) => margin.top + plotH - (value / top) * plotH;
  /** @param {Series} field */
  const total = (field) => rows.reduce((sum, row) => sum + row[field], 0);
  const first = rows[0];
  const last = rows[rows.length - 1];
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
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
      (first && last ? `${dayName(first.key)} to ${dayName(last.key)}: ` : "") +
        SERIES.map(([field, label]) => `${integer.format(total(field))} ${label}`).join(", ") +
        ". The table below has every number.",
    ),
  );
  for (let value = 0; value <= top; value += step) {
    root.append(
      svg("line", {
        class: "grid",
        x1: margin.left,
        x2: width - margin.right,
        y1: y(value),
        y2: y(value),
      }),
      svg(
        "text",
        { class: "axis", x: margin.left - 6, y: y(value) + 4, "text-anchor": "end" },
        integer.format(value),
      ),
    );
  }
  const every = Math.max(1, Math.ceil(rows.length / Math.max(1, Math.floor(plotW / 64))));
  rows.forEach((row, i) => {
    if (i % every !== 0) return;
    root.append(
      svg(
        "text",
        { class: "axis", x: x(i), y: height - 8, "text-anchor": "middle" },
        dayName(row.key),
      ),
    );
  });
  for (const [field, label] of SERIES) {
    const points = rows.map((row, i) => `${x(i).toFixed(1)},${y(row[field]).toFixed(1)}`);
    root.append(svg("polyline", { class: `line s-${field}`, points: points.join(" ") }));
    if (rows.length <= 62) {
      rows.forEach((row, i) => {
        const dot = svg("circle", { class: `dot s-${field}`, cx: x(i), cy: y(row[field]), r: 3 });
        dot.append(svg("title", {}, `${dayName(row.key)}: ${integer.format(row[field])} ${label}`));
        root.append(dot);
      });
    }
  }
  box.replaceChildren(root);
}

/**
 * @param {HTMLTableRowElement} tr
 * @param {Counts} values
 */
function cells(tr, values) {
  for (const [field] of COLUMNS) tr.append(element("td", {}, formatted(field, values[field])));
}

/** @param {Stats} answer */
function drawTable(answer) {
  const label = GROUP_LABEL[answer.groupBy];
  const caption = element(
    "caption",
    { id: "table-caption" },
    `Invites by ${label.toLowerCase()}, ${answer.from} to ${answer.to} (UTC)`,
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
  page.table.replaceChildren(caption, head, body, foot);
}

/**
 * @param {Stats} answer
 * @param {string} selected
 */
function fillSurveys(answer, selected) {
  const select = page.survey;
  const keys = answer.rows.map((row) => row.key);
  if (selected && !keys.includes(selected)) keys.push(selected);
  const options = [element("option", { value: "" }, "All surveys")];
  for (const key of keys.sort()) options.push(element("option", { value: key }, key));
  select.replaceChildren(...options);
  select.value = selected || "";
}

async function refresh() {
  /** @type {Filters} */
  const applied = {
    from: page.from.value,
    to: page.to.value,
    survey: page.survey.value,
    groupBy: /** @type {GroupBy} */ (page.groupBy.value),
  };
  page.error.textContent = "";
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
    page.from.value = days.from;
    page.to.value = days.to;
    fillSurveys(surveys, applied.survey);
    drawChart(days.rows);
    drawTable(grouped || days);
    const t = days.totals;
    say(
      `${integer.format(t.issued)} issued (${integer.format(t.suppressed)} suppressed), ` +
        `${integer.format(t.opened)} opened, ` +
        `${integer.format(t.completed)} completed from ${days.from} to ${days.to}.`,
    );
  } catch (error) {
    fail(error);
  }
}

async function downloadCsv() {
  if (!state.applied) return;
  page.error.textContent = "";
  say("Preparing the CSV…");
  try {
    const response = await stats(query(state.applied, state.applied.groupBy), "text/csv");
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const name = match?.[1] ?? "invite-stats.csv";
    const url = URL.createObjectURL(await response.blob());
    const link = element("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say(`Downloaded ${name}.`);
  } catch (error) {
    fail(error);
  }
}

page.keyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = page.key.value.trim();
  if (!key) return;
  const submit = page.keyForm.querySelector("button");
  if (submit) submit.disabled = true;
  page.keyError.textContent = "";
  const problem = await checkKey(key);
  if (submit) submit.disabled = false;
  if (problem) {
    page.keyError.textContent = problem;
    page.key.focus();
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  state.key = key;
  page.key.value = "";
  showSignedIn(true);
  refresh();
});

page.forget.addEventListener("click", () => signOut(""));

page.filters.addEventListener("submit", (event) => {
  event.preventDefault();
  refresh();
});

page.download.addEventListener("click", downloadCsv);

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
