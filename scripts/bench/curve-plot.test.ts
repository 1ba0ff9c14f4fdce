import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Curve, type CurvePoint, type CurveSeries, curveSvg } from "./curve-plot";

function point(offeredRps: number, overrides: Partial<CurvePoint> = {}): CurvePoint {
  return {
    offeredRps,
    achievedRps: offeredRps,
    p50: 2 + offeredRps / 100,
    p95: 5 + offeredRps / 40,
    p99: 8 + offeredRps / 20,
    requests: offeredRps * 10,
    errors: 0,
    cpuCores: { gateway: offeredRps / 1000, feed: offeredRps / 2000, loadgen: 0.05 },
    ...overrides,
  };
}

function series(name: string, knee: number | null, points: CurvePoint[]): CurveSeries {
  return { name, knee, points };
}

function curve(...list: CurveSeries[]): Curve {
  return { sloP95Ms: 50, machine: "2 cores, Linux 6.x, Node v24.x", date: "2025-01-01", series: list };
}

const healthy = series("gateway GET /v1/feed (1 gateway, 1 feed)", 400, [point(100), point(200), point(400)]);
const overloaded = series("feed direct", null, [
  point(100, { p95: 80 }),
  point(200, { p95: 300, errors: 37, requests: 2000 }),
]);

const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/y;
const STRAY_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/**
 * A small well-formedness check, enough for generated SVG: every tag is
 * syntactically valid with quoted attributes, tags nest and close in order,
 * there is exactly one root element, and text holds no stray markup.
 * Returns the problem found, or null.
 */
function xmlProblem(xml: string): string | null {
  const stack: string[] = [];
  let roots = 0;
  let index = 0;
  while (index < xml.length) {
    const lt = xml.indexOf("<", index);
    const textEnd = lt === -1 ? xml.length : lt;
    const content = xml.slice(index, textEnd);
    if (content.includes(">") || STRAY_AMPERSAND.test(content)) return `bad text ${JSON.stringify(content)}`;
    if (stack.length === 0 && content.trim() !== "") return "text outside the root element";
    if (lt === -1) break;
    TAG.lastIndex = lt;
    const match = TAG.exec(xml);
    if (!match) return `malformed tag at ${lt}: ${xml.slice(lt, lt + 40)}`;
    const [whole, closing, name = "", attrs = "", selfClosing] = match;
    if (STRAY_AMPERSAND.test(attrs)) return `unescaped & in attributes of <${name}>`;
    if (closing) {
      if (stack.pop() !== name) return `</${name}> does not close the open element`;
    } else {
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name);
    }
    index = lt + whole.length;
  }
  if (stack.length > 0) return `unclosed <${stack.join("> <")}>`;
  return roots === 1 ? null : `expected one root element, found ${roots}`;
}

function count(haystack: string, pattern: RegExp): number {
  return haystack.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/** The markup of the nth column (one <g> per series under the root). */
function columns(svg: string): string[] {
  return svg.split(/(?=<g>)/).slice(1);
}

describe("curveSvg", () => {
  it("the well-formedness check rejects broken markup (so the next test means something)", () => {
    assert.equal(xmlProblem('<svg><g><text x="1">ok &amp; fine</text></g></svg>'), null);
    assert.notEqual(xmlProblem("<svg><g></svg>"), null);
    assert.notEqual(xmlProblem("<svg><text>a < b</text></svg>"), null);
    assert.notEqual(xmlProblem("<svg><text>a & b</text></svg>"), null);
    assert.notEqual(xmlProblem('<svg x="a"b"/>'), null);
    assert.notEqual(xmlProblem("<svg/><svg/>"), null);
  });

  it("produces a well-formed standalone SVG document with one <svg> root", () => {
    const svg = curveSvg(curve(healthy, overloaded));
    assert.equal(xmlProblem(svg), null);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });

  it("uses only plain SVG elements that GitHub renders", () => {
    const svg = curveSvg(curve(healthy, overloaded));
    const tags = new Set([...svg.matchAll(/<([a-z]+)/g)].map((m) => m[1]));
    const allowed = new Set(["svg", "g", "line", "polyline", "circle", "text", "rect", "title", "path"]);
    assert.deepEqual(
      [...tags].filter((tag) => !allowed.has(tag ?? "")),
      [],
    );
  });

  it("frames the background and both panels of every series with positioned rects", () => {
    const svg = curveSvg(curve(healthy, overloaded));
    const rects = svg.match(/<rect [^>]*>/g) ?? [];
    assert.equal(rects.length, 1 + 2 * 2);
    for (const rect of rects)
      assert.match(rect, /^<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"/);
  });

  it("is about 560 px wide per series and 560 px high", () => {
    const svg = curveSvg(curve(healthy, overloaded));
    assert.match(svg, /^<svg[^>]* width="1120" height="560"/);
  });

  it("puts the date and machine in the title line", () => {
    const svg = curveSvg(curve(healthy));
    assert.match(svg, /<text[^>]*>[^<]*2025-01-01[^<]*2 cores, Linux 6\.x, Node v24\.x<\/text>/);
  });

  it("draws one latency polyline per percentile in every series", () => {
    const svg = curveSvg(curve(healthy, overloaded));
    const cols = columns(svg);
    assert.equal(cols.length, 2);
    for (const col of cols) {
      for (const key of ["p50", "p95", "p99"]) {
        assert.equal(count(col, new RegExp(`<polyline class="latency ${key}"`)), 1, `${key} line`);
      }
    }
  });

  it("draws one CPU polyline per process label in every series", () => {
    const gatewayOnly = series("gateway only", 100, [point(100, { cpuCores: { gateway: 0.2 } })]);
    const [threeLabels, oneLabel] = columns(curveSvg(curve(healthy, gatewayOnly)));
    assert.equal(count(threeLabels ?? "", /<polyline class="cpu"/), 3);
    assert.equal(count(oneLabel ?? "", /<polyline class="cpu"/), 1);
    for (const label of ["gateway", "feed", "loadgen"])
      assert.match(threeLabels ?? "", new RegExp(`>${label}<`));
  });

  it('labels the dashed SLO line with the configured p95 target, e.g. "p95 SLO 50 ms"', () => {
    const svg = curveSvg(curve(healthy));
    assert.match(svg, /<line[^>]*stroke-dasharray="6 4"/);
    assert.match(svg, />p95 SLO 50 ms</);
    assert.match(curveSvg({ ...curve(healthy), sloP95Ms: 250 }), />p95 SLO 250 ms</);
  });

  it("marks the knee with a dotted line labelled with its offered rate", () => {
    const svg = curveSvg(curve(healthy));
    assert.match(svg, />knee 400 req\/s</);
    assert.match(svg, /<line[^>]*stroke-dasharray="2 3"/);
  });

  it('says "no step within SLO" when a series has no knee', () => {
    const [withKnee, withoutKnee] = columns(curveSvg(curve(healthy, overloaded)));
    assert.doesNotMatch(withKnee ?? "", /no step within SLO/);
    assert.match(withoutKnee ?? "", />no step within SLO</);
    assert.doesNotMatch(withoutKnee ?? "", /knee \d/);
  });

  it('escapes XML special characters in text, e.g. a series named a<b & "c"', () => {
    const nasty = series('a<b & "c"', 100, [point(100)]);
    const svg = curveSvg({ ...curve(nasty), machine: "<vm> & 'co'", date: "2025-01-01\u0007" });
    assert.equal(xmlProblem(svg), null);
    assert.match(svg, />a&lt;b &amp; &quot;c&quot;</);
    assert.match(svg, /&lt;vm&gt; &amp; &apos;co&apos;/);
    assert.doesNotMatch(svg, /a<b/);
  });

  it("never writes NaN or Infinity, even for non-finite or zero measurements", () => {
    const broken = series("broken", Number.NaN, [
      point(100, { p50: Number.NaN, p95: Number.POSITIVE_INFINITY, p99: 0 }),
      point(200, { p50: -1, cpuCores: { gateway: Number.NaN, feed: Number.NEGATIVE_INFINITY } }),
      point(Number.NaN),
      point(300, { achievedRps: Number.NaN, errors: 3, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN }),
    ]);
    for (const input of [curve(broken), curve(healthy, broken), curve(series("empty", null, []))]) {
      const svg = curveSvg(input);
      assert.doesNotMatch(svg, /NaN|Infinity/);
      assert.equal(xmlProblem(svg), null);
    }
  });

  it("marks a step with errors in red, with its error count in a <title> tooltip", () => {
    const [, col] = columns(curveSvg(curve(healthy, overloaded)));
    const errorMarkers = [...(col ?? "").matchAll(/<circle class="error"[^>]*>(.*?)<\/circle>/g)];
    assert.equal(errorMarkers.length, 1);
    assert.match(errorMarkers[0]?.[0] ?? "", /fill="#d62728"/);
    assert.match(
      errorMarkers[0]?.[1] ?? "",
      /^<title>37 errors of 2000 requests at 200 req\/s offered<\/title>$/,
    );
  });
});
