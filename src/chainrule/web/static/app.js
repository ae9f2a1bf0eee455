// The chainrule explorer page: expression → POST /api/explain → graph, values, gradients,
// and the chain-rule products along each path from the output back to a variable; or a whole
// graph or trace served by the page's server (GET /api/graph): name scopes, statistics, paths.
// Layouts come from the server (Graphviz); the page only draws them.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const DEFAULT_EXPR = "(4*x+1)^2";
  const DEFAULT_VALUE = 1;
  const TYPING_DELAY_MS = 180;
  const NUMBER_DELAY_MS = 120;
  const MAX_PATHS_SHOWN = 64;
  const MARGIN = 12;
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
  // in forward order); variables keep their own names, the output is always f (as in f(x)),
  // and no letter repeats a variable's name or f.
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
    const outputName = "f" in variablesByName ? "out" : "f";
    let next = 0;
    for (const name of order) {
      let letter;
      do letter = letterName(next++); while (letter in variablesByName || letter === outputName);
      if (variableOfNode[name]) letters[name] = variableOfNode[name];
      else letters[name] = name === answer.output ? outputName : letter;
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
    const note = nonFiniteNote(current.nodes);
    if (note) resultBox.append(note);
  }

  // ∞ and NaN explained where they appear, in a learner's words.
  const NON_FINITE = {
    Infinity: "∞ (or −∞): the number grew beyond what a computer can hold, or a division by zero (1/0) or log(0) happened.",
    NaN: "NaN means “not a number”: the result is undefined, as for 0/0, ∞ − ∞, 0 × ∞ or the log or square root of a negative number. A NaN flows on into everything computed from it.",
  };

  function nonFiniteNote(nodes) {
    const seen = new Set();
    for (const node of nodes) {
      for (const x of [node.value, node.gradient]) {
        if (x === "NaN") seen.add("NaN");
        if (x === "Infinity" || x === "-Infinity") seen.add("Infinity");
      }
    }
    if (!seen.size) return null;
    const box = document.createElement("div");
    box.className = "nonfinite-note";
    for (const key of ["Infinity", "NaN"]) {
      if (!seen.has(key)) continue;
      const line = document.createElement("p");
      line.dataset.kind = key;
      line.textContent = NON_FINITE[key];
      box.append(line);
    }
    return box;
  }

  function bold(text) {
    const b = document.createElement("b");
    b.textContent = text;
    return b;
  }

  // -- graph drawing --------------------------------------------------------------------------
  function svgEl(tag, attributes = {}, text = null) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== null) element.textContent = text;
    return element;
  }

  // The layout comes from the server (Graphviz): a box per node, a spline per edge.
  function renderGraph() {
    drawLayout(current.layout, (item, layer) => {
      drawNode(current.nodeMap.get(item.id), item, layer);
    });
    applyHighlight();
  }

  function drawLayout(layout, drawItem) {
    const width = layout.width + 2 * MARGIN;
    const height = layout.height + 2 * MARGIN;
    svg.textContent = "";
    svg.classList.remove("stale");
    svg.setAttribute("viewBox", `${-MARGIN} ${-MARGIN} ${width} ${height}`);
    svg.dataset.width = String(width);
    svg.dataset.height = String(height);
    fitGraph();
    svg.append(arrowDefs());
    const frameLayer = svgEl("g", { class: "frames" });
    const edgeLayer = svgEl("g", { class: "edges" });
    const labelLayer = svgEl("g", { class: "edge-labels" });
    const nodeLayer = svgEl("g", { class: "nodes" });
    for (const cluster of layout.clusters) drawFrame(cluster, frameLayer);
    for (const edge of layout.edges) drawEdge(edge, edgeLayer, labelLayer);
    for (const item of layout.items) drawItem(item, nodeLayer);
    svg.append(frameLayer, edgeLayer, nodeLayer, labelLayer);
  }

  // Arrowheads: one marker for plain edges, one for highlighted ones.
  function arrowDefs() {
    const defs = svgEl("defs");
    for (const [id, cls] of [["arrow", "arrowhead"], ["arrow-hi", "arrowhead hi"]]) {
      const marker = svgEl("marker", {
        id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7",
        orient: "auto-start-reverse", markerUnits: "userSpaceOnUse",
      });
      marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", class: cls }));
      defs.append(marker);
    }
    return defs;
  }

  // An expanded name scope: a frame around its nodes, its name on top (click: collapse).
  function drawFrame(cluster, layer) {
    const group = svgEl("g", { class: "frame", "data-scope": cluster.scope });
    group.append(
      svgEl("rect", { x: cluster.x, y: cluster.y, width: cluster.w, height: cluster.h, rx: 8 }),
      svgEl("text", { x: cluster.label_x, y: cluster.label_y + 4, class: "frame-label", "text-anchor": "middle" }, `▾ ${cluster.scope.split("/").pop()}`),
      svgEl("title", {}, `name scope ${cluster.scope}: click its name to collapse it`),
    );
    group.querySelector("text").addEventListener("click", () => toggleScope(cluster.scope, false));
    layer.append(group);
  }

  // Shrink a wide graph to the panel (down to MIN_SCALE; wider ones scroll inside the panel).
  function fitGraph() {
    const width = Number(svg.dataset.width);
    const height = Number(svg.dataset.height);
    if (!width) return;
    const room = svg.parentElement.clientWidth;
    const scale = Math.min(1, Math.max(MIN_SCALE, room / width));
    svg.setAttribute("width", String(Math.round(width * scale)));
    svg.setAttribute("height", String(Math.round(height * scale)));
  }

  // The spline Graphviz drew, ending in an arrowhead at the consumer, and the local derivative
  // (where it is a number) at the label place Graphviz kept free for it.
  function drawEdge(edge, edgeLayer, labelLayer) {
    const title = edgeTitle(edge);
    const attributes = { class: "edge", "data-edge": `${edge.src}->${edge.dst}`, "data-edge-id": edge.id };
    const line = svgEl("g", { ...attributes, "data-part": "line" });
    if (!edge.flows) line.classList.add("no-flow");
    line.append(svgEl("path", { d: edge.path, "marker-end": "url(#arrow)" }), svgEl("title", {}, title));
    edgeLayer.append(line);
    if (edge.local_derivative === null || edge.local_derivative === undefined) return;
    const text = fmt(edge.local_derivative);
    const labelWidth = 12 + 7 * text.length;
    const mx = edge.label_x;
    const my = edge.label_y;
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

  function edgeTitle(edge) {
    if (edge.members.length > 1 || edge.src.startsWith("scope:") || edge.dst.startsWith("scope:")) {
      return `${edge.members.length} edge${edge.members.length === 1 ? "" : "s"} between ${shortName(edge.src)} and ${shortName(edge.dst)}`;
    }
    if (!current || !current.letters) return `${edge.src} → ${edge.dst}`;
    return `∂${current.letters[edge.dst]}/∂${current.letters[edge.src]} = ${fmt(edge.local_derivative)}`;
  }

  function shortName(id) {
    return id.startsWith("scope:") ? `scope ${id.slice(6)}` : id;
  }

  function drawNode(node, position, layer) {
    const width = position.w;
    const height = position.h;
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
    group.append(svgEl("rect", { width, height, rx: 10 }));
    if (!variable) group.append(svgEl("text", { class: "tag", x: 9, y: 18 }, current.letters[node.name]));
    if (kind === "op") {
      group.append(svgEl("text", { class: "op", x: width - 9, y: 17, "text-anchor": "end" }, node.op_type));
    }
    group.append(svgEl("text", { class: "sym", x: width / 2, y: 24, "text-anchor": "middle" }, symbolOf(node, variable)));
    group.append(valueLine("value", node.value, "val", 44));
    if (kind === "const") {
      const line = valueLine("grad", null, "grad", 59);
      line.classList.add("const-grad");
      line.append(svgEl("title", {}, constantGradientNote(node)));
      group.append(line);
    } else {
      group.append(valueLine("grad", node.gradient, "grad", 59));
    }
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

  // A constant's gradient is computed like any other, but nothing uses it: say so, on hover.
  function constantGradientNote(node) {
    const out = outputLetter();
    return (
      `∂${out}/∂(${node.label}) = ${fmt(node.gradient)}: how ${out} would change if this ` +
      "constant changed. A constant never changes (it is no variable), so backpropagation " +
      "passes this number on but nothing is updated with it."
    );
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
    for (const box of [resultBox, pathsBox, variablesBox]) box.classList.add("stale");
    writeUrl();
  }

  function hideError() {
    errorBox.hidden = true;
    delete errorBox.dataset.position;
    exprInput.classList.remove("invalid");
    exprInput.removeAttribute("aria-invalid");
    for (const box of [resultBox, pathsBox, variablesBox]) box.classList.remove("stale");
  }

  function showEmpty() {
    hideError();
    current = null;
    svg.textContent = "";
    resultBox.textContent = "";
    for (const stale of variablesBox.querySelectorAll(".var-row, .hint")) stale.remove();
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


  // -- a whole graph or trace (chainrule serve --trace FILE, cr.show) ---------------------------
  // The server holds the graph; the page asks for its layout with some name scopes open, the
  // details of a clicked node, and the paths a variable's gradient flows along.
  const graphState = { data: null, open: new Set(), selected: null, paths: null, node: null };
  const nodeCard = $("#node-card");
  const nodeBox = $("#node-details");
  const LEAF_KINDS = new Set(["placeholder", "variable"]);

  function startGraphMode(answer) {
    document.body.dataset.mode = "graph";
    for (const element of document.querySelectorAll("[data-expression-only]")) element.hidden = true;
    for (const element of document.querySelectorAll("[data-graph-only]")) element.hidden = false;
    $(".tagline").textContent =
      "Click a name scope to open it, a node for its value and gradient, a variable for the paths its gradient flows along.";
    showGraph(answer);
  }

  function showGraph(answer) {
    graphState.data = answer;
    graphState.open = new Set(answer.layout.expanded);
    current = null;
    drawLayout(answer.layout, drawGraphItem);
    renderGraphResult();
    renderGraphPaths();
    if (!graphState.node) {
      nodeBox.textContent = "";
      nodeBox.append(hint("Click a node to see its value and gradient: statistics, a histogram, and every number on demand."));
    }
    applyGraphHighlight();
    document.body.dataset.ready = "true";
  }

  async function loadGraph() {
    const params = new URLSearchParams();
    if (!graphState.open.size) params.append("open", "");
    for (const scope of graphState.open) params.append("open", scope);
    document.body.dataset.ready = "false";
    document.body.dataset.busy = "true";
    try {
      const response = await fetch(`/api/graph?${params}`);
      const answer = await response.json().catch(() => ({ error: response.statusText }));
      if (response.ok) showGraph(answer);
      else showGraphError(answer.error || `error ${response.status}`);
    } catch (err) {
      showGraphError(`cannot reach the explorer server (${err.message})`);
    } finally {
      document.body.dataset.busy = "false";
    }
  }

  function showGraphError(message) {
    resultBox.textContent = "";
    const line = document.createElement("p");
    line.className = "error";
    line.textContent = message;
    resultBox.append(line);
    document.body.dataset.ready = "true";
  }

  // Open a scope (its box becomes a frame around its nodes) or close it and every scope in it.
  function toggleScope(scope, open) {
    if (open) {
      graphState.open.add(scope);
    } else {
      for (const other of [...graphState.open]) {
        if (other === scope || other.startsWith(`${scope}/`)) graphState.open.delete(other);
      }
    }
    loadGraph();
  }

  function drawGraphItem(item, layer) {
    if (item.kind === "scope") drawScopeBox(item, layer);
    else drawGraphNode(graphState.data.nodes[item.id], item, layer);
  }

  function drawScopeBox(item, layer) {
    const group = svgEl("g", {
      class: "scope-box", "data-scope": item.name, transform: `translate(${item.x},${item.y})`,
    });
    group.append(
      svgEl("rect", { width: item.w, height: item.h, rx: 6 }),
      svgEl("text", { class: "scope-name", x: item.w / 2, y: 22, "text-anchor": "middle" }, item.name.split("/").pop()),
      svgEl("text", { class: "scope-count", x: item.w / 2, y: 40, "text-anchor": "middle" }, `${item.count} nodes · open`),
      svgEl("title", {}, `name scope ${item.name}: ${item.count} nodes. Click to open it.`),
    );
    group.addEventListener("click", () => toggleScope(item.name, true));
    layer.append(group);
  }

  function drawGraphNode(node, item, layer) {
    const kind = node.kind === "constant" ? "const" : LEAF_KINDS.has(node.kind) ? "variable" : "op";
    const classes = ["node", kind, "graph-node"];
    if (node.name === graphState.data.output) classes.push("output");
    const group = svgEl("g", {
      class: classes.join(" "), "data-node": node.name, "data-op": node.op_type,
      transform: `translate(${item.x},${item.y})`,
    });
    const short = node.name.split("/").pop();
    group.append(
      svgEl("rect", { width: item.w, height: item.h, rx: 10 }),
      svgEl("text", { class: "sym small", x: item.w / 2, y: 17, "text-anchor": "middle" }, clip(kind === "op" ? node.op_type : short, 17)),
      svgEl("text", { class: "tag", x: item.w / 2, y: 30, "text-anchor": "middle" }, clip(kind === "op" && short !== node.op_type ? short : shapeText(node.shape), 22)),
      statLine("value", node.value, node.value_stats, "val", 46, false),
      statLine("grad", node.gradient, node.gradient_stats, "grad", 60, true),
      svgEl("title", {}, `${node.op_type} '${node.name}'\nshape ${shapeText(node.shape)}, ${node.dtype || "?"}\nclick for details`),
    );
    group.addEventListener("click", () => selectGraphNode(node.name));
    layer.append(group);
  }

  function clip(text, length) {
    return text.length > length ? `${text.slice(0, length - 1)}…` : text;
  }

  function shapeText(shape) {
    if (shape === null || shape === undefined) return "shape ?";
    if (!shape.length) return "scalar";
    return shape.map((d) => (d < 0 ? "?" : String(d))).join("×");
  }

  // One number for a tensor: the mean for values, the norm for gradients (its size).
  function statLine(key, value, stats, cls, y, isGradient) {
    const text = svgEl("text", { x: 10, y });
    let shown = "—";
    let label = key;
    if (stats && stats.size > 1) {
      label = isGradient ? "‖grad‖" : "mean";
      shown = fmt(isGradient ? stats.norm : stats.mean);
    } else if (value !== null && value !== undefined) {
      shown = fmt(Array.isArray(value) ? value.flat(Infinity)[0] : value);
    }
    text.append(svgEl("tspan", { class: "key" }, `${label} `), svgEl("tspan", { class: cls }, shown));
    return text;
  }

  function renderGraphResult() {
    const data = graphState.data;
    resultBox.textContent = "";
    const title = document.createElement("div");
    title.className = "result-title";
    title.textContent = data.title;
    const value = document.createElement("div");
    value.className = "result-value";
    value.append(`${data.output.split("/").pop()} = `, bold(data.value === null ? "—" : fmt(Array.isArray(data.value) ? "array" : data.value)));
    const count = document.createElement("p");
    count.className = "hint";
    const shown = data.layout.items.length;
    count.textContent = `${data.node_count} nodes; ${shown} boxes shown (closed name scopes stand for their nodes).`;
    resultBox.append(title, value, count);
  }

  async function selectGraphNode(name) {
    graphState.node = name;
    const node = graphState.data.nodes[name];
    renderNodeCard(node, null);
    const isVariable = LEAF_KINDS.has(node.kind);
    graphState.selected = isVariable ? name : null;
    graphState.paths = null;
    if (isVariable) {
      const response = await fetch(`/api/paths?${new URLSearchParams({ variable: name })}`);
      if (response.ok) graphState.paths = await response.json();
    }
    renderGraphPaths();
    applyGraphHighlight();
  }

  function renderNodeCard(node, full) {
    nodeCard.hidden = false;
    nodeBox.textContent = "";
    nodeBox.dataset.node = node.name;
    const head = document.createElement("h3");
    head.textContent = node.name;
    const facts = document.createElement("p");
    facts.className = "node-facts";
    facts.textContent = `${node.op_type} (${node.kind}) · shape ${shapeText(node.shape)} · ${node.dtype || "?"}${node.source ? ` · ${node.source}` : ""}`;
    nodeBox.append(head, facts);
    for (const key of ["value", "gradient"]) nodeBox.append(statsBlock(node, key, full));
    if (node.iteration_count !== undefined) showIterations(node.name);
  }

  // A loop's variables after each iteration and the output's gradient with respect to them,
  // asked of the server when the loop's node is clicked (the layout leaves them out).
  async function showIterations(name) {
    const block = document.createElement("div");
    block.className = "stats-block iterations";
    const title = document.createElement("h4");
    title.textContent = "loop iterations (backpropagation through time)";
    block.append(title, hint("The loop's variables after each iteration, and the output's gradient with respect to them (∂output/∂variables): how much each iteration still matters to the output."));
    nodeBox.append(block);
    const response = await fetch(`/api/node?${new URLSearchParams({ name })}`);
    if (!response.ok || nodeBox.dataset.node !== name) return;
    block.append(iterationTable(await response.json()));
  }

  function iterationTable(node) {
    const table = document.createElement("table");
    table.className = "iterations";
    const row = (cells, tag) => {
      const tr = document.createElement("tr");
      for (const text of cells) {
        const cell = document.createElement(tag);
        cell.textContent = text;
        tr.append(cell);
      }
      return tr;
    };
    table.append(row(["iteration", "loop variables", "gradient"], "th"));
    const rows = node.iterations;
    const gradients = node.iteration_gradients || rows.map((r) => r.map(() => null));
    const count = node.iteration_count;
    rows.forEach((values, k) => {
      const last = k === rows.length - 1;
      if (last && k < count) {
        const gap = row([`… iterations ${k} to ${count - 1} are not kept in the file …`], "td");
        gap.firstChild.colSpan = 3;
        gap.className = "gap";
        table.append(gap);
      }
      const tr = row([`after ${last ? count : k}`, tupleText(values, "…"), tupleText(gradients[k], "–")], "td");
      tr.dataset.iteration = String(last ? count : k);
      table.append(tr);
    });
    return table;
  }

  // One row's entries: numbers as everywhere on the page, arrays by their shape and first
  // numbers, null as ``missing`` (no gradient, or too many numbers to keep).
  function tupleText(entries, missing) {
    const text = entries.map((x) => (x === null ? missing : entryText(x)));
    return text.length === 1 ? text[0] : `(${text.join(", ")})`;
  }

  function entryText(x) {
    if (!Array.isArray(x)) return fmt(x);
    const shape = [];
    for (let inner = x; Array.isArray(inner); inner = inner[0]) shape.push(inner.length);
    const flat = x.flat(Infinity);
    if (shape.length === 1 && flat.length <= 4) return `[${flat.map(fmt).join(" ")}]`;
    return `${shape.join("×")}: [${flat.slice(0, 3).map(fmt).join(" ")}${flat.length > 3 ? " …" : ""}]`;
  }

  function statsBlock(node, key, full) {
    const block = document.createElement("div");
    block.className = `stats-block ${key}`;
    const stats = node[`${key}_stats`];
    const title = document.createElement("h4");
    title.textContent = key === "value" ? "value (forward pass)" : "gradient ∂output/∂node (backward pass)";
    block.append(title);
    if (!stats) {
      block.append(hint(key === "gradient" ? "No gradient flows into this node." : "Not computed: this graph has no values."));
      return block;
    }
    if (stats.size === 1) {
      const one = document.createElement("div");
      one.className = "stat-one";
      one.append(bold(fmt(node[key] ?? stats.mean)));
      block.append(one);
      return block;
    }
    const table = document.createElement("table");
    table.className = "stats";
    const row = (name, x) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = name;
      const td = document.createElement("td");
      td.textContent = x;
      tr.append(th, td);
      table.append(tr);
    };
    row("mean", fmt(stats.mean));
    row("std", fmt(stats.std));
    row("min … max", `${fmt(stats.min)} … ${fmt(stats.max)}`);
    row("norm", fmt(stats.norm));
    row("zeros", `${Math.round(stats.zero_fraction * 100)}%`);
    if (stats.nonfinite) row("NaN or ∞", String(stats.nonfinite));
    block.append(table, histogram(stats));
    const button = document.createElement("button");
    button.type = "button";
    button.className = "show-array";
    button.dataset.which = key;
    button.textContent = `Show all ${stats.size} numbers`;
    button.addEventListener("click", () => showArray(node.name, key, block));
    block.append(button);
    if (full && full.name === node.name) block.append(arrayText(full, key, stats));
    return block;
  }

  function hint(text) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = text;
    return p;
  }

  function histogram(stats) {
    const width = 200;
    const height = 40;
    const chart = svgEl("svg", { class: "histogram", width, height, viewBox: `0 0 ${width} ${height + 12}` });
    const top = Math.max(...stats.histogram, 1);
    const bin = width / stats.histogram.length;
    stats.histogram.forEach((count, i) => {
      if (!count) return;
      const h = (height * count) / top;
      chart.append(svgEl("rect", { x: i * bin + 0.5, y: height - h, width: bin - 1, height: h }, null));
    });
    chart.append(
      svgEl("text", { x: 0, y: height + 11, class: "axis" }, fmt(stats.low)),
      svgEl("text", { x: width, y: height + 11, class: "axis", "text-anchor": "end" }, fmt(stats.high)),
      svgEl("title", {}, `how the ${stats.size} numbers spread from ${fmt(stats.low)} to ${fmt(stats.high)}`),
    );
    return chart;
  }

  async function showArray(name, key, block) {
    const response = await fetch(`/api/node?${new URLSearchParams({ name })}`);
    if (!response.ok) return;
    const full = await response.json();
    const old = block.querySelector(".array");
    if (old) old.remove();
    block.append(arrayText(full, key, full[`${key}_stats`]));
  }

  function arrayText(full, key, stats) {
    const pre = document.createElement("pre");
    pre.className = "array";
    if (full[key] === null || full[key] === undefined) {
      pre.textContent = `${stats.size} numbers are too many to keep in a trace file; the statistics above describe them.`;
      return pre;
    }
    const rows = (x) => (Array.isArray(x) && Array.isArray(x[0]) ? x.map((r) => rows(r)).join("\n") : Array.isArray(x) ? x.map(fmt).join("  ") : fmt(x));
    pre.textContent = rows(full[key]);
    return pre;
  }

  function renderGraphPaths() {
    pathsBox.textContent = "";
    if (!graphState.paths) {
      pathsBox.append(hint("Click a variable or placeholder (a blue box) to light up the paths its gradient flows along from the output."));
      return;
    }
    const { variable, nodes, edges } = graphState.paths;
    const heading = document.createElement("h3");
    heading.id = "path-summary";
    heading.textContent = edges.length
      ? `∂${graphState.data.output}/∂${variable} flows back along ${edges.length} edges through ${nodes.length} nodes`
      : `no gradient flows from ${graphState.data.output} back to ${variable}`;
    pathsBox.append(heading);
    const note = hint("On every edge the gradient is multiplied by the local derivative: the chain rule, for tensors as for numbers.");
    pathsBox.append(note);
  }

  function applyGraphHighlight() {
    for (const element of svg.querySelectorAll(".highlighted, .selected")) {
      element.classList.remove("highlighted", "selected");
    }
    const layout = graphState.data.layout;
    const paths = graphState.paths;
    svg.classList.toggle("has-selection", Boolean(paths));
    if (graphState.node) {
      const element = svg.querySelector(`[data-node="${CSS.escape(graphState.node)}"]`);
      if (element) element.classList.add("selected");
    }
    if (!paths) return;
    const items = new Set(paths.nodes.map((name) => layout.item_of[name]));
    const edges = new Set(paths.edges);
    for (const item of items) {
      const id = item.startsWith("scope:") ? `[data-scope="${CSS.escape(item.slice(6))}"].scope-box` : `[data-node="${CSS.escape(item)}"]`;
      for (const element of svg.querySelectorAll(id)) element.classList.add("highlighted");
    }
    for (const edge of layout.edges) {
      if (edge.members.some((member) => edges.has(member))) {
        for (const element of svg.querySelectorAll(`[data-edge-id="${CSS.escape(edge.id)}"]`)) element.classList.add("highlighted");
      }
    }
  }

  // The page serves a graph when the server holds one, else the expression explorer.
  async function start() {
    readUrl();
    let answer = null;
    try {
      const response = await fetch("/api/graph");
      if (response.ok) answer = await response.json();
    } catch {
      answer = null;
    }
    if (answer) {
      startGraphMode(answer);
      return;
    }
    exprInput.value = state.expr;
    send();
  }

  window.addEventListener("resize", fitGraph);

  start();
})();
