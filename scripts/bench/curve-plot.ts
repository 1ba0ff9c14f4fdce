// Renders an open-model load-test scaling curve as a standalone SVG string.
// Dependency-free on purpose: the output is committed next to the README and
// must render on GitHub, which strips scripts and stylesheets, so everything
// is plain SVG elements with inline presentation attributes.

/** One load step of an open-model (constant arrival rate) run. Latencies in ms. */
export interface CurvePoint {
  offeredRps: number;
  achievedRps: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  errors: number;
  /** CPU used during the step by each process, in cores (CPU-seconds per second), by label, e.g. {gateway: 0.8, feed: 0.4, loadgen: 0.1}. */
  cpuCores: Record<string, number>;
}

export interface CurveSeries {
  /** e.g. "gateway GET /v1/feed (1 gateway, 1 feed)" */
  name: string;
  points: CurvePoint[];
  /** The highest offered rate whose p95 stayed within the SLO with no errors; null if none did. */
  knee: number | null;
}

export interface Curve {
  sloP95Ms: number;
  /** free text, e.g. "2 cores, Linux 6.x, Node v24.x" */
  machine: string;
  /** ISO date */
  date: string;
  series: CurveSeries[];
}

const COLUMN_WIDTH = 560;
const HEIGHT = 560;
const PLOT_LEFT = 56;
const PLOT_RIGHT = 20;
const LATENCY_TOP = 72;
const LATENCY_HEIGHT = 250;
const CPU_TOP = 356;
const CPU_HEIGHT = 140;
/** A log axis cannot show 0; sub-0.1 ms is below what the load generator resolves anyway. */
const MIN_LATENCY_MS = 0.1;
const ERROR_RED = "#d62728";
const TEXT = "#222222";
const GRID = "#e6e6e6";
const AXIS = "#666666";
const PERCENTILES = [
  { key: "p50", colour: "#1f77b4" },
  { key: "p95", colour: "#ff7f0e" },
  { key: "p99", colour: "#9467bd" },
] as const;
// No red here: red is reserved for error markers.
const CPU_PALETTE = ["#2ca02c", "#1f77b4", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#ff7f0e"];

type Percentile = (typeof PERCENTILES)[number]["key"];
type Attrs = Record<string, string | number>;

interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Scales shared by every column so side-by-side series compare at a glance. */
interface Axes {
  xMax: number;
  xTicks: number[];
  latMin: number;
  latMax: number;
  latTicks: number[];
  cpuMax: number;
  cpuTicks: number[];
  /** Every CPU label in first-seen order, so a label keeps its colour across columns. */
  cpuLabels: string[];
}

interface LegendItem {
  label: string;
  colour: string;
}

// XML 1.0 forbids most C0 control characters even when escaped, so drop them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const INVALID_XML_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML_CHARS, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Coordinates to 0.1 px; a non-finite one would be a bug, but must never leak "NaN" into the file. */
function coord(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 10) / 10) : "0";
}

/** Human-readable value for labels and tooltips. */
function formatValue(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** Tick labels must fit in the left margin, so thousands become "k" and millions "M". */
function formatTick(value: number): string {
  if (Math.abs(value) >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (Math.abs(value) >= 1000) return `${Number((value / 1000).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

function el(tag: string, attrs: Attrs, content?: string): string {
  const rendered = Object.entries(attrs)
    .map(([name, value]) => ` ${name}="${typeof value === "number" ? coord(value) : escapeXml(value)}"`)
    .join("");
  return content === undefined ? `<${tag}${rendered}/>` : `<${tag}${rendered}>${content}</${tag}>`;
}

function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el("text", { x, y, "font-size": 11, fill: TEXT, ...attrs }, escapeXml(content));
}

/** Smallest 1, 2 or 5 × 10^n that is at least `raw`. */
function niceStep(raw: number): number {
  if (!Number.isFinite(raw) || raw <= 0) return 1;
  const base = 10 ** Math.floor(Math.log10(raw));
  for (const multiple of [1, 2, 5]) {
    // Tolerance so 0.3 / 3 style rounding does not skip to the next step.
    if (multiple * base >= raw * (1 - 1e-9)) return multiple * base;
  }
  return 10 * base;
}

/** About five ticks from 0 up to `max` rounded up to a whole tick step. */
function linearTicks(max: number): { max: number; ticks: number[] } {
  const step = niceStep(max / 5);
  const count = Math.max(1, Math.ceil(max / step - 1e-9));
  const ticks = Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
  return { max: count * step, ticks };
}

/** 1/2/5 per decade, thinned to decades only when the range is wide enough to crowd. */
function logTicks(min: number, max: number): number[] {
  const first = Math.round(Math.log10(min));
  const last = Math.round(Math.log10(max));
  const multiples = last - first > 3 ? [1] : [1, 2, 5];
  const ticks: number[] = [];
  for (let exp = first; exp <= last; exp++) {
    for (const multiple of multiples) {
      const tick = Number((multiple * 10 ** exp).toPrecision(12));
      if (tick <= max * (1 + 1e-9)) ticks.push(tick);
    }
  }
  return ticks;
}

function finitePoints(series: CurveSeries): CurvePoint[] {
  return series.points.filter((point) => Number.isFinite(point.offeredRps));
}

function clampLatency(value: number): number {
  return Math.max(MIN_LATENCY_MS, value);
}

function latencyRange(curve: Curve): { min: number; max: number } {
  const values = curve.series
    .flatMap((series) => finitePoints(series).flatMap((point) => PERCENTILES.map((p) => point[p.key])))
    .concat(curve.sloP95Ms)
    .filter(Number.isFinite)
    .map(clampLatency);
  if (values.length === 0) return { min: 1, max: 100 };
  const min = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const max = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  // A single decade boundary would make a zero-height axis.
  return { min, max: max > min ? max : min * 10 };
}

function computeAxes(curve: Curve): Axes {
  const points = curve.series.flatMap(finitePoints);
  const offered = points.map((point) => Math.max(0, point.offeredRps));
  const x = linearTicks(Math.max(1, ...offered));
  const { min, max } = latencyRange(curve);
  const cpuLabels = [...new Set(points.flatMap((point) => Object.keys(point.cpuCores)))];
  const cpuValues = points.flatMap((point) => Object.values(point.cpuCores)).filter(Number.isFinite);
  const cpuPeak = Math.max(0, ...cpuValues);
  const cpu = linearTicks(cpuPeak > 0 ? cpuPeak : 1);
  return {
    xMax: x.max,
    xTicks: x.ticks,
    latMin: min,
    latMax: max,
    latTicks: logTicks(min, max),
    cpuMax: cpu.max,
    cpuTicks: cpu.ticks,
    cpuLabels,
  };
}

function xOf(frame: Frame, axes: Axes, rps: number): number {
  return frame.left + (frame.width * Math.min(Math.max(rps, 0), axes.xMax)) / axes.xMax;
}

function latencyY(frame: Frame, axes: Axes, ms: number): number {
  const span = Math.log10(axes.latMax) - Math.log10(axes.latMin);
  const fraction = (Math.log10(clampLatency(ms)) - Math.log10(axes.latMin)) / span;
  return frame.top + frame.height * (1 - Math.min(Math.max(fraction, 0), 1));
}

function cpuY(frame: Frame, axes: Axes, cores: number): number {
  const fraction = Math.min(Math.max(cores, 0), axes.cpuMax) / axes.cpuMax;
  return frame.top + frame.height * (1 - fraction);
}

/** Vertical gridlines at the x ticks; labels only under the bottom panel since the axis is shared. */
function xGrid(frame: Frame, axes: Axes, withLabels: boolean): string {
  const bottom = frame.top + frame.height;
  return axes.xTicks
    .map((tick) => {
      const x = xOf(frame, axes, tick);
      const line = el("line", { x1: x, y1: frame.top, x2: x, y2: bottom, stroke: GRID });
      const label = withLabels ? text(x, bottom + 16, formatTick(tick), { "text-anchor": "middle" }) : "";
      return line + label;
    })
    .join("");
}

/** Horizontal gridlines with tick labels in the left margin. */
function yGrid(frame: Frame, ticks: number[], yOf: (value: number) => number): string {
  const right = frame.left + frame.width;
  return ticks
    .map((tick) => {
      const y = yOf(tick);
      const line = el("line", { x1: frame.left, y1: y, x2: right, y2: y, stroke: GRID });
      return line + text(frame.left - 6, y + 4, formatTick(tick), { "text-anchor": "end" });
    })
    .join("");
}

function frameBox(frame: Frame, yTitle: string): string {
  const { left: x0, top: y0, width, height } = frame;
  const box = el("rect", { x: x0, y: y0, width, height, fill: "none", stroke: AXIS });
  const x = frame.left - 40;
  const y = frame.top + frame.height / 2;
  const title = text(x, y, yTitle, {
    "text-anchor": "middle",
    transform: `rotate(-90 ${coord(x)} ${coord(y)})`,
  });
  return box + title;
}

function legend(x: number, y: number, items: LegendItem[]): string {
  let cursor = x;
  return items
    .map((item) => {
      const swatch = el("line", {
        x1: cursor,
        y1: y - 4,
        x2: cursor + 16,
        y2: y - 4,
        stroke: item.colour,
        "stroke-width": 2,
      });
      // A marker on the swatch, since the plot shows steps as markers as well as lines.
      const marker = el("circle", { cx: cursor + 8, cy: y - 4, r: 2.5, fill: item.colour });
      const label = text(cursor + 20, y, item.label);
      // Rough sans-serif advance at 11 px; exact metrics are not available without a renderer.
      cursor += 34 + item.label.length * 6.5;
      return swatch + marker + label;
    })
    .join("");
}

function sloLine(frame: Frame, axes: Axes, sloMs: number): string {
  if (!Number.isFinite(sloMs)) return "";
  const y = latencyY(frame, axes, sloMs);
  const right = frame.left + frame.width;
  const line = el("line", {
    x1: frame.left,
    y1: y,
    x2: right,
    y2: y,
    stroke: ERROR_RED,
    "stroke-width": 1.2,
    "stroke-dasharray": "6 4",
  });
  // Keep the label inside the panel when the SLO sits at the very top of the axis.
  const labelY = y - frame.top < 16 ? y + 13 : y - 5;
  const label = text(right - 4, labelY, `p95 SLO ${formatValue(sloMs)} ms`, {
    "text-anchor": "end",
    fill: ERROR_RED,
  });
  return line + label;
}

function kneeMarker(frames: Frame[], axes: Axes, knee: number | null): string {
  const [latency] = frames;
  if (latency === undefined) return "";
  if (knee === null || !Number.isFinite(knee)) {
    return text(latency.left + 6, latency.top + 15, "no step within SLO", { fill: ERROR_RED });
  }
  const x = xOf(latency, axes, knee);
  const lines = frames
    .map((frame) =>
      el("line", {
        x1: x,
        y1: frame.top,
        x2: x,
        y2: frame.top + frame.height,
        stroke: TEXT,
        "stroke-dasharray": "2 3",
      }),
    )
    .join("");
  // Flip the label to the left of the line near the right edge so it is not cut off.
  const nearRight = x > latency.left + latency.width - 110;
  const label = text(nearRight ? x - 4 : x + 4, latency.top + 15, `knee ${formatValue(knee)} req/s`, {
    "text-anchor": nearRight ? "end" : "start",
    "font-weight": "bold",
  });
  return lines + label;
}

/** A series' line through its points (one class per kind, for the tests). */
function polyline(cls: string, coords: string[], colour: string): string {
  return el("polyline", {
    class: cls,
    points: coords.join(" "),
    fill: "none",
    stroke: colour,
    "stroke-width": 1.8,
    "stroke-linejoin": "round",
  });
}
function percentileLine(
  frame: Frame,
  axes: Axes,
  points: CurvePoint[],
  key: Percentile,
  colour: string,
): string {
  const shown = points.filter((point) => Number.isFinite(point[key]));
  const coords = shown.map(
    (point) => `${coord(xOf(frame, axes, point.offeredRps))},${coord(latencyY(frame, axes, point[key]))}`,
  );
  const line = polyline(`latency ${key}`, coords, colour);
  const markers = shown.map((point) => {
    const tip = `${key} ${formatValue(point[key])} ms at ${formatValue(point.offeredRps)} req/s offered, ${formatValue(point.achievedRps)} achieved`;
    const circle = { cx: xOf(frame, axes, point.offeredRps), cy: latencyY(frame, axes, point[key]), r: 2.5 };
    return el("circle", { ...circle, fill: colour }, el("title", {}, escapeXml(tip)));
  });
  return line + markers.join("");
}

/** One red marker per errored step, on its worst finite latency (or the panel top if none was measured). */
function errorMarkers(frame: Frame, axes: Axes, points: CurvePoint[]): string {
  return points
    .filter((point) => Number.isFinite(point.errors) && point.errors > 0)
    .map((point) => {
      const latencies = PERCENTILES.map((p) => point[p.key]).filter(Number.isFinite);
      const cy = latencies.length > 0 ? latencyY(frame, axes, Math.max(...latencies)) : frame.top;
      const tip = `${formatValue(point.errors)} errors of ${formatValue(point.requests)} requests at ${formatValue(point.offeredRps)} req/s offered`;
      const circle = { class: "error", cx: xOf(frame, axes, point.offeredRps), cy, r: 4.5 };
      return el("circle", { ...circle, fill: ERROR_RED, stroke: "#ffffff" }, el("title", {}, escapeXml(tip)));
    })
    .join("");
}

function latencyPanel(frames: Frame[], axes: Axes, series: CurveSeries, sloMs: number): string {
  const [frame] = frames;
  if (frame === undefined) return "";
  const points = finitePoints(series);
  const hasErrors = points.some((point) => point.errors > 0);
  const items: LegendItem[] = PERCENTILES.map((p) => ({ label: p.key, colour: p.colour }));
  if (hasErrors) items.push({ label: "step with errors", colour: ERROR_RED });
  return [
    xGrid(frame, axes, false),
    yGrid(frame, axes.latTicks, (ms) => latencyY(frame, axes, ms)),
    frameBox(frame, "latency, ms (log)"),
    legend(frame.left, frame.top - 10, items),
    sloLine(frame, axes, sloMs),
    kneeMarker(frames, axes, series.knee),
    ...PERCENTILES.map((p) => percentileLine(frame, axes, points, p.key, p.colour)),
    errorMarkers(frame, axes, points),
  ].join("");
}

function cpuLine(frame: Frame, axes: Axes, points: CurvePoint[], label: string, colour: string): string {
  const shown = points.filter((point) => Number.isFinite(point.cpuCores[label]));
  const at = (point: CurvePoint) => ({
    x: xOf(frame, axes, point.offeredRps),
    y: cpuY(frame, axes, point.cpuCores[label] ?? 0),
  });
  const coords = shown.map(at).map(({ x, y }) => `${coord(x)},${coord(y)}`);
  const line = polyline("cpu", coords, colour);
  const markers = shown.map((point) => {
    const tip = `${label} ${formatValue(point.cpuCores[label] ?? 0)} cores at ${formatValue(point.offeredRps)} req/s offered`;
    const { x, y } = at(point);
    return el("circle", { cx: x, cy: y, r: 2.5, fill: colour }, el("title", {}, escapeXml(tip)));
  });
  return line + markers.join("");
}

function cpuPanel(frame: Frame, axes: Axes, series: CurveSeries): string {
  const points = finitePoints(series);
  const labels = axes.cpuLabels.filter((label) => points.some((point) => label in point.cpuCores));
  const colourOf = (label: string) => CPU_PALETTE[axes.cpuLabels.indexOf(label) % CPU_PALETTE.length] ?? AXIS;
  return [
    xGrid(frame, axes, true),
    yGrid(frame, axes.cpuTicks, (cores) => cpuY(frame, axes, cores)),
    frameBox(frame, "CPU, cores"),
    legend(
      frame.left,
      frame.top - 10,
      labels.map((label) => ({ label, colour: colourOf(label) })),
    ),
    ...labels.map((label) => cpuLine(frame, axes, points, label, colourOf(label))),
    text(frame.left + frame.width / 2, frame.top + frame.height + 38, "offered load, req/s", {
      "text-anchor": "middle",
    }),
  ].join("");
}

function column(series: CurveSeries, index: number, axes: Axes, sloMs: number): string {
  const left = index * COLUMN_WIDTH + PLOT_LEFT;
  const width = COLUMN_WIDTH - PLOT_LEFT - PLOT_RIGHT;
  const latency: Frame = { left, top: LATENCY_TOP, width, height: LATENCY_HEIGHT };
  const cpu: Frame = { left, top: CPU_TOP, width, height: CPU_HEIGHT };
  const heading = text(left + width / 2, 44, series.name, {
    "text-anchor": "middle",
    "font-size": 13,
    "font-weight": "bold",
  });
  return el(
    "g",
    {},
    heading + latencyPanel([latency, cpu], axes, series, sloMs) + cpuPanel(cpu, axes, series),
  );
}

/** Renders the curve as a standalone SVG document: one column per series, latency above CPU. */
export function curveSvg(curve: Curve): string {
  const axes = computeAxes(curve);
  const width = COLUMN_WIDTH * Math.max(1, curve.series.length);
  const title = text(12, 20, `Load curve, ${curve.date} · ${curve.machine}`, {
    "font-size": 14,
    "font-weight": "bold",
  });
  const columns = curve.series.map((series, index) => column(series, index, axes, curve.sloP95Ms));
  const empty = curve.series.length === 0 ? text(12, 44, "no series") : "";
  // The document's own title first: its accessible name (and biome's a11y rule).
  const name = `Latency and CPU against offered load: ${curve.series.map((s) => s.name).join("; ")}`;
  const body = [
    el("title", {}, escapeXml(name)),
    el("rect", { x: 0, y: 0, width, height: HEIGHT, fill: "#ffffff" }),
    title,
    empty,
    ...columns,
  ];
  const root: Attrs = {
    xmlns: "http://www.w3.org/2000/svg",
    role: "img",
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    "font-family": "Helvetica, Arial, sans-serif",
  };
  return `${el("svg", root, body.join(""))}\n`;
}
