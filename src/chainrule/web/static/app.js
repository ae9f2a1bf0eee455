// The chainrule explorer page: expression → POST /api/explain → graph, values, gradients,
// and the chain-rule products along each path from the output back to a variable.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const DEFAULT_EXPR = "(4*x+1)^2";
  const DEFAULT_VALUE = 1;
  const TYPING_DELAY_MS = 180;
  const NUMBER_DELAY_MS = 120;
  const MAX_PATHS_SHOWN = 64;
  const NODE_W = 128;
  const NODE_H = 66;
  const GAP_X = 30;
  const GAP_Y = 58;
  const MARGIN = 16;
  const MIN_SCALE = 0.6;

  const OP_SYMBOLS = {
    Add: "+", AddV2: "+", Sub: "−", Subtract: "−", Mul: "×", Multiply: "×",
    RealDiv: "÷", Div: "÷", Pow: "^", Neg: "−", Negative: "−", Abs: "abs", Exp: "exp",
    Log: "ln", Sqrt: "√", Sin: "sin", Cos: "cos", Tan: "tan", Tanh: "tanh",
    Sigmoid: "σ", Relu: "relu", Square: "²", Reciprocal: "1/x", Identity: "id",
  };

  const LEAF_SYMBOLS = { pi: "π" };

  const $ = (selector) => document.querySelector(selector);
  const exprInput = $("#expr");
  const errorBox = $("#error");
  const variablesBox = $("#variables");
  const resultBox = $("#result");
  const pathsBox = $("#paths");
  const svg = $("#graph");

  // What the URL holds: the expression, each variable's value and the selected variable.
  const state = { expr: DEFAULT_EXPR, values: {}, selected: null };
  // The last successful answer, and per-variable slider ranges (kept while dragging).
  let current = null;
  const ranges = {};
  let focusedPath = null;

  // -- numbers --------------------------------------------------------------------------------
  function fmt(x) {
    if (typeof x === "string") {
      return { Infinity: "∞", "-Infinity": "−∞", NaN: "NaN" }[x] || x;
    }
    if (typeof x !== "number") return String(x);
    if (x === 0) return "0";
    const ax = Math.abs(x);
    let text;
    if (Number.isInteger(x) && ax < 1e9) text = String(x);
    else if (ax >= 1e6 || ax < 1e-4) text = trimZeros(x.toExponential(3));
    else text = trimZeros(x.toPrecision(5));
    return text.replace("-", "−");
  }

  function trimZeros(text) {
    const [mantissa, exponent] = text.split("e");
    const trimmed = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    return exponent === undefined ? trimmed : `${trimmed}e${exponent}`;
  }

  function fieldText(x, step) {
    const decimals = Math.max(0, -Math.floor(Math.log10(step)));
    return String(Number(x.toFixed(Math.min(decimals + 2, 12))));
  }

  // -- URL state ------------------------------------------------------------------------------
  function readUrl() {
    const params = new URLSearchParams(window.location.search);
    if (params.has("expr")) state.expr = params.get("expr");
    for (const [key, raw] of params) {
      if (!key.startsWith("v.")) continue;
      const value = Number(raw);
      if (raw.trim() !== "" && Number.isFinite(value)) state.values[key.slice(2)] = value;
    }
    state.selected = params.get("sel") || null;
  }

  function writeUrl() {
    const params = new URLSearchParams();
    params.set("expr", state.expr);
    for (const name of shownVariables()) {
      if (name in state.values) params.set(`v.${name}`, String(state.values[name]));
    }
    if (state.selected) params.set("sel", state.selected);
    const url = `${window.location.pathname}?${params.toString()}`;
    window.history.replaceState(null, "", url);
  }

  function shownVariables() {
    return Array.from(variablesBox.querySelectorAll(".var-row"), (row) => row.dataset.var);
  }

  // The remembered values of the names that appear in ``text`` (so the request stays small
  // however many names one has typed before).
  function valuesFor(text) {
    const names = new Set(text.match(/[A-Za-z_][A-Za-z0-9_]*/g) || []);
    return Object.fromEntries(Object.entries(state.values).filter(([name]) => names.has(name)));
  }

  // -- talking to the server: one request in flight, the latest state sent next --------------
  let timer = null;
  let inFlight = false;
  let again = false;

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(send, delay);
  }

  async function send() {
    if (inFlight) {
      again = true;
      return;
    }
    if (state.expr.trim() === "") {
      showEmpty();
      return;
    }
    inFlight = true;
    const sent = { expr: state.expr, values: valuesFor(state.expr) };
    document.body.dataset.busy = "true";
    try {
      const response = await fetch("/api/explain", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(sent),
      });
      const answer = await response.json().catch(() => ({ error: response.statusText }));
      if (response.ok) showAnswer(answer);
      else showError(answer.error || `error ${response.status}`, answer.position, sent.expr);
    } catch (err) {
      showError(`cannot reach the explorer server (${err.message})`, null, sent.expr);
    } finally {
      inFlight = false;
      document.body.dataset.busy = "false";
      if (again) {
        again = false;
        send();
      }
    }
  }

  // -- showing an answer ----------------------------------------------------------------------
  function showAnswer(answer) {
    current = prepare(answer);
    for (const variable of current.variables) {
      if (!(variable.name in state.values)) state.values[variable.name] = variable.value;
    }
    if (state.selected && !current.variablesByName[state.selected]) state.selected = null;
    hideError();
    renderVariables(current.variables);
    renderResult();
    renderGraph();
    renderPaths();
    writeUrl();
    document.body.dataset.ready = "true";
  }

  // Index the answer and give every node the short letter name backprop-vis uses (a, b, c, ...
  // in forward order); variables keep their own names, and no letter repeats one of them.
  function prepare(answer) {
    const nodes = new Map(answer.nodes.map((node) => [node.name, node]));
    const order = answer.forward_order;
    const variables = answer.variable_info;
    const variablesByName = {};
    const variableOfNode = {};
    for (const variable of variables) {
      variablesByName[variable.name] = variable;
      variableOfNode[variable.node] = variable.name;
    }
    const letters = {};
    let next = 0;
    for (const name of order) {
      let letter;
      do letter = letterName(next++); while (letter in variablesByName);
      letters[name] = variableOfNode[name] || letter;
    }
    return { ...answer, nodeMap: nodes, order, variables, variablesByName, variableOfNode, letters };
  }

  function letterName(index) {
    let name = "";
    let i = index;
    do {
      name = String.fromCharCode(97 + (i % 26)) + name;
      i = Math.floor(i / 26) - 1;
    } while (i >= 0);
    return name;
  }

  function outputLetter() {
    return current.letters[current.output];
  }

  // -- variables: a number field and a slider each, kept in sync --------------------------------
  function rangeFor(value) {
    const span = Math.max(5, Math.ceil(Math.abs(value) * 2));
    const step = 10 ** Math.floor(Math.log10(span / 500));
    return { min: -span, max: span, step };
  }

  function renderVariables(variables) {
    const wanted = variables.map((v) => v.name);
    for (const row of Array.from(variablesBox.querySelectorAll(".var-row"))) {
      if (!wanted.includes(row.dataset.var)) row.remove();
    }
    let previous = null;
    for (const name of wanted) {
      let row = variablesBox.querySelector(`.var-row[data-var="${CSS.escape(name)}"]`);
      if (!row) row = makeVariableRow(name);
      // Move a row only if it is out of place: re-inserting it would end a drag or edit.
      const expected = previous ? previous.nextElementSibling : variablesBox.firstElementChild;
      if (row !== expected) {
        if (previous) previous.after(row);
        else variablesBox.prepend(row);
      }
      previous = row;
      syncRow(row, state.values[name], null);
      row.classList.toggle("selected", state.selected === name);
    }
    const note = variablesBox.querySelector(".hint");
    if (wanted.length && note) note.remove();
    if (!wanted.length && !note) {
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "This expression has no variables.";
      variablesBox.append(hint);
    }
  }

  function makeVariableRow(name) {
    const row = document.createElement("div");
    row.className = "var-row";
    row.dataset.var = name;
    const label = document.createElement("button");
    label.type = "button";
    label.className = "var-name";
    label.textContent = name;
    label.title = `show the paths of ∂/∂${name}`;
    label.addEventListener("click", () => select(state.selected === name ? null : name));
    const number = document.createElement("input");
    number.type = "number";
    number.step = "any";
    number.setAttribute("aria-label", `value of ${name}`);
    const slider = document.createElement("input");
    slider.type = "range";
    slider.setAttribute("aria-label", `slider for ${name}`);
    const value = state.values[name] ?? DEFAULT_VALUE;
    ranges[name] = ranges[name] || rangeFor(value);
    number.addEventListener("input", () => {
      const typed = Number(number.value);
      if (number.value.trim() === "" || !Number.isFinite(typed)) return;
      state.values[name] = typed;
      const range = ranges[name];
      if (typed < range.min || typed > range.max) ranges[name] = rangeFor(typed);
      syncRow(row, typed, number);
      schedule(NUMBER_DELAY_MS);
    });
    slider.addEventListener("pointerdown", () => { row.dataset.dragging = "true"; });
    for (const end of ["pointerup", "pointercancel", "change"]) {
      slider.addEventListener(end, () => { row.dataset.dragging = "false"; });
    }
    slider.addEventListener("input", () => {
      const moved = Number(slider.value);
      state.values[name] = moved;
      syncRow(row, moved, slider);
      send();
    });
    row.append(label, number, slider);
    return row;
  }

  // Show ``value`` in both inputs of a row, except the one the user is typing in.
  function syncRow(row, value, source) {
    const name = row.dataset.var;
    const [number, slider] = row.querySelectorAll("input");
    const range = ranges[name] || (ranges[name] = rangeFor(value));
    // Only touch what changed: resetting a slider's bounds mid-drag would end the drag.
    setIfChanged(slider, "min", String(range.min));
    setIfChanged(slider, "max", String(range.max));
    setIfChanged(slider, "step", String(range.step));
    if (source !== slider && row.dataset.dragging !== "true") {
      setIfChanged(slider, "value", String(value));
    }
    if (source !== number && document.activeElement !== number) {
      number.value = fieldText(value, range.step);
    }
  }

  function setIfChanged(element, property, text) {
    if (element[property] !== text) element[property] = text;
  }

  // -- result ---------------------------------------------------------------------------------
  function renderResult() {
    resultBox.textContent = "";
    const out = outputLetter();
    const line = document.createElement("div");
    line.className = "result-value";
    line.append(`${out} = `, bold(fmt(current.value)));
    line.dataset.value = String(current.value);
    resultBox.append(line);
    for (const variable of current.variables) {
      const grad = document.createElement("div");
      grad.className = "result-grad";
      grad.dataset.grad = variable.name;
      grad.classList.toggle("selected", state.selected === variable.name);
      grad.append(`∂${out}/∂${variable.name} = `, bold(fmt(variable.gradient)));
      resultBox.append(grad);
    }
  }

  function bold(text) {
    const b = document.createElement("b");
    b.textContent = text;
    return b;
  }

  // -- graph layout ----------------------------------------------------------------------------
  // Layers by depth below the output (the longest path down, so every edge points up). An edge
  // that skips layers passes through small "bend" slots in the layers between, so that every
  // edge joins neighbouring layers and other nodes make room for it. Each layer is ordered by
  // where its parents are (reading order for a tree), then nodes are moved towards the mean of
  // their neighbours above and below, keeping that order and never overlapping.
  const BEND_WIDTH = 0.28;
  const LAYOUT_ROUNDS = 6;

  function layoutGraph(data) {
    const depth = nodeDepths(data);
    const children = {};
    const width = {};
    const layerOf = {};
    for (const name of data.order) {
      children[name] = [];
      width[name] = 1;
      layerOf[name] = depth[name];
    }
    const routes = {};
    for (const edge of data.edges) {
      let upper = edge.dst;
      const bends = [];
      for (let level = depth[edge.dst] + 1; level < depth[edge.src]; level++) {
        const bend = `bend:${edgeId(edge)}:${level}`;
        children[bend] = [];
        width[bend] = BEND_WIDTH;
        layerOf[bend] = level;
        children[upper].push(bend);
        bends.push(bend);
        upper = bend;
      }
      children[upper].push(edge.src);
      routes[edgeId(edge)] = bends;
    }
    const parents = {};
    for (const item of Object.keys(children)) parents[item] = [];
    for (const [item, below] of Object.entries(children)) {
      below.forEach((child, k) => parents[child].push({ item, k, n: below.length }));
    }
    const layers = orderLayers(data.output, children, parents, layerOf);
    const x = {};
    for (const layer of layers) placeInOrder(layer, layer.map((_, i) => i), width, x);
    for (let round = 0; round < LAYOUT_ROUNDS; round++) {
      for (let level = 1; level < layers.length; level++) {
        alignLayer(layers[level], (item) => parents[item].map((p) => x[p.item]), width, x);
      }
      for (let level = layers.length - 2; level >= 0; level--) {
        alignLayer(layers[level], (item) => children[item].map((child) => x[child]), width, x);
      }
    }
    const xs = Object.values(x);
    const minX = Math.min(...xs);
    const unit = NODE_W + GAP_X;
    const point = (item) => ({
      x: MARGIN + (x[item] - minX) * unit,
      y: MARGIN + layerOf[item] * (NODE_H + GAP_Y),
    });
    const positions = {};
    for (const name of data.order) positions[name] = point(name);
    const bendPoints = {};
    for (const [id, bends] of Object.entries(routes)) bendPoints[id] = bends.map(point);
    return {
      positions,
      bendPoints,
      width: 2 * MARGIN + (Math.max(...xs) - minX) * unit + NODE_W,
      height: 2 * MARGIN + (layers.length - 1) * (NODE_H + GAP_Y) + NODE_H,
    };
  }

  function nodeDepths(data) {
    const depth = { [data.output]: 0 };
    for (const name of [...data.order].reverse()) {
      if (depth[name] === undefined) depth[name] = 0;
      for (const input of data.nodeMap.get(name).inputs) {
        depth[input] = Math.max(depth[input] ?? 0, depth[name] + 1);
      }
    }
    return depth;
  }

  // Layer 0 holds the output; each next layer is sorted by the mean place of its items under
  // their parents (a parent's k-th of n inputs sits at parentIndex + (k + 1) / (n + 1)).
  function orderLayers(root, children, parents, layerOf) {
    const layers = [];
    for (const item of Object.keys(children)) (layers[layerOf[item]] ||= []).push(item);
    layers[0] = [root, ...layers[0].filter((item) => item !== root)];
    for (let level = 1; level < layers.length; level++) {
      layers[level] = layers[level] || [];
      const index = new Map(layers[level - 1].map((item, i) => [item, i]));
      const key = {};
      for (const item of layers[level]) {
        const places = parents[item]
          .filter((p) => index.has(p.item))
          .map((p) => index.get(p.item) + (p.k + 1) / (p.n + 1));
        key[item] = places.length ? mean(places) : Number.MAX_SAFE_INTEGER;
      }
      layers[level].sort((a, b) => key[a] - key[b]);
    }
    return layers;
  }

  // Move each item of a layer towards the mean of its neighbours' places (items without
  // neighbours stay), keeping the layer's order and its items apart.
  function alignLayer(layer, neighbourPlaces, width, x) {
    const desired = layer.map((item) => {
      const places = neighbourPlaces(item);
      return places.length ? mean(places) : x[item];
    });
    placeInOrder(layer, desired, width, x);
  }

  // The closest places to ``desired`` (least squares) that keep the order and keep neighbours
  // at least half their widths apart: isotonic regression by pooling adjacent violators.
  function placeInOrder(layer, desired, width, x) {
    const offsets = [0];
    for (let i = 1; i < layer.length; i++) {
      offsets.push(offsets[i - 1] + (width[layer[i - 1]] + width[layer[i]]) / 2);
    }
    const blocks = [];
    desired.forEach((d, i) => {
      blocks.push({ sum: d - offsets[i], count: 1 });
      while (blocks.length > 1) {
        const last = blocks[blocks.length - 1];
        const before = blocks[blocks.length - 2];
        if (before.sum / before.count <= last.sum / last.count) break;
        before.sum += last.sum;
        before.count += last.count;
        blocks.pop();
      }
    });
    let i = 0;
    for (const block of blocks) {
      for (let j = 0; j < block.count; j++, i++) x[layer[i]] = block.sum / block.count + offsets[i];
    }
  }

  function mean(values) {
    return values.reduce((sum, v) => sum + v, 0) / values.length;
  }

  function edgeId(edge) {
    return `${edge.src}->${edge.dst}#${edge.index}`;
  }

  // -- graph drawing --------------------------------------------------------------------------
  function svgEl(tag, attributes = {}, text = null) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== null) element.textContent = text;
    return element;
  }

  function renderGraph() {
    const layout = layoutGraph(current);
    const { width, height } = layout;
    svg.textContent = "";
    svg.classList.remove("stale");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.dataset.width = String(width);
    svg.dataset.height = String(height);
    fitGraph();
    const edgeLayer = svgEl("g", { class: "edges" });
    const labelLayer = svgEl("g", { class: "edge-labels" });
    const nodeLayer = svgEl("g", { class: "nodes" });
    const parallel = parallelOffsets(current.edges);
    for (const edge of current.edges) {
      drawEdge(edge, layout, parallel[edgeId(edge)], edgeLayer, labelLayer);
    }
    for (const name of current.order) {
      drawNode(current.nodeMap.get(name), layout.positions[name], nodeLayer);
    }
    svg.append(edgeLayer, nodeLayer, labelLayer);
    applyHighlight();
  }

  // Shrink a wide graph to the panel (down to MIN_SCALE; wider ones scroll).
  function fitGraph() {
    const width = Number(svg.dataset.width);
    const height = Number(svg.dataset.height);
    if (!width) return;
    const room = svg.parentElement.clientWidth;
    const scale = Math.min(1, Math.max(MIN_SCALE, room / width));
    svg.setAttribute("width", String(Math.round(width * scale)));
    svg.setAttribute("height", String(Math.round(height * scale)));
  }

  // Edges joining the same two nodes (x*x) are drawn side by side.
  function parallelOffsets(edges) {
    const groups = {};
    for (const edge of edges) (groups[`${edge.src}->${edge.dst}`] ||= []).push(edge);
    const offsets = {};
    for (const group of Object.values(groups)) {
      group.forEach((edge, i) => {
        offsets[edgeId(edge)] = (i - (group.length - 1) / 2) * 30;
      });
    }
    return offsets;
  }

  // A curve from the top of the input up through its bend slots into the bottom of the
  // consumer, labelled with the local derivative just below the consumer.
  function drawEdge(edge, layout, offset, edgeLayer, labelLayer) {
    const from = layout.positions[edge.src];
    const to = layout.positions[edge.dst];
    const bends = layout.bendPoints[edgeId(edge)];
    let px = from.x + NODE_W / 2 + offset;
    let py = from.y;
    let d = `M${px},${py}`;
    for (const bend of [...bends].reverse()) {
      d += curve(px, py, bend.x + NODE_W / 2, bend.y + NODE_H);
      px = bend.x + NODE_W / 2;
      py = bend.y;
      d += ` L${px},${py}`;
    }
    const ex = to.x + NODE_W / 2 + offset;
    const ey = to.y + NODE_H;
    d += curve(px, py, ex, ey);
    const id = edgeId(edge);
    const key = `${edge.src}->${edge.dst}`;
    const title = `∂${current.letters[edge.dst]}/∂${current.letters[edge.src]} = ${fmt(edge.local_derivative)}`;
    const attributes = { class: "edge", "data-edge": key, "data-edge-id": id };
    const line = svgEl("g", { ...attributes, "data-part": "line" });
    line.append(svgEl("path", { d }), svgEl("title", {}, title));
    edgeLayer.append(line);
    if (edge.local_derivative === null || edge.local_derivative === undefined) return;
    const text = fmt(edge.local_derivative);
    const labelWidth = 12 + 7 * text.length;
    const mx = (px + ex) / 2;
    const my = (py + ey) / 2;
    const label = svgEl("g", { ...attributes, "data-part": "label" });
    const pill = svgEl("g", { class: "edge-label" });
    pill.append(
      svgEl("rect", { x: mx - labelWidth / 2, y: my - 9, width: labelWidth, height: 18, rx: 9 }),
      svgEl("text", { x: mx, y: my + 4, "text-anchor": "middle" }, text),
      svgEl("title", {}, title),
    );
    label.append(pill);
    labelLayer.append(label);
  }

  function curve(x1, y1, x2, y2) {
    const middle = (y1 + y2) / 2;
    return ` C${x1},${middle} ${x2},${middle} ${x2},${y2}`;
  }

  function drawNode(node, position, layer) {
    const variable = current.variableOfNode[node.name];
    const kind = variable ? "variable" : node.inputs.length ? "op" : "const";
    const classes = ["node", kind];
    if (node.name === current.output) classes.push("output");
    const group = svgEl("g", {
      class: classes.join(" "),
      "data-node": node.name,
      "data-op": node.op_type,
      transform: `translate(${position.x},${position.y})`,
    });
    if (variable) group.dataset.variable = variable;
    group.append(svgEl("rect", { width: NODE_W, height: NODE_H, rx: 10 }));
    if (!variable) group.append(svgEl("text", { class: "tag", x: 9, y: 18 }, current.letters[node.name]));
    if (kind === "op") {
      group.append(svgEl("text", { class: "op", x: NODE_W - 9, y: 17, "text-anchor": "end" }, node.op_type));
    }
    group.append(svgEl("text", { class: "sym", x: NODE_W / 2, y: 24, "text-anchor": "middle" }, symbolOf(node, variable)));
    group.append(valueLine("value", node.value, "val", 44));
    group.append(valueLine("grad", node.gradient, "grad", 59));
    group.append(svgEl("title", {}, nodeTitle(node, variable)));
    if (variable) {
      group.addEventListener("click", () => select(state.selected === variable ? null : variable));
    }
    layer.append(group);
  }

  function valueLine(key, value, cls, y) {
    const text = svgEl("text", { x: 10, y });
    const keySpan = svgEl("tspan", { class: "key" }, `${key} `);
    const valueSpan = svgEl("tspan", { class: cls }, value === null || value === undefined ? "—" : fmt(value));
    text.append(keySpan, valueSpan);
    return text;
  }

  function symbolOf(node, variable) {
    if (variable) return variable;
    if (!node.inputs.length) return LEAF_SYMBOLS[node.label] || node.label;
    return OP_SYMBOLS[node.op_type] || node.label || node.op_type;
  }

  function nodeTitle(node, variable) {
    const letter = current.letters[node.name];
    const who = variable ? `variable ${variable}` : `${letter}: ${node.op_type} '${node.name}'`;
    const out = outputLetter();
    return `${who}\nvalue ${fmt(node.value)}\n∂${out}/∂${letter} = ${fmt(node.gradient)}`;
  }

  // -- selection and paths ---------------------------------------------------------------------
  function select(name) {
    state.selected = name;
    focusedPath = null;
    for (const row of variablesBox.querySelectorAll(".var-row")) {
      row.classList.toggle("selected", row.dataset.var === name);
    }
    if (current) {
      renderResult();
      applyHighlight();
      renderPaths();
    }
    writeUrl();
  }

  // The selected variable's paths, from the output down to the variable (the way the
  // gradient flows), each with the ids of the edges it follows.
  function selectedPaths() {
    if (!current || !state.selected) return [];
    return current.paths[state.selected].paths.map((path) => {
      const edges = path.indices.map(
        (index, i) => `${path.nodes[i]}->${path.nodes[i + 1]}#${index}`,
      );
      return {
        nodes: [...path.nodes].reverse(),
        factors: [...path.factors].reverse(),
        edges,
        product: path.product,
      };
    });
  }

  function applyHighlight() {
    for (const element of svg.querySelectorAll(".highlighted, .selected")) {
      element.classList.remove("highlighted", "selected");
    }
    const paths = selectedPaths();
    const shown = focusedPath === null ? paths : [paths[focusedPath]].filter(Boolean);
    svg.classList.toggle("has-selection", Boolean(state.selected && current));
    for (const path of shown) {
      for (const name of path.nodes) mark(`[data-node="${CSS.escape(name)}"]`);
      for (const id of path.edges) mark(`[data-edge-id="${CSS.escape(id)}"]`);
    }
    if (state.selected && current) {
      const node = current.variablesByName[state.selected].node;
      const element = svg.querySelector(`[data-node="${CSS.escape(node)}"]`);
      if (element) element.classList.add("selected", "highlighted");
    }
  }

  function mark(selector) {
    for (const element of svg.querySelectorAll(selector)) element.classList.add("highlighted");
  }

  function renderPaths() {
    pathsBox.textContent = "";
    if (!current || !state.selected) {
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent =
        "Click a variable in the graph (or its name above) to see the paths its gradient " +
        "flows along and the product of local derivatives on each.";
      pathsBox.append(hint);
      return;
    }
    const name = state.selected;
    const out = outputLetter();
    const paths = selectedPaths();
    const total = current.paths[name].count;
    const gradient = current.variablesByName[name].gradient;
    const heading = document.createElement("h3");
    const count = total === 1 ? "1 path" : `${total} paths`;
    heading.textContent = `∂${out}/∂${name}: ${count} from ${out} back to ${name}`;
    pathsBox.append(heading);
    const list = document.createElement("ol");
    const shown = paths.slice(0, MAX_PATHS_SHOWN);
    shown.forEach((path, index) => {
      const item = document.createElement("li");
      item.className = "path";
      item.dataset.pathIndex = String(index);
      const [symbols, numbers] = pathText(path);
      const symbolic = document.createElement("span");
      symbolic.className = "symbols";
      symbolic.textContent = symbols;
      const numeric = document.createElement("span");
      numeric.className = "numbers";
      numeric.append(`= ${numbers} = `, bold(fmt(path.product)));
      item.append(symbolic, " ", numeric);
      item.addEventListener("mouseenter", () => focusPath(index, item));
      item.addEventListener("mouseleave", () => focusPath(null, item));
      list.append(item);
    });
    pathsBox.append(list);
    if (total > shown.length) {
      const more = document.createElement("p");
      more.className = "hint";
      more.textContent = `… and ${total - shown.length} more paths`;
      pathsBox.append(more);
    }
    const sum = document.createElement("div");
    sum.className = "path-sum";
    sum.id = "path-sum";
    let terms = "";
    if (total > 1 && total === shown.length) terms = ` = ${shown.map((p) => fmt(p.product)).join(" + ")}`;
    else if (total > shown.length) terms = ` = the sum over all ${total} paths`;
    sum.append(`∂${out}/∂${name}${terms} = `, bold(fmt(gradient)));
    if (!total) sum.append(" (no path: the output does not depend on it)");
    pathsBox.append(sum);
  }

  // ["∂g/∂e · ∂e/∂c · ∂c/∂x", "10 · 1 · 4"]: the chain rule along one path, then its numbers.
  function pathText(path) {
    const names = path.nodes.map((name) => current.letters[name]);
    const symbols = [];
    for (let i = 0; i + 1 < names.length; i++) symbols.push(`∂${names[i]}/∂${names[i + 1]}`);
    if (!symbols.length) return [`∂${names[0]}/∂${names[0]}`, "1"];
    return [symbols.join(" · "), path.factors.map((f) => fmt(f)).join(" · ")];
  }

  function focusPath(index, item) {
    focusedPath = index;
    for (const other of pathsBox.querySelectorAll("li.path")) other.classList.remove("focused");
    if (index !== null) item.classList.add("focused");
    applyHighlight();
  }

  // -- errors ---------------------------------------------------------------------------------
  function showError(message, position, text) {
    errorBox.hidden = false;
    exprInput.classList.add("invalid");
    exprInput.setAttribute("aria-invalid", "true");
    errorBox.querySelector(".error-message").textContent = message;
    const pre = errorBox.querySelector(".error-caret");
    pre.textContent = "";
    if (typeof position === "number" && position >= 0 && position <= text.length) {
      errorBox.dataset.position = String(position);
      const bad = document.createElement("span");
      bad.className = "bad";
      bad.textContent = text.slice(position, position + 1) || " ";
      const caret = document.createElement("span");
      caret.className = "caret";
      caret.textContent = `${" ".repeat(position)}^`;
      pre.append(text.slice(0, position), bad, text.slice(position + 1), "\n", caret);
      pre.hidden = false;
    } else {
      delete errorBox.dataset.position;
      pre.hidden = true;
    }
    svg.classList.add("stale");
    writeUrl();
  }

  function hideError() {
    errorBox.hidden = true;
    delete errorBox.dataset.position;
    exprInput.classList.remove("invalid");
    exprInput.removeAttribute("aria-invalid");
  }

  function showEmpty() {
    hideError();
    current = null;
    svg.textContent = "";
    resultBox.textContent = "";
    renderPaths();
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = `Type an expression, for example ${DEFAULT_EXPR}`;
    resultBox.append(hint);
    writeUrl();
  }

  // -- wiring ---------------------------------------------------------------------------------
  function setExpression(text) {
    exprInput.value = text;
    state.expr = text;
    send();
  }

  exprInput.addEventListener("input", () => {
    state.expr = exprInput.value;
    schedule(TYPING_DELAY_MS);
  });

  for (const button of document.querySelectorAll("[data-example]")) {
    button.addEventListener("click", () => setExpression(button.dataset.example));
  }

  $("#copy-link").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    try {
      await navigator.clipboard.writeText(window.location.href);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    window.setTimeout(() => { button.textContent = "Copy link"; }, 1500);
  });

  window.addEventListener("resize", fitGraph);

  readUrl();
  exprInput.value = state.expr;
  send();
})();
