// storemood dashboard: reads the REST API of the server that served it and draws with Chart.js.
// Everything it shows comes from /api (the same figures as `storemood report`); it polls /api/status
// and redraws when new visits are stored, so a page left open follows `storemood run` live.
"use strict";

// The emotions in row order, their colours and the server's limits come from the server (/api/meta), so the
// dashboard draws each emotion in the colour the annotated video and the report charts use, and charts and
// pages like the report does.
let EMOTIONS = [];
let EMOTION_COLORS = {};
let MAX_SERIES = 0;         // lines in the valence chart and histograms in the dwell chart
let TABLE_LIMIT = 0;        // the API's largest page
let HOURLY_UP_TO_DAYS = 0;  // periods this short get hourly valence points, longer ones daily
const SERIES_COLORS = ["#2f6fdb", "#d64545", "#1c7c54", "#f0b429", "#7b61ff", "#e56b1f", "#0e9aa7", "#8e6c3a"];
const POLL_MS = 5000;

// The page's state; exposed for tests and for anyone curious in the browser console.
const state = {
  by: "product",
  token: sessionStorage.getItem("storemood-token") || "",
  status: null,
  charts: {},
  data: {},
  refreshing: null,
  again: false,
  refreshes: 0,
};
window.storemood = state;

class AuthNeeded extends Error {}

const $ = (id) => document.getElementById(id);
const integer = new Intl.NumberFormat("en-US");

// ---- talking to the API -------------------------------------------------------------------------

async function api(path, params = new URLSearchParams()) {
  const query = params.toString();
  const response = await fetch(query ? `${path}?${query}` : path, {
    headers: state.token ? { Authorization: `Bearer ${state.token}` } : {},
  });
  if (response.status === 401) throw new AuthNeeded("token needed");
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.message || body.detail || `${response.status} ${response.statusText}`);
  }
  return response.headers.get("content-type").startsWith("text/csv") ? response.blob() : response.json();
}

// The viewer's own time zone: dates, hours and days on the dashboard are local, as a store manager reads them.
const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const localTime = new Intl.DateTimeFormat("sv-SE", { dateStyle: "short", timeStyle: "short" }); // 2026-11-22 10:00

// The filters as query parameters; dates are whole local days, "To" included.
function filterParams({ withCamera = true } = {}) {
  const params = new URLSearchParams({ tz: TIME_ZONE });
  if ($("store").value) params.append("store", $("store").value);
  if (withCamera && $("camera").value) params.append("camera", $("camera").value);
  if ($("since").value) params.set("since", new Date(`${$("since").value}T00:00:00`).toISOString());
  if ($("until").value) {
    const end = new Date(`${$("until").value}T00:00:00`);
    end.setDate(end.getDate() + 1);
    params.set("until", end.toISOString());
  }
  return params;
}

function withParams(base, extra) {
  const params = new URLSearchParams(base);
  for (const [name, value] of Object.entries(extra)) {
    for (const item of [].concat(value)) params.append(name, item);
  }
  return params;
}

// ---- drawing ------------------------------------------------------------------------------------

function draw(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  state.charts[id] = new Chart($(id), config);
}

function percentAxis(axis) {
  return { [axis]: { min: 0, max: 1, ticks: { callback: (value) => `${Math.round(value * 100)}%` } } };
}

function sharePercent(context) {
  return `${context.dataset.label}: ${(context.parsed[context.chart.options.indexAxis === "y" ? "x" : "y"] * 100).toFixed(1)}%`;
}

function percent(value) {
  return `${Math.round(value * 100)}%`;
}

// "+0.12 to +0.40": a 95% interval as the tables and tooltips show it.
function interval(bounds, format) {
  return bounds ? `${format(bounds[0])} to ${format(bounds[1])}` : "";
}

// The tooltip of a share bar: the share and its 95% interval (rows carry them in the same order as the bars).
function shareWithInterval(rows, sideOf = (index) => rows[index]) {
  return (context) => {
    const row = sideOf(context.dataIndex, context.datasetIndex);
    const bounds = row && row.shares_ci95 ? row.shares_ci95[context.dataset.label] || row.shares_ci95[context.label] : null;
    return `${sharePercent(context)}${bounds ? ` (95%: ${interval(bounds, percent)})` : ""}`;
  };
}

// Why a row's figures are greyed or missing: suppressed below k visits, or too few visits to rank.
function note(row, policy) {
  if (row.suppressed) return `suppressed: fewer than ${policy.min_group} visits`;
  return row.enough_visits ? "" : "too few visits";
}

function label(row) {
  const key = row[state.by];
  const named = state.by === "product" && row.product_name && row.product_name !== key;
  return named ? `${key} (${row.product_name})` : key;
}

function signed(value) {
  return `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillRows(table, rows, columns, rowClass = () => "") {
  const body = table.querySelector("tbody");
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    tr.className = rowClass(row);
    tr.append(...columns.map(([get, className]) => cell(get(row), typeof className === "function" ? className(row) : className)));
    return tr;
  }));
}

function valenceClass(row) {
  return `number ${row.valence > 0 ? "positive" : row.valence < 0 ? "negative" : ""}`;
}

function greyed(row) {
  return row.enough_visits && !row.suppressed ? "" : "few";
}

function rankingRows(table, rows, policy) {
  const columns = [[(row) => row.product_name ? `${row.product} (${row.product_name})` : row.product], [(row) => row.brand],
    [(row) => integer.format(row.visits), "number"], [(row) => signed(row.valence), valenceClass],
    [(row) => interval(row.valence_ci95, signed), "number"]];
  fillRows(table, rows, columns);
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(`No product has the ${policy.min_visits} visits needed to rank it.`, "empty");
    td.colSpan = columns.length;
    tr.append(td);
    table.querySelector("tbody").replaceChildren(tr);
  }
}

function renderOverview(overview) {
  const summary = overview.summary;
  const shown = summary && !summary.suppressed;
  $("visits").textContent = summary ? integer.format(summary.visits) : "0";
  $("dwell").textContent = shown ? `${summary.dwell_median_s.toFixed(1)} s` : "–";
  $("dwell-interval").textContent = shown ? `95%: ${interval(summary.dwell_median_ci95_s, (value) => value.toFixed(1))} s` : "";
  $("valence").textContent = shown ? signed(summary.valence) : "–";
  $("valence-interval").textContent = shown ? `95%: ${interval(summary.valence_ci95, signed)}` : "";
  $("engagement").textContent = shown ? `${Math.round(summary.engagement * 100)}%` : "–";
  $("policy").textContent = `Shares estimated by the ${overview.shares_method} method. Ranked: products with at least `
    + `${overview.min_visits} visits, best by the low end of their valence interval, worst by its high end. `
    + `Groups of fewer than ${overview.min_group} visits show no figures.`;
  const { first_visit: first, last_visit: last } = overview.period;
  $("period").textContent = first ? `${localTime.format(new Date(first))} – ${localTime.format(new Date(last))} (${TIME_ZONE})` : "";
  draw("chart-overall", {
    type: "bar",
    data: {
      labels: EMOTIONS,
      datasets: [{
        label: "share of visits",
        data: EMOTIONS.map((name) => (shown ? summary.shares[name] : null)),
        backgroundColor: EMOTIONS.map((name) => EMOTION_COLORS[name]),
      }],
    },
    options: { plugins: { legend: { display: false }, tooltip: { callbacks: { label: shareWithInterval([summary], () => summary) } } }, scales: percentAxis("y") },
  });
  rankingRows($("top"), overview.top, overview);
  rankingRows($("bottom"), overview.bottom, overview);
}

function renderShares(rows) {
  draw("chart-shares", {
    type: "bar",
    data: {
      labels: rows.map(label),
      datasets: EMOTIONS.map((name) => ({
        label: name, data: rows.map((row) => (row.shares ? row.shares[name] : null)), backgroundColor: EMOTION_COLORS[name],
      })),
    },
    options: {
      indexAxis: "y",
      plugins: { tooltip: { callbacks: { label: shareWithInterval(rows) } } },
      scales: { x: { stacked: true, ...percentAxis("x").x }, y: { stacked: true } },
    },
  });
}

function renderValence(points, keys, bucket) {
  const times = [...new Set(points.map((point) => point.time))].sort();
  $("bucket").textContent = `(per ${bucket}, ${TIME_ZONE})`;
  draw("chart-valence", {
    type: "line",
    data: {
      labels: times,
      datasets: keys.map((key, index) => {
        const byTime = new Map(points.filter((point) => point[state.by] === key).map((point) => [point.time, point.valence]));
        return {
          label: key, data: times.map((time) => (byTime.has(time) ? byTime.get(time) : null)),
          borderColor: SERIES_COLORS[index % SERIES_COLORS.length], backgroundColor: SERIES_COLORS[index % SERIES_COLORS.length],
          spanGaps: true, clip: false, pointRadius: times.length > 48 ? 0 : 3,
        };
      }),
    },
    options: { scales: { y: { min: -1, max: 1 } } },
  });
}

function renderDwell(dwell, keys) {
  // Same order, hence same colours, as the valence lines.
  const rows = keys.map((key) => dwell.rows.find((row) => row[state.by] === key)).filter((row) => row && row.bins);
  const bins = rows.length ? Object.keys(rows[0].bins) : [];
  draw("chart-dwell", {
    type: "bar",
    data: {
      labels: bins,
      datasets: rows.map((row, index) => ({
        label: row[state.by], data: bins.map((bin) => row.bins[bin]),
        backgroundColor: SERIES_COLORS[index % SERIES_COLORS.length],
      })),
    },
    options: { scales: { y: { title: { display: true, text: "visits" } } } },
  });
}

function renderFigures(table) {
  const head = [state.by, "brand", "visits", "note", "median dwell", "engaged", "valence", "valence 95%", ...EMOTIONS];
  const tr = document.createElement("tr");
  tr.append(...head.map((name, index) => {
    const th = document.createElement("th");
    th.textContent = name;
    if (index > 3) th.className = "number";
    return th;
  }));
  $("figures").querySelector("thead").replaceChildren(tr);
  const shown = (get) => (row) => (row.suppressed ? "" : get(row));
  fillRows($("figures"), table.rows, [
    [label], [(row) => row.brand], [(row) => integer.format(row.visits), "number"], [(row) => note(row, table), "note"],
    [shown((row) => `${row.dwell_median_s.toFixed(1)} s`), "number"],
    [shown((row) => `${Math.round(row.engagement * 100)}%`), "number"],
    [shown((row) => signed(row.valence)), valenceClass],
    [shown((row) => interval(row.valence_ci95, signed)), "number"],
    ...EMOTIONS.map((name) => [shown((row) => `${percent(row.shares[name])} (${interval(row.shares_ci95[name], percent)})`), "number"]),
  ], greyed);
}

// ---- comparison ---------------------------------------------------------------------------------

function fillSelect(select, values, preferred) {
  const keep = values.includes(select.value) ? select.value : preferred;
  select.replaceChildren(...values.map((value) => new Option(value, value)));
  if (keep !== undefined) select.value = keep;
}

async function refreshComparison(keys) {
  document.querySelector(".compare-kind").textContent = `${state.by}s`;
  fillSelect($("compare-a"), keys, keys[0]);
  fillSelect($("compare-b"), keys, keys[1]);
  const [a, b] = [$("compare-a").value, $("compare-b").value];
  if (!a || !b || a === b) {
    state.data.comparison = null;
    draw("chart-compare", { type: "bar", data: { labels: EMOTIONS, datasets: [] } });
    $("compare-table").querySelector("tbody").replaceChildren();
    $("compare-sentence").textContent = "";
    return;
  }
  const comparison = await api("/api/compare", withParams(filterParams(), { by: state.by, a, b }));
  state.data.comparison = comparison;
  $("compare-sentence").textContent = comparison.sentence;
  const sides = [comparison.a, comparison.b];
  draw("chart-compare", {
    type: "bar",
    data: {
      labels: EMOTIONS,
      datasets: sides.map((side, index) => ({
        label: side[state.by], data: EMOTIONS.map((name) => (side.shares ? side.shares[name] : null)), backgroundColor: SERIES_COLORS[index],
      })),
    },
    options: {
      plugins: { tooltip: { callbacks: { label: (context) => {
        const bounds = sides[context.datasetIndex].shares_ci95;
        return `${sharePercent(context)}${bounds ? ` (95%: ${interval(bounds[context.label], percent)})` : ""}`;
      } } } },
      scales: percentAxis("y"),
    },
  });
  const tr = document.createElement("tr");
  tr.append(...["", a, b, "difference", "95% interval", "p"].map((text) => Object.assign(document.createElement("th"), { textContent: text })));
  $("compare-table").querySelector("thead").replaceChildren(tr);
  fillRows($("compare-table"), compareRows(comparison), [0, 1, 2, 3, 4, 5].map((index) => [(row) => row[index], index ? "number" : ""]));
}

// The comparison table: visits, median dwell, valence and each emotion's share, side by side, with the
// difference (first minus second), its 95% interval and the p-value of the test that covers it.
function compareRows(comparison) {
  const { a, b, tests } = comparison;
  const p = (test) => (test.p_value === null ? "" : test.p_value < 0.001 ? "< 0.001" : test.p_value.toFixed(3));
  const rows = [["visits", integer.format(a.visits), integer.format(b.visits), "", "", ""]];
  if (comparison.share_differences === null) return rows;
  const seconds = (value) => `${value >= 0 ? "+" : ""}${value.toFixed(1)} s`;
  rows.push(["median dwell", `${a.dwell_median_s.toFixed(1)} s`, `${b.dwell_median_s.toFixed(1)} s`,
    seconds(comparison.dwell_median_difference_s), interval(tests.dwell.difference_ci95, seconds), p(tests.dwell)]);
  rows.push(["valence", signed(a.valence), signed(b.valence), signed(comparison.valence_difference),
    interval(tests.valence.difference_ci95, signed), p(tests.valence)]);
  const signedPercent = (value) => `${value >= 0 ? "+" : ""}${Math.round(value * 100)}%`;
  rows.push([`emotion mix (${tests.emotions.method})`, "", "", "", "", p(tests.emotions)]);
  for (const name of EMOTIONS) {
    rows.push([`${name} share`, percent(a.shares[name]), percent(b.shares[name]), signedPercent(comparison.share_differences[name]),
      interval(comparison.share_differences_ci95[name], signedPercent), ""]);
  }
  return rows;
}

// ---- refreshing ---------------------------------------------------------------------------------

function bucketFor(period) {
  if (!period.first_visit) return "day";
  const days = (Date.parse(period.last_visit) - Date.parse(period.first_visit)) / 86400000;
  return days <= HOURLY_UP_TO_DAYS ? "hour" : "day";
}

async function refreshFilterChoices() {
  const timeOnly = withParams(filterParams({ withCamera: false }), { limit: TABLE_LIMIT });
  timeOnly.delete("store");
  const [stores, cameras] = await Promise.all([api("/api/stores", timeOnly), api("/api/cameras", withParams(filterParams({ withCamera: false }), { limit: TABLE_LIMIT }))]);
  keepChoices($("store"), "All stores", stores.rows.map((row) => [row.id, row.name && row.name !== row.id ? `${row.name} (${row.id})` : row.id]));
  const cameraIds = [...new Set(cameras.rows.map((row) => row.id))];
  keepChoices($("camera"), "All cameras", cameraIds.map((id) => [id, id]));
}

function keepChoices(select, allLabel, choices) {
  const chosen = select.value;
  select.replaceChildren(new Option(allLabel, ""), ...choices.map(([value, text]) => new Option(text, value)));
  select.value = choices.some(([value]) => value === chosen) ? chosen : "";
}

async function refreshAll() {
  await refreshFilterChoices();
  const filters = filterParams();
  const [overview, table] = await Promise.all([
    api("/api/overview", filters),
    api(`/api/aggregates/${state.by}`, withParams(filters, { limit: TABLE_LIMIT, sort: "-visits" })),
  ]);
  const keys = table.rows.slice(0, MAX_SERIES).map((row) => row[state.by]);
  const bucket = bucketFor(overview.period);
  const narrowed = withParams(filters, { [state.by]: keys, limit: TABLE_LIMIT });
  const [valence, dwell] = await Promise.all([
    keys.length ? api("/api/valence-over-time", withParams(narrowed, { bucket, series: state.by })) : { rows: [] },
    keys.length ? api("/api/dwell-distribution", withParams(narrowed, { by: state.by })) : { rows: [] },
  ]);
  Object.assign(state.data, { overview, table, valence, dwell, bucket });
  renderOverview(overview);
  renderShares(table.rows);
  renderValence(valence.rows, keys, bucket);
  renderDwell(dwell, keys);
  renderFigures(table);
  await refreshComparison(table.rows.map((row) => row[state.by]));
  showMessage(overview.summary ? "" : "No visits match these filters.");
}

// One refresh at a time; a request for another while one runs makes it run once more afterwards.
async function refresh() {
  if (state.refreshing) {
    state.again = true;
    return state.refreshing;
  }
  state.refreshing = (async () => {
    do {
      state.again = false;
      try {
        await refreshAll();
        state.refreshes += 1;
        document.body.dataset.refreshes = String(state.refreshes);
      } catch (error) {
        handle(error);
      }
    } while (state.again);
    state.refreshing = null;
  })();
  return state.refreshing;
}

function handle(error) {
  if (error instanceof AuthNeeded) {
    $("login").hidden = false;
    $("content").hidden = true;
    setLive("token needed", "off");
    return;
  }
  showMessage(`Could not load data: ${error.message}`);
  setLive("connection problem", "off");
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function setLive(text, mode) {
  $("live").textContent = text;
  $("live").className = `live ${mode}`;
}

async function poll() {
  try {
    const status = await api("/api/status");
    const changed = !state.status || status.marker !== state.status.marker || status.events !== state.status.events;
    state.status = status;
    setLive(`live · ${integer.format(status.events)} visits stored · checked ${new Date().toLocaleTimeString()}`, "on");
    if (changed) await refresh();
  } catch (error) {
    handle(error);
  }
}

// ---- wiring -------------------------------------------------------------------------------------

function chooseGrouping(by) {
  state.by = by;
  for (const button of document.querySelectorAll(".toggle button")) {
    button.setAttribute("aria-pressed", String(button.dataset.by === by));
  }
  refresh();
}

async function downloadCsv() {
  try {
    const blob = await api(`/api/aggregates/${state.by}`, withParams(filterParams(), { format: "csv", limit: TABLE_LIMIT }));
    const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: `storemood-${state.by}.csv` });
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (error) {
    handle(error);
  }
}

async function loadMeta() {
  const meta = await api("/api/meta");
  EMOTIONS = meta.emotions;
  EMOTION_COLORS = meta.colors;
  MAX_SERIES = meta.max_series;
  TABLE_LIMIT = meta.max_page_size;
  HOURLY_UP_TO_DAYS = meta.hourly_up_to_days;
  state.meta = meta;
}

async function start() {
  for (const id of ["store", "camera", "since", "until"]) $(id).addEventListener("change", refresh);
  $("reset").addEventListener("click", () => {
    $("filters").reset();
    refresh();
  });
  for (const button of document.querySelectorAll(".toggle button")) {
    button.addEventListener("click", () => chooseGrouping(button.dataset.by));
  }
  for (const id of ["compare-a", "compare-b"]) $(id).addEventListener("change", () => refreshComparison(state.data.table.rows.map((row) => row[state.by])).catch(handle));
  $("download").addEventListener("click", downloadCsv);
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("storemood-token", state.token);
    $("login").hidden = true;
    $("content").hidden = false;
    state.status = null;
    poll();
  });
  try {
    await loadMeta();
  } catch (error) {
    handle(error);
    return;
  }
  poll();
  setInterval(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", start);
