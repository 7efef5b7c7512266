// storemood dashboard: reads the REST API of the server that served it and draws with Chart.js.
// Everything it shows comes from /api (the same figures as `storemood report`); it polls /api/status
// and redraws when new visits are stored, so a page left open follows `storemood run` live.
"use strict";

// The emotions in row order, their colours, which count as positive or negative, and the server's limits
// come from the server (/api/meta), so the dashboard draws each emotion in the colour the annotated video
// and the report charts use, and pages like the report does.
let EMOTIONS = [];
let EMOTION_COLORS = {};
let MAX_SERIES = 0;         // lines in the valence chart and histograms in the dwell chart
let TABLE_LIMIT = 0;        // the API's largest page
let HOURLY_UP_TO_DAYS = 0;  // periods this short get hourly valence points, longer ones daily
// Products and brands are drawn in Tableau 10, a categorical palette none of whose colours is an emotion's,
// so no product ever looks "angry" or "sad".
const SERIES_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#e15759", "#9c755f", "#ff9da7", "#bab0ac"];
// Sequential (visits) and diverging (valence: negative red, neutral grey, positive blue) colour scales.
const VISITS_SCALE = ["#f7fbff", "#6baed6", "#08306b"];
const VALENCE_SCALE = ["#b2182b", "#f4f4f4", "#2166ac"];
const VISITS_PAGE = 25;
const POLL_MS = 5000;
const DAY_MS = 86400000;

// The page's state; exposed for tests and for anyone curious in the browser console.
const state = {
  by: "product",
  heat: "visits",
  zoneMetric: "visits",
  visitsOffset: 0,
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

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const $ = (id) => document.getElementById(id);
const integer = new Intl.NumberFormat();
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

// ---- talking to the API -------------------------------------------------------------------------

async function api(path, params = new URLSearchParams()) {
  const query = params.toString();
  const response = await fetch(query ? `${path}?${query}` : path, {
    headers: state.token ? { Authorization: `Bearer ${state.token}` } : {},
  });
  if (response.status === 401) throw new AuthNeeded("token needed");
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new ApiError(body.message || body.detail || `${response.status} ${response.statusText}`, response.status);
  }
  const type = response.headers.get("content-type") || "";
  return type.startsWith("application/json") ? response.json() : response.blob();
}

// The viewer's own time zone: dates, hours and days on the dashboard are local, as a store manager reads them.
const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function localMidnight(daysFromToday) {
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  day.setDate(day.getDate() + daysFromToday);
  return day;
}

function dayStart(text) {
  const [year, month, day] = text.split("-").map(Number);
  return new Date(year, month - 1, day);
}

// The chosen period as [since, until) local midnights; null ends are left to the server (its longest range).
function period() {
  const preset = $("preset").value;
  if (preset === "today") return [localMidnight(0), localMidnight(1)];
  if (preset === "7" || preset === "30") return [localMidnight(1 - Number(preset)), localMidnight(1)];
  if (preset !== "custom") return [null, null];
  const until = $("until").value ? dayStart($("until").value) : null;
  if (until) until.setDate(until.getDate() + 1);
  return [$("since").value ? dayStart($("since").value) : null, until];
}

// The filters as query parameters; dates are whole local days, "To" included.
function filterParams({ withCamera = true } = {}) {
  const params = new URLSearchParams({ tz: TIME_ZONE });
  if ($("store").value) params.append("store", $("store").value);
  if (withCamera && $("camera").value) params.append("camera", $("camera").value);
  const [since, until] = period();
  if (since) params.set("since", since.toISOString());
  if (until) params.set("until", until.toISOString());
  return params;
}

function withParams(base, extra) {
  const params = new URLSearchParams(base);
  for (const [name, value] of Object.entries(extra)) {
    for (const item of [].concat(value)) params.append(name, item);
  }
  return params;
}

// ---- formatting ---------------------------------------------------------------------------------

function percent(value) {
  return `${Math.round(value * 100)}%`;
}

function signed(value) {
  if (value === null || value === undefined) return "–";
  return `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
}

function signedPercent(value) {
  return `${value >= 0 ? "+" : ""}${Math.round(value * 100)}%`;
}

// "+0.12 to +0.40": a 95% interval as the tables and tooltips show it.
function interval(bounds, format) {
  return bounds ? `${format(bounds[0])} to ${format(bounds[1])}` : "";
}

function seconds(value) {
  return `${value.toFixed(1)} s`;
}

function capitalized(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// Why a row's figures are greyed or missing: suppressed below k visits, or too few visits to rank.
function note(row, policy) {
  if (row.suppressed) return `suppressed: fewer than ${policy.min_group} visits`;
  if (row.shares === null) return "no face readable: no emotion figures";
  return row.enough_visits ? "" : `too few read visits to rank (under ${policy.min_visits})`;
}

// Visits, and how many of them had a readable face when some did not: "57 (48 read)".
function visitsText(row) {
  const unread = row.read_visits !== null && row.read_visits !== undefined && row.read_visits < row.visits;
  return unread ? `${integer.format(row.visits)} (${integer.format(row.read_visits)} read)` : integer.format(row.visits);
}

function productLabel(row) {
  return row.product_name && row.product_name !== row.product ? `${row.product_name} (${row.product})` : row.product;
}

function label(row) {
  return state.by === "product" ? productLabel(row) : row[state.by];
}

function seriesColor(index) {
  return SERIES_COLORS[index % SERIES_COLORS.length];
}

// ---- drawing ------------------------------------------------------------------------------------

// Whiskers for bar charts: a dataset with `whiskers: true` gets its `intervals` ([low, high] per bar, or null)
// drawn over its bars, vertical or horizontal as the bars are. (Stacked bars show theirs in the tooltip only.)
const intervalWhiskers = {
  id: "intervalWhiskers",
  afterDatasetsDraw(chart) {
    const horizontal = chart.options.indexAxis === "y";
    const scale = horizontal ? chart.scales.x : chart.scales.y;
    const { ctx } = chart;
    chart.data.datasets.forEach((dataset, index) => {
      if (!dataset.whiskers || !chart.isDatasetVisible(index)) return;
      ctx.save();
      ctx.strokeStyle = "#1f2933";
      ctx.lineWidth = 1.5;
      chart.getDatasetMeta(index).data.forEach((bar, position) => {
        const bounds = dataset.intervals[position];
        if (!bounds) return;
        const [low, high] = bounds.map((value) => scale.getPixelForValue(value));
        const centre = horizontal ? bar.y : bar.x;
        const cap = Math.min(6, (horizontal ? bar.height : bar.width) / 4);
        ctx.beginPath();
        for (const [from, to] of [[[low, centre], [high, centre]], [[low, centre - cap], [low, centre + cap]], [[high, centre - cap], [high, centre + cap]]]) {
          const [a, b] = horizontal ? [from, to] : [from.slice().reverse(), to.slice().reverse()];
          ctx.moveTo(...a);
          ctx.lineTo(...b);
        }
        ctx.stroke();
      });
      ctx.restore();
    });
  },
};

function draw(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  state.charts[id] = new Chart($(id), config);
}

function percentAxis(extra = {}) {
  return { min: 0, max: 1, ticks: { callback: (value) => `${Math.round(value * 100)}%` }, ...extra };
}

function valueOf(context) {
  return context.parsed[context.chart.options.indexAxis === "y" ? "x" : "y"];
}

// A tooltip line: the share and, when the dataset carries them, its 95% interval.
function shareTooltip(context) {
  const bounds = context.dataset.intervals && context.dataset.intervals[context.dataIndex];
  const name = context.dataset.label || context.label;
  return `${name}: ${(valueOf(context) * 100).toFixed(1)}%${bounds ? ` (95%: ${interval(bounds, percent)})` : ""}`;
}

function faded(color) {
  return `${color}55`;
}

// ---- colour scales ------------------------------------------------------------------------------

function mix(from, to, amount) {
  const channels = (hex) => [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16));
  const [a, b] = [channels(from), channels(to)];
  return `#${a.map((value, index) => Math.round(value + (b[index] - value) * amount).toString(16).padStart(2, "0")).join("")}`;
}

// `amount` in 0..1 along a three-stop scale.
function scaleColor(stops, amount) {
  const clamped = Math.max(0, Math.min(1, amount));
  return clamped <= 0.5 ? mix(stops[0], stops[1], clamped * 2) : mix(stops[1], stops[2], (clamped - 0.5) * 2);
}

// The fill of a cell or zone: by visits (relative to the busiest shown) or by valence (-1..1); null when the
// figure is not shown (no visits, or a valence suppressed below k).
function metricColor(metric, figures, busiest) {
  if (!figures || !figures.visits) return null;
  if (metric === "visits") return scaleColor(VISITS_SCALE, figures.visits / Math.max(1, busiest));
  return figures.valence === null || figures.valence === undefined ? null : scaleColor(VALENCE_SCALE, (figures.valence + 1) / 2);
}

function metricText(metric, figures, policy) {
  if (!figures || !figures.visits) return "no visits";
  const visits = counted(figures.visits, "visit", "visits");
  if (metric === "visits") return visits;
  if (figures.valence === null || figures.valence === undefined) return `${visits}: too few for a valence (under ${policy.min_group})`;
  return `${visits}, valence ${signed(figures.valence)}${figures.valence_ci95 ? ` (95%: ${interval(figures.valence_ci95, signed)})` : ""}`;
}

// The short figure written inside a zone (the full one is in its tooltip).
function zoneFigure(metric, figures) {
  if (!figures || !figures.visits) return "no visits";
  if (metric === "visits") return counted(figures.visits, "visit", "visits");
  return figures.valence === null ? "too few visits" : `valence ${signed(figures.valence)}`;
}

function drawLegend(element, metric, busiest, policy) {
  const stops = metric === "visits" ? VISITS_SCALE : VALENCE_SCALE;
  const ends = metric === "visits" ? ["0 visits", `${integer.format(busiest)} visits`] : ["−1 (negative)", "+1 (positive)"];
  const bar = document.createElement("span");
  bar.className = "ramp";
  bar.style.background = `linear-gradient(to right, ${stops.join(", ")})`;
  const few = document.createElement("span");
  few.className = "swatch few";
  element.replaceChildren(ends[0], bar, ends[1]);
  if (metric === "valence") element.append(few, `fewer than ${policy.min_group} visits: no valence shown`);
}

// ---- overview -----------------------------------------------------------------------------------

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
    tr.append(...columns.map(([get, className]) => cell(get(row), typeof className === "function" ? className(row) : className || "")));
    return tr;
  }));
}

function emptyRow(table, text, span) {
  const td = cell(text, "empty");
  td.colSpan = span;
  const tr = document.createElement("tr");
  tr.append(td);
  table.querySelector("tbody").replaceChildren(tr);
}

function fillHead(table, names) {
  const tr = document.createElement("tr");
  tr.append(...names.map(([name, className]) => Object.assign(document.createElement("th"), { textContent: name, className: className || "" })));
  table.querySelector("thead").replaceChildren(tr);
}

function valenceClass(row) {
  return `number ${row.valence > 0 ? "positive" : row.valence < 0 ? "negative" : ""}`;
}

function greyed(row) {
  return row.suppressed || !row.enough_visits ? "few" : "";
}

function rankingRows(table, rows, policy) {
  const columns = [[productLabel], [(row) => row.brand], [(row) => integer.format(row.visits), "number"],
    [(row) => signed(row.valence), valenceClass], [(row) => interval(row.valence_ci95, signed), "number"]];
  fillRows(table, rows, columns);
  if (!rows.length) emptyRow(table, `No product has the ${policy.min_visits} visits needed to rank it.`, columns.length);
}

function renderOverview(overview) {
  const summary = overview.summary;
  const shown = summary && !summary.suppressed;
  $("visits").textContent = summary ? visitsText(summary) : "0";
  $("dwell").textContent = shown ? seconds(summary.dwell_median_s) : "–";
  $("dwell-interval").textContent = shown ? `95%: ${interval(summary.dwell_median_ci95_s, (value) => value.toFixed(1))} s` : "";
  $("valence").textContent = shown ? signed(summary.valence) : "–";
  $("valence").className = `figure ${shown ? valenceClass(summary).replace("number", "") : ""}`;
  $("valence-interval").textContent = shown && summary.valence_ci95 ? `95%: ${interval(summary.valence_ci95, signed)}` : "";
  $("engagement").textContent = shown ? percent(summary.engagement) : "–";
  $("policy").textContent = `Ranked: products with at least ${overview.min_visits} visits, best by the low end of their `
    + `valence interval, worst by its high end. Groups of fewer than ${overview.min_group} visits show no figures. `
    + "Emotion figures count only visits in which the face was readable (turned to the camera, large enough). "
    + `Shares estimated by the ${overview.shares_method} method.`;
  const { first_visit: first, last_visit: last } = overview.period;
  $("period").textContent = first ? `${dateTime.format(new Date(first))} – ${dateTime.format(new Date(last))} (${TIME_ZONE})` : "";
  draw("chart-overall", {
    type: "bar",
    data: {
      labels: EMOTIONS,
      datasets: [{
        label: "share of read visits",
        data: EMOTIONS.map((name) => (shown && summary.shares ? summary.shares[name] : null)),
        intervals: EMOTIONS.map((name) => (shown && summary.shares_ci95 ? summary.shares_ci95[name] : null)),
        whiskers: true,
        backgroundColor: EMOTIONS.map((name) => EMOTION_COLORS[name]),
      }],
    },
    options: {
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: shareTooltip } } },
      scales: { y: percentAxis({ title: { display: true, text: "share of visits" } }) },
    },
  });
  rankingRows($("top"), overview.top, overview);
  rankingRows($("bottom"), overview.bottom, overview);
}

// ---- per product / brand ------------------------------------------------------------------------

// A category tick short enough for a phone (the tooltip keeps the whole name).
function shortLabel(value) {
  const text = this.getLabelForValue(value);
  const longest = this.chart.width < 500 ? 20 : 48;
  return text.length > longest ? `${text.slice(0, longest - 1)}…` : text;
}

function renderShares(rows) {
  // Taller with more rows, so that every label stays readable.
  $("shares-box").style.height = `${Math.max(224, rows.length * 30 + 90)}px`;
  const labels = rows.map((row) => (row.suppressed ? `${label(row)} (suppressed)` : label(row)));
  draw("chart-shares", {
    type: "bar",
    data: {
      labels,
      datasets: EMOTIONS.map((name) => ({
        label: name,
        data: rows.map((row) => (row.shares ? row.shares[name] : null)),
        intervals: rows.map((row) => (row.shares_ci95 ? row.shares_ci95[name] : null)),
        backgroundColor: rows.map((row) => (row.enough_visits ? EMOTION_COLORS[name] : faded(EMOTION_COLORS[name]))),
      })),
    },
    options: {
      indexAxis: "y",
      plugins: { tooltip: { callbacks: { label: shareTooltip } } },
      scales: {
        x: percentAxis({ stacked: true }),
        y: {
          stacked: true,
          ticks: {
            color: (context) => (rows[context.index] && rows[context.index].enough_visits ? "#1f2933" : "#9aa5b1"),
            callback: shortLabel,
          },
        },
      },
    },
  });
}

// A time bucket of the API as a moment: local hours and days (the API reads them in the browser's zone) are
// built from their fields, UTC hours ("...Z") parsed as they are.
function bucketTime(text) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return dayStart(text).getTime();
  if (text.endsWith("Z")) return Date.parse(text);
  const [day, time] = text.split("T");
  const moment = dayStart(day);
  moment.setHours(Number(time.slice(0, 2)));
  return moment.getTime();
}

// The name each series key is shown by in legends (the figures table's: "Oats (SKU-1)" for a product).
function seriesNames() {
  return new Map(state.data.table.rows.map((row) => [row[state.by], label(row)]));
}

function renderValence(points, keys, bucket) {
  $("bucket").textContent = `(per ${bucket}, ${TIME_ZONE})`;
  const step = bucket === "hour" ? 3600000 : DAY_MS;
  const names = seriesNames();
  const datasets = keys.flatMap((key, index) => {
    const mine = points.filter((point) => point[state.by] === key && point.valence !== null);
    const color = seriesColor(index);
    const at = (get) => mine.map((point) => ({ x: bucketTime(point.time), y: get(point) }));
    // Points further apart than one bucket are not joined: an hour or day without visits is a gap.
    const common = { spanGaps: step * 1.5, pointRadius: mine.length > 48 ? 0 : 3, borderColor: color, backgroundColor: color };
    return [
      { ...common, role: "low", label: `${key} low`, data: at((point) => point.valence_ci95[0]), borderWidth: 0, pointRadius: 0, fill: false },
      { ...common, role: "high", label: `${key} high`, data: at((point) => point.valence_ci95[1]), borderWidth: 0, pointRadius: 0, fill: "-1", backgroundColor: `${color}22` },
      { ...common, role: "value", key, label: names.get(key), data: at((point) => point.valence), fill: false, borderWidth: 2 },
    ];
  });
  draw("chart-valence", {
    type: "line",
    data: { datasets },
    options: {
      parsing: false,
      interaction: { mode: "nearest", intersect: false },
      plugins: {
        legend: { labels: { filter: (item, data) => data.datasets[item.datasetIndex].role === "value" } },
        tooltip: {
          filter: (item) => item.dataset.role === "value",
          callbacks: { label: (context) => `${context.dataset.label}: ${signed(context.parsed.y)}` },
        },
      },
      scales: {
        x: { type: "time", time: { tooltipFormat: bucket === "hour" ? "datetime" : "day" }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: { min: -1, max: 1, title: { display: true, text: "valence" } },
      },
    },
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
      datasets: rows.map((row) => ({
        key: row[state.by], label: seriesNames().get(row[state.by]), data: bins.map((bin) => row.bins[bin]),
        backgroundColor: seriesColor(keys.indexOf(row[state.by])),
      })),
    },
    options: {
      scales: {
        x: { title: { display: true, text: "time in the zone" } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "visits" } },
      },
    },
  });
}

function renderFigures(table) {
  const kind = capitalized(state.by);
  const head = [[kind], ...(state.by === "brand" ? [] : [["Brand"]]), ["Visits", "number"], ["Note"], ["Median dwell", "number"],
    ["Engaged", "number"], ["Valence", "number"], ["Valence 95%", "number"], ...EMOTIONS.map((name) => [name, "number"])];
  fillHead($("figures"), head);
  const shown = (get) => (row) => (row.suppressed ? "" : get(row));
  const read = (get) => (row) => (row.suppressed || row.shares === null ? "" : get(row));
  fillRows($("figures"), table.rows, [
    [label], ...(state.by === "brand" ? [] : [[(row) => row.brand]]), [visitsText, "number"],
    [(row) => note(row, table), "note"],
    [shown((row) => seconds(row.dwell_median_s)), "number"],
    [shown((row) => percent(row.engagement)), "number"],
    [read((row) => signed(row.valence)), valenceClass],
    [read((row) => interval(row.valence_ci95, signed)), "number"],
    ...EMOTIONS.map((name) => [read((row) => `${percent(row.shares[name])} (${interval(row.shares_ci95[name], percent)})`), "number"]),
  ], greyed);
}

// ---- when: weekday x hour -----------------------------------------------------------------------

// Monday first, as a shop's week; the API numbers days as strftime's %w (0 = Sunday).
const WEEK = [1, 2, 3, 4, 5, 6, 0];
const weekdayName = (day) => new Intl.DateTimeFormat(undefined, { weekday: "short" }).format(new Date(2023, 0, 1 + day));
const hourName = (hour) => new Intl.DateTimeFormat(undefined, { hour: "numeric" }).format(new Date(2023, 0, 1, hour));

function renderHeatmap(heatmap) {
  const cells = new Map(heatmap.cells.map((one) => [`${one.weekday} ${one.hour}`, one]));
  const busiest = Math.max(0, ...heatmap.cells.map((one) => one.visits));
  const grid = $("heatmap");
  const corner = document.createElement("span");
  // Every third hour is named; phones show every sixth (the `minor` ones are hidden there).
  const hours = [...Array(24).keys()].map((hour) => Object.assign(document.createElement("span"), {
    className: `hour${hour % 6 ? " minor" : ""}`, textContent: hour % 3 === 0 ? hourName(hour) : "",
  }));
  const rows = WEEK.flatMap((day) => [
    Object.assign(document.createElement("span"), { className: "day", textContent: weekdayName(day) }),
    ...[...Array(24).keys()].map((hour) => {
      const figures = cells.get(`${day} ${hour}`);
      const square = document.createElement("span");
      const color = metricColor(state.heat, figures, busiest);
      square.className = `cell${figures ? "" : " none"}${figures && !color ? " few" : ""}`;
      if (color) square.style.background = color;
      square.dataset.weekday = String(day);
      square.dataset.hour = String(hour);
      square.dataset.visits = String(figures ? figures.visits : 0);
      if (figures && figures.valence !== null) square.dataset.valence = String(figures.valence);
      square.title = `${weekdayName(day)} ${hourName(hour)}: ${metricText(state.heat, figures, heatmap)}`;
      square.setAttribute("role", "cell");
      return square;
    }),
  ]);
  grid.replaceChildren(corner, ...hours, ...rows);
  drawLegend($("heatmap-legend"), state.heat, busiest, heatmap);
}

// ---- per camera ---------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function ago(iso) {
  if (!iso) return "never";
  const secondsAgo = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  const units = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  const [size, unit] = units.find(([size]) => secondsAgo >= size) || [1, "second"];
  return new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(-Math.round(secondsAgo / size), unit);
}

function counted(count, one, many) {
  return `${integer.format(count || 0)} ${count === 1 ? one : many}`;
}

function heartbeat(camera) {
  const figures = [
    `last frame ${ago(camera.last_frame)}`,
    camera.fps === null || camera.fps === undefined ? null : `${camera.fps.toFixed(1)} frames/s`,
    counted(camera.dropped_frames, "dropped frame", "dropped frames"),
    counted(camera.reconnects, "reconnect", "reconnects"),
    counted(camera.faces_seen, "face seen", "faces seen"),
  ];
  return figures.filter(Boolean).join(" · ");
}

// The still is fetched with the token (an <img> could not send it) and painted on a canvas under the zones.
async function paintStill(canvas, camera) {
  if (!camera.still_url) return;
  try {
    const bitmap = await createImageBitmap(await api(camera.still_url));
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    canvas.classList.add("painted");
  } catch (error) {
    if (error instanceof AuthNeeded) throw error;
    canvas.title = `no still: ${error.message}`;
  }
}

function cameraView(camera, zoneFigures, busiest, policy) {
  const width = camera.width || camera.frame_width || 1280;
  const height = camera.height || camera.frame_height || 720;
  const figure = document.createElement("figure");
  figure.className = "panel camera";
  figure.dataset.camera = `${camera.store}/${camera.camera}`;
  const caption = document.createElement("figcaption");
  const badge = Object.assign(document.createElement("span"), { className: `badge ${camera.status}`, textContent: camera.status });
  caption.append(`${camera.store} · ${camera.camera} `, badge);
  const view = document.createElement("div");
  view.className = "still";
  view.style.aspectRatio = `${width} / ${height}`;
  const canvas = document.createElement("canvas");
  const overlay = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "zones of this camera" });
  const fontSize = Math.max(12, width / 45);
  for (const zone of camera.zones) {
    const figures = zoneFigures.get(`${camera.store} ${zone.zone}`);
    const color = metricColor(state.zoneMetric, figures, busiest);
    const points = zone.polygon.map(([x, y]) => `${x * width},${y * height}`).join(" ");
    const shape = svg("polygon", {
      points, fill: color || "#9aa5b1", "fill-opacity": color ? 0.55 : 0.25, stroke: "#ffffff", "stroke-width": 2,
      "vector-effect": "non-scaling-stroke", class: "zone",
    });
    shape.dataset.zone = zone.zone;
    shape.dataset.visits = String(figures ? figures.visits : 0);
    const title = svg("title", {});
    const name = zone.product_name || zone.product || zone.zone;
    title.textContent = `${name} (${zone.zone}): ${metricText(state.zoneMetric, figures, policy)}`;
    shape.append(title);
    const [cx, cy] = zone.polygon.reduce(([sx, sy], [x, y]) => [sx + x / zone.polygon.length, sy + y / zone.polygon.length], [0, 0]);
    const text = svg("text", { x: cx * width, y: cy * height, "font-size": fontSize, "text-anchor": "middle", class: "zone-label" });
    text.textContent = name;
    const value = svg("text", { x: cx * width, y: cy * height + fontSize * 1.2, "font-size": fontSize * 0.9, "text-anchor": "middle", class: "zone-label" });
    value.textContent = zoneFigure(state.zoneMetric, figures);
    overlay.append(shape, text, value);
  }
  view.append(canvas, overlay);
  if (!camera.still_url) view.append(Object.assign(document.createElement("span"), { className: "no-still", textContent: "no still yet" }));
  const beat = Object.assign(document.createElement("p"), { className: "heartbeat", textContent: heartbeat(camera) });
  figure.append(caption, view, beat);
  return { figure, paint: () => paintStill(canvas, camera) };
}

async function refreshCameras(filters) {
  // Every camera that has reported (its health is not bound to the period; the store and camera filters apply).
  const [body, zones] = await Promise.all([
    api("/api/cameras", withParams(filters, { limit: 1 })),
    api("/api/aggregates/zone", withParams(filters, { limit: TABLE_LIMIT })),
  ]);
  const cameras = body.cameras;
  state.data.cameras = body;
  state.data.zones = zones;
  const empty = $("cameras-empty");
  empty.hidden = cameras.length > 0;
  empty.replaceChildren(...($("store").value || $("camera").value
    ? ["No camera of this store or id has reported yet."]
    : ["No camera has reported yet: run ", code("storemood run"), " and each camera's view appears here with its zones."]));
  const zoneFigures = new Map(zones.rows.map((row) => [`${row.store} ${row.zone}`, row]));
  // Visits are coloured relative to the busiest zone drawn here.
  const drawn = cameras.flatMap((camera) => camera.zones.map((zone) => zoneFigures.get(`${camera.store} ${zone.zone}`)));
  const busiest = Math.max(0, ...drawn.filter(Boolean).map((row) => row.visits));
  const views = cameras.map((camera) => cameraView(camera, zoneFigures, busiest, zones));
  $("camera-views").replaceChildren(...views.map((view) => view.figure));
  $("camera-legend").hidden = !cameras.length;
  drawLegend($("camera-legend"), state.zoneMetric, busiest, zones);
  await Promise.all(views.map((view) => view.paint()));
  $("camera-views").dataset.drawn = state.zoneMetric;  // what the views show, once their stills are painted
}

// ---- comparison ---------------------------------------------------------------------------------

function fillSelect(select, rows, preferred) {
  const values = rows.map((row) => row[state.by]);
  const keep = values.includes(select.value) ? select.value : preferred;
  select.replaceChildren(...rows.map((row) => new Option(label(row), row[state.by])));
  if (keep !== undefined) select.value = keep;
}

function clearComparison(sentence) {
  state.data.comparison = null;
  draw("chart-compare", { type: "bar", data: { labels: EMOTIONS, datasets: [] } });
  $("compare-table").querySelector("thead").replaceChildren();
  $("compare-table").querySelector("tbody").replaceChildren();
  $("compare-sentence").textContent = sentence;
  $("compare-caption").textContent = "";
}

async function refreshComparison(rows) {
  document.querySelector(".compare-kind").textContent = `${state.by}s`;
  const shown = rows.filter((row) => !row.suppressed);
  const ranked = shown.filter((row) => row.enough_visits);
  const defaults = (ranked.length >= 2 ? ranked : shown).map((row) => row[state.by]);
  fillSelect($("compare-a"), shown, defaults[0]);
  fillSelect($("compare-b"), shown, defaults[1]);
  const [a, b] = [$("compare-a").value, $("compare-b").value];
  if (!a || !b || a === b) {
    clearComparison(shown.length < 2 ? `Comparing needs two ${state.by}s with at least the minimum group size of visits.` : "Choose two different ones.");
    return;
  }
  const comparison = await api("/api/compare", withParams(filterParams(), { by: state.by, a, b }));
  state.data.comparison = comparison;
  $("compare-sentence").textContent = comparison.sentence;
  $("compare-caption").textContent = `(${a} minus ${b})`;
  const differences = comparison.share_differences;
  draw("chart-compare", {
    type: "bar",
    data: {
      labels: EMOTIONS,
      datasets: [{
        label: `${a} minus ${b}`,
        data: EMOTIONS.map((name) => (differences ? differences[name] : null)),
        intervals: EMOTIONS.map((name) => (differences ? comparison.share_differences_ci95[name] : null)),
        whiskers: true,
        backgroundColor: EMOTIONS.map((name) => EMOTION_COLORS[name]),
      }],
    },
    options: {
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (context) => {
          const bounds = context.dataset.intervals[context.dataIndex];
          return `${context.label}: ${signedPercent(context.parsed.y)}${bounds ? ` (95%: ${interval(bounds, signedPercent)})` : ""}`;
        } } },
      },
      scales: { y: { suggestedMin: -0.2, suggestedMax: 0.2, ticks: { callback: signedPercent }, title: { display: true, text: "difference in share of visits" } } },
    },
  });
  fillHead($("compare-table"), ["", a, b, "difference", "95% interval", "p"].map((name, index) => [name, index ? "number" : ""]));
  fillRows($("compare-table"), compareRows(comparison), [0, 1, 2, 3, 4, 5].map((index) => [(row) => row[index], index ? "number" : ""]));
}

// The comparison table: visits, median dwell, valence and each emotion's share, side by side, with the
// difference (first minus second), its 95% interval and the p-value of the test that covers it.
function compareRows(comparison) {
  const { a, b, tests } = comparison;
  const p = (test) => (test.p_value === null ? "" : test.p_value < 0.001 ? "< 0.001" : test.p_value.toFixed(3));
  const rows = [["visits", integer.format(a.visits), integer.format(b.visits), "", "", ""]];
  if (comparison.share_differences === null) return rows;
  const secondsDifference = (value) => `${value >= 0 ? "+" : ""}${value.toFixed(1)} s`;
  rows.push(["median dwell", seconds(a.dwell_median_s), seconds(b.dwell_median_s),
    secondsDifference(comparison.dwell_median_difference_s), interval(tests.dwell.difference_ci95, secondsDifference), p(tests.dwell)]);
  rows.push(["valence", signed(a.valence), signed(b.valence), signed(comparison.valence_difference),
    interval(tests.valence.difference_ci95, signed), p(tests.valence)]);
  rows.push([`emotion mix (${tests.emotions.method})`, "", "", "", "", p(tests.emotions)]);
  for (const name of EMOTIONS) {
    rows.push([`${name} share`, percent(a.shares[name]), percent(b.shares[name]), signedPercent(comparison.share_differences[name]),
      interval(comparison.share_differences_ci95[name], signedPercent), ""]);
  }
  return rows;
}

// ---- visits -------------------------------------------------------------------------------------

const VISIT_COLUMNS = [
  ["Time", (visit) => dateTime.format(new Date(visit.start))],
  ["Store", (visit) => visit.store],
  ["Camera", (visit) => visit.camera],
  ["Zone", (visit) => visit.zone],
  ["Product", productLabel],
  ["Dwell", (visit) => seconds(visit.dwell_s), "number"],
  ["Top emotion", (visit) => visit.dominant_emotion ?? "face not readable", "emotion"],
];

async function refreshVisits(filters) {
  let page;
  try {
    page = await api("/api/visits", withParams(filters, { offset: state.visitsOffset, limit: VISITS_PAGE }));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 403)) throw error;
    state.data.visits = null;
    $("visits-on").hidden = true;
    $("visits-off").hidden = false;
    $("visits-off").replaceChildren("The list of single visits is off on this server, since one visit is a group of one, "
      + "below the minimum group size every other figure respects. To turn it on, start the server with ", code("storemood serve --raw-visits"), ".");
    return;
  }
  if (page.total && state.visitsOffset >= page.total) {
    state.visitsOffset = Math.floor((page.total - 1) / VISITS_PAGE) * VISITS_PAGE;
    return refreshVisits(filters);
  }
  state.data.visits = page;
  $("visits-on").hidden = false;
  $("visits-off").hidden = true;
  // "Readable frames" (frames whose face could be read) where the server records them, else every frame.
  const frames = page.rows.length && "readable_frames" in page.rows[0] ? ["Readable frames", "readable_frames"] : ["Frames", "frames"];
  const count = (value) => (value === null || value === undefined ? "–" : integer.format(value));  // null: not recorded
  const columns = [...VISIT_COLUMNS, [frames[0], (visit) => count(visit[frames[1]]), "number"]];
  fillHead($("visits-table"), columns.map(([name, , className]) => [name, className === "number" ? "number" : ""]));
  fillRows($("visits-table"), page.rows, columns.map(([, get, className]) => [get, className]));
  for (const [index, visit] of page.rows.entries()) {
    const emotion = $("visits-table").querySelectorAll("tbody tr")[index].querySelector(".emotion");
    emotion.style.setProperty("--dot", EMOTION_COLORS[visit.dominant_emotion] || "#9aa5b1");
  }
  if (!page.rows.length) emptyRow($("visits-table"), "No visits match these filters.", columns.length);
  const last = Math.min(page.total, state.visitsOffset + page.rows.length);
  $("visits-range").textContent = page.total ? `${integer.format(state.visitsOffset + 1)}–${integer.format(last)} of ${integer.format(page.total)}, oldest first` : "";
  $("visits-prev").disabled = state.visitsOffset === 0;
  $("visits-next").disabled = last >= page.total;
}

function pageVisits(step) {
  state.visitsOffset = Math.max(0, state.visitsOffset + step * VISITS_PAGE);
  refreshVisits(filterParams()).catch(handle);
}

// Every matching visit as one CSV file, fetched a page (the API's largest) at a time.
async function downloadVisits() {
  const filters = filterParams();
  const parts = [];
  for (let offset = 0; offset === 0 || offset < state.data.visits.total; offset += TABLE_LIMIT) {
    const text = await (await api("/api/visits", withParams(filters, { offset, limit: TABLE_LIMIT, format: "csv" }))).text();
    parts.push(offset === 0 ? text : text.slice(text.indexOf("\n") + 1));
  }
  save(new Blob(parts, { type: "text/csv" }), "storemood-visits.csv");
}

function save(blob, name) {
  const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: name });
  link.click();
  URL.revokeObjectURL(link.href);
}

// ---- refreshing ---------------------------------------------------------------------------------

function code(text) {
  return Object.assign(document.createElement("code"), { textContent: text });
}

function bucketFor(overviewPeriod) {
  if (!overviewPeriod.first_visit) return "day";
  const days = (Date.parse(overviewPeriod.last_visit) - Date.parse(overviewPeriod.first_visit)) / DAY_MS;
  return days <= HOURLY_UP_TO_DAYS ? "hour" : "day";
}

async function refreshFilterChoices() {
  const timeOnly = filterParams({ withCamera: false });
  timeOnly.delete("store");
  const [stores, cameras] = await Promise.all([
    api("/api/stores", withParams(timeOnly, { limit: TABLE_LIMIT })),
    api("/api/aggregates/camera", withParams(filterParams({ withCamera: false }), { limit: TABLE_LIMIT })),
  ]);
  keepChoices($("store"), "All stores", stores.rows.map((row) => [row.id, row.name && row.name !== row.id ? `${row.name} (${row.id})` : row.id]));
  const cameraIds = [...new Set(cameras.rows.map((row) => row.camera))].sort();
  keepChoices($("camera"), "All cameras", cameraIds.map((id) => [id, id]));
}

function keepChoices(select, allLabel, choices) {
  const chosen = select.value;
  select.replaceChildren(new Option(allLabel, ""), ...choices.map(([value, text]) => new Option(text, value)));
  select.value = choices.some(([value]) => value === chosen) ? chosen : "";
}

// What the page says when there is nothing to show: no visits stored at all (what to run), or none in
// the chosen filters (what to change).
function emptyMessage(overview) {
  if (overview.summary) return [];
  if (state.status && state.status.events === 0) {
    return ["No visits are stored yet. Run ", code("storemood demo"), " to fill this database with a demo shop's visits, or ",
      code("storemood run"), " to watch your cameras; this page updates by itself as visits arrive."];
  }
  return ["No visits match these filters. Choose a longer period, or all stores and cameras (Reset)."];
}

async function refreshAll() {
  await refreshFilterChoices();
  const filters = filterParams();
  const [overview, table, heatmap] = await Promise.all([
    api("/api/overview", filters),
    api(`/api/aggregates/${state.by}`, withParams(filters, { limit: TABLE_LIMIT, sort: "-visits" })),
    api("/api/heatmap", filters),
  ]);
  const keys = table.rows.filter((row) => !row.suppressed).slice(0, MAX_SERIES).map((row) => row[state.by]);
  const bucket = bucketFor(overview.period);
  const narrowed = withParams(filters, { [state.by]: keys, limit: TABLE_LIMIT });
  const [valence, dwell] = await Promise.all([
    keys.length ? api("/api/valence-over-time", withParams(narrowed, { bucket, series: state.by })) : { rows: [] },
    keys.length ? api("/api/dwell-distribution", withParams(narrowed, { by: state.by })) : { rows: [] },
  ]);
  Object.assign(state.data, { overview, table, valence, dwell, bucket, heatmap, keys });
  for (const element of document.querySelectorAll(".kind")) element.textContent = state.by;
  renderOverview(overview);
  renderShares(table.rows);
  renderValence(valence.rows, keys, bucket);
  renderDwell(dwell, keys);
  renderFigures(table);
  renderHeatmap(heatmap);
  await Promise.all([refreshCameras(filters), refreshComparison(table.rows), refreshVisits(filters)]);
  showMessage(emptyMessage(overview));
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
  showMessage([`Could not load data: ${error.message}`]);
  setLive("connection problem", "off");
}

function showMessage(parts) {
  $("message").replaceChildren(...parts);
  $("message").hidden = !parts.length;
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

// A toggle group: pressing one of its buttons sets `state[key]` to its data value and redraws with `then`.
function wireToggle(selector, key, then) {
  const buttons = document.querySelectorAll(`${selector} .toggle button`);
  for (const button of buttons) {
    button.addEventListener("click", () => {
      state[key] = Object.values(button.dataset)[0];
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      then();
    });
  }
}

async function downloadTable() {
  const blob = await api(`/api/aggregates/${state.by}`, withParams(filterParams(), { format: "csv", limit: TABLE_LIMIT }));
  save(blob, `storemood-${state.by}.csv`);
}

async function loadMeta() {
  const meta = await api("/api/meta");
  EMOTIONS = meta.emotions;
  EMOTION_COLORS = meta.colors;
  MAX_SERIES = meta.max_series;
  TABLE_LIMIT = meta.max_page_size;
  HOURLY_UP_TO_DAYS = meta.hourly_up_to_days;
  state.meta = meta;
  state.seriesColors = SERIES_COLORS;
  $("valence-explain").textContent = `share of visits whose top emotion is positive (${meta.positive.join(", ")}) minus `
    + `the share negative (${meta.negative.join(", ")}): from −1 to +1, 0 when they balance`;
  $("engagement-explain").textContent = `visits of ${meta.engagement_dwell_s} s or more: the shopper stopped to look`;
  for (const element of document.querySelectorAll(".timezone")) element.textContent = TIME_ZONE;
}

function filtersChanged() {
  state.visitsOffset = 0;
  refresh();
}

async function start() {
  Chart.register(intervalWhiskers);
  for (const id of ["store", "camera", "since", "until"]) $(id).addEventListener("change", filtersChanged);
  $("preset").addEventListener("change", () => {
    for (const label of document.querySelectorAll(".filters .custom")) label.hidden = $("preset").value !== "custom";
    filtersChanged();
  });
  $("reset").addEventListener("click", () => {
    $("filters").reset();
    for (const label of document.querySelectorAll(".filters .custom")) label.hidden = true;
    filtersChanged();
  });
  wireToggle("#details", "by", filtersChanged);
  wireToggle("#when", "heat", () => renderHeatmap(state.data.heatmap));
  wireToggle("#cameras", "zoneMetric", () => refreshCameras(filterParams()).catch(handle));
  for (const id of ["compare-a", "compare-b"]) $(id).addEventListener("change", () => refreshComparison(state.data.table.rows).catch(handle));
  $("download").addEventListener("click", () => downloadTable().catch(handle));
  $("visits-prev").addEventListener("click", () => pageVisits(-1));
  $("visits-next").addEventListener("click", () => pageVisits(1));
  $("visits-download").addEventListener("click", () => downloadVisits().catch(handle));
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
