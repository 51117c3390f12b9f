// Small SVG charts of our own: bars and lines over time buckets. No
// external script; every chart has a title and a text alternative.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// chart draws series ({name, values, color, kind: "bar"|"line"}) over
// labels. format turns a value into axis text; counts (whole numbers)
// get whole ticks: 2, 4, 6, 8 rather than 1.25, 2.5, 3.75, 5.
export function chart({ title, labels, series, format = String, height = 180, counts = false }) {
  const width = 560, left = 48, bottom = 22, top = 10;
  const plotW = width - left - 8, plotH = height - top - bottom;
  const highest = Math.max(0, ...series.flatMap((s) => s.values));
  const max = counts ? 4 * Math.max(1, niceMax(highest / 4)) : niceMax(highest);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
  svg.append(el("title", {}, title));
  const desc = series.map((s) => `${s.name}: ${s.values.map(format).join(", ")}`).join("; ");
  svg.append(el("desc", {}, desc));
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    svg.append(el("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "grid" }));
    svg.append(el("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, format((max * i) / 4)));
  }
  const n = Math.max(1, labels.length);
  const slot = plotW / n;
  const bars = series.filter((s) => s.kind !== "line");
  const barW = Math.max(1, (slot * 0.8) / Math.max(1, bars.length));
  bars.forEach((s, k) => {
    s.values.forEach((v, i) => {
      const h = (plotH * v) / max;
      const r = el("rect", { x: left + i * slot + slot * 0.1 + k * barW, y: top + plotH - h, width: barW, height: h, fill: s.color });
      r.append(el("title", {}, `${labels[i]} · ${s.name}: ${format(v)}`));
      svg.append(r);
    });
  });
  // A line breaks where a value is null (nothing to average in that
  // bucket): a lone point between two gaps is a dot.
  for (const s of series.filter((s) => s.kind === "line")) {
    let run = [];
    const draw = () => {
      if (run.length === 1) svg.append(el("circle", { cx: run[0][0], cy: run[0][1], r: 2.5, fill: s.color }));
      if (run.length > 1) svg.append(el("polyline", { points: run.map((p) => p.join(",")).join(" "), fill: "none", stroke: s.color, "stroke-width": 2 }));
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v == null) return draw();
      run.push([left + i * slot + slot / 2, top + plotH - (plotH * v) / max]);
    });
    draw();
  }
  const every = Math.ceil(n / 8);
  labels.forEach((l, i) => {
    if (i % every === 0) svg.append(el("text", { x: left + i * slot + slot / 2, y: height - 6, "text-anchor": "middle", class: "axis" }, l));
  });
  const figure = document.createElement("figure");
  const cap = document.createElement("figcaption");
  cap.textContent = title + " — " + series.map((s) => s.name).join(", ");
  figure.append(cap, svg);
  return figure;
}
