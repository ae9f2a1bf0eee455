// The watch page: server-sent records (loss, gradient norms, activation statistics) drawn as
// they arrive.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const WIDTH = 640;
  const HEIGHT = 220;
  const PAD = { left: 56, right: 12, top: 10, bottom: 26 };
  const COLOURS = ["#1d4ed8", "#c2410c", "#15803d", "#7c3aed", "#b45309", "#0e7490", "#be185d", "#4d7c0f"];

  const $ = (selector) => document.querySelector(selector);
  const status = $("#status");
  let header = null;
  let records = [];

  function el(tag, attributes = {}, text = null) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== null) element.textContent = text;
    return element;
  }

  function num(x) {
    if (typeof x === "string") return { Infinity: Infinity, "-Infinity": -Infinity }[x] ?? NaN;
    return x;
  }

  function fmt(x) {
    const v = num(x);
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "∞" : "−∞";
    if (v === 0) return "0";
    const a = Math.abs(v);
    return (a >= 1e5 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(4)).replace("-", "−");
  }

  // Lines of (step, value) on one chart; ``log`` plots log10 of positive values.
  function drawChart(svg, series, log) {
    svg.textContent = "";
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    const points = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
    svg.dataset.points = String(series.length ? series[0].points.length : 0);
    if (!points.length) return;
    const ty = (y) => (log ? Math.log10(y) : y);
    const xs = points.map(([x]) => x);
    const ys = points.map(([, y]) => ty(y));
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) x1 = x0 + 1;
    if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
    const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (WIDTH - PAD.left - PAD.right);
    const sy = (y) => HEIGHT - PAD.bottom - ((ty(y) - y0) / (y1 - y0)) * (HEIGHT - PAD.top - PAD.bottom);
    svg.append(el("line", { x1: PAD.left, y1: HEIGHT - PAD.bottom, x2: WIDTH - PAD.right, y2: HEIGHT - PAD.bottom, class: "axis-line" }));
    svg.append(el("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: HEIGHT - PAD.bottom, class: "axis-line" }));
    const top = log ? 10 ** y1 : y1;
    const bottom = log ? 10 ** y0 : y0;
    svg.append(el("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end", class: "axis" }, fmt(top)));
    svg.append(el("text", { x: PAD.left - 4, y: HEIGHT - PAD.bottom, "text-anchor": "end", class: "axis" }, fmt(bottom)));
    svg.append(el("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, "text-anchor": "end", class: "axis" }, `step ${x1}`));
    series.forEach((s, i) => {
      const usable = s.points.filter(([, y]) => Number.isFinite(y) && (!log || y > 0));
      if (!usable.length) return;
      const d = usable.map(([x, y], k) => `${k ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      svg.append(el("path", { d, class: "series", stroke: COLOURS[i % COLOURS.length], "data-name": s.name }));
    });
  }

  function render() {
    if (!header) return;
    document.body.dataset.steps = String(records.length);
    drawChart($("#loss-chart"), [{ name: header.loss, points: records.map((r) => [r.step, num(r.loss)]) }], false);
    const grads = header.variables.map((name) => ({ name, points: records.map((r) => [r.step, num(r.grad_norms[name])]) }));
    drawChart($("#grad-chart"), grads, true);
    renderLegend(grads);
    renderActivations();
    const last = records[records.length - 1];
    status.textContent = `${header.closed ? "finished" : "live"} · ${records.length} records` + (last ? ` · step ${last.step} · loss ${fmt(last.loss)}` : "");
  }

  function renderLegend(grads) {
    const box = $("#grad-legend");
    box.textContent = "";
    const last = records[records.length - 1];
    grads.forEach((s, i) => {
      const item = document.createElement("span");
      item.className = "legend-item";
      item.dataset.variable = s.name;
      const swatch = document.createElement("i");
      swatch.style.background = COLOURS[i % COLOURS.length];
      item.append(swatch, `${s.name} ${last ? fmt(last.grad_norms[s.name]) : ""}`);
      box.append(item);
    });
  }

  function renderActivations() {
    const body = $("#activations tbody");
    body.textContent = "";
    const last = records[records.length - 1];
    if (!last) return;
    for (const name of header.activations) {
      const a = last.activations[name] || {};
      const row = document.createElement("tr");
      row.dataset.node = name;
      const cells = [name, a.op || "", fmt(a.mean), fmt(a.std), a.zero_fraction === undefined ? "" : `${Math.round(a.zero_fraction * 100)}%`];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        row.append(td);
      }
      const td = document.createElement("td");
      if (a.histogram) td.append(histogram(a.histogram));
      row.append(td);
      body.append(row);
    }
  }

  function histogram(counts) {
    const width = 96;
    const height = 18;
    const svg = el("svg", { width, height, class: "mini-hist" });
    const top = Math.max(...counts, 1);
    const bin = width / counts.length;
    counts.forEach((c, i) => {
      if (c) svg.append(el("rect", { x: i * bin, y: height - (height * c) / top, width: bin - 0.5, height: (height * c) / top }));
    });
    return svg;
  }

  const source = new EventSource("/api/watch/events");
  source.addEventListener("start", (event) => {
    header = JSON.parse(event.data);
    records = header.records;
    render();
  });
  source.addEventListener("records", (event) => {
    records = records.concat(JSON.parse(event.data));
    render();
  });
  source.addEventListener("end", () => {
    if (header) header.closed = true;
    render();
    source.close();
  });
  source.addEventListener("error", () => {
    if (header && !header.closed) status.textContent = "disconnected (training over or the program stopped)";
  });
})();
