// Headwater lineage viewer. Every text from the catalog reaches the DOM through textContent or a
// property, never as HTML: names and notes come from users and from OpenLineage events.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("hw-data").textContent);
  var options = JSON.parse(document.getElementById("hw-options").textContent);
  var details = data.details;
  var count = data.nodes.length;
  var out = [], inc = [];
  for (var i = 0; i < count; i++) { out.push([]); inc.push([]); }
  data.edges.forEach(function (e) { out[e.from].push(e.to); inc[e.to].push(e.from); });

  var originalNodes = data.nodes.map(function (n) { return { id: n.id, color: n.color, borderWidth: n.borderWidth }; });
  var originalEdges = data.edges.map(function (e, k) { return { id: k, color: null, width: e.width }; });
  data.edges.forEach(function (e, k) { e.id = k; });

  var nodes = new vis.DataSet(data.nodes);
  var edges = new vis.DataSet(data.edges);
  var container = document.getElementById("mynetwork");
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, options);
  window.network = network; // as pyvis pages do: users' scripts and tests reach the vis.js Network here

  var state = { drawnAt: null, highlighted: [], mode: null, selected: null, selectedIndex: null, finding: null,
                columnPath: [], columnsShown: false };
  window.headwater = state;
  network.once("afterDrawing", function () {
    state.drawnAt = performance.now();
    document.body.setAttribute("data-drawn", "true");
  });

  // --- hover: a tooltip built from text nodes ---------------------------------------------------
  var tooltip = document.getElementById("hw-tooltip");

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function fillTooltip(index) {
    var d = details[index];
    tooltip.replaceChildren();
    tooltip.appendChild(el("h3", d.group ? data.nodes[index].label : d.key));
    tooltip.appendChild(el("p", d.kind + (d.group ? " group" : "") + " · " + data.states[d.state].label, "hw-kind"));
    if (d.fields.length) {
      var list = el("dl");
      d.fields.forEach(function (pair) { list.appendChild(el("dt", pair[0])); list.appendChild(el("dd", pair[1])); });
      tooltip.appendChild(list);
    }
    if (d.findings.length) {
      tooltip.appendChild(el("strong", "Findings"));
      var items = el("ul");
      d.findings.forEach(function (f) {
        var item = el("li");
        item.appendChild(el("span", f.severity, "hw-sev hw-sev-" + f.severity));
        item.appendChild(document.createTextNode(" " + f.title + " (" + f.condition +
          (f.mode === "direct" ? "" : ", " + f.mode) + (f.root === d.key ? "" : ", from " + f.root) +
          (f.lineage ? "; column lineage: " + f.lineage : "") + ")"));
        item.appendChild(el("p", data.texts[f.note], "hw-note"));
        item.appendChild(el("p", f.citations.map(function (c) { return data.texts[c]; }).join("; "), "hw-cite"));
        items.appendChild(item);
      });
      tooltip.appendChild(items);
      if (d.more > 0) tooltip.appendChild(el("p", "and " + d.more + " more finding" + (d.more === 1 ? "" : "s")));
    }
  }

  network.on("hoverNode", function (params) {
    fillTooltip(params.node);
    var rect = container.getBoundingClientRect();
    var x = rect.left + params.pointer.DOM.x + 14, y = rect.top + params.pointer.DOM.y + 14;
    tooltip.hidden = false;
    var box = tooltip.getBoundingClientRect();
    if (x + box.width > window.innerWidth) x = Math.max(0, x - box.width - 28);
    if (y + box.height > window.innerHeight) y = Math.max(0, window.innerHeight - box.height - 4);
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  });
  network.on("blurNode", function () { tooltip.hidden = true; });
  network.on("dragStart", function () { tooltip.hidden = true; });
  container.addEventListener("mouseleave", function () { tooltip.hidden = true; });

  // --- selection: upstream and downstream, or every path from a compromised source to models ----
  function reach(start, next, allowed) {
    var seen = new Set(start), stack = start.slice();
    while (stack.length) {
      var n = stack.pop();
      next[n].forEach(function (m) {
        if (!seen.has(m) && (!allowed || allowed.has(m))) { seen.add(m); stack.push(m); }
      });
    }
    return seen;
  }

  function highlight(index) {
    var d = details[index], lit, mode;
    var below = reach([index], out);
    if (d.state === "compromised" && d.kind === "dataset") {
      var models = [];
      below.forEach(function (n) { if (details[n].kind === "model") models.push(n); });
      lit = reach(models, inc, below); // on a path from the source to a model it reaches
      lit.add(index);
      mode = "paths";
    } else {
      lit = reach([index], inc);
      below.forEach(function (n) { lit.add(n); });
      mode = "lineage";
    }
    nodes.update(originalNodes.map(function (n) {
      return lit.has(n.id) ? n : { id: n.id, color: { background: data.dimmed, border: data.dimmed }, borderWidth: 1 };
    }));
    var colour = mode === "paths" ? data.states.compromised.colour : "#263238";
    edges.update(data.edges.map(function (e) {
      var on = lit.has(e.from) && lit.has(e.to) && (mode === "lineage" || e.kind !== "produces");
      return { id: e.id, color: { color: on ? colour : data.dimmed, opacity: on ? 1 : 0.5 }, width: on ? Math.max(e.width, 2.5) : e.width };
    }));
    state.selected = details[index].key;
    state.selectedIndex = index;
    state.mode = mode;
    showChanges(index);
    showNode(index);
    state.highlighted = Array.from(lit, function (n) { return details[n].key; }).sort();
    var reached = state.highlighted.length - 1;
    document.getElementById("hw-selection").textContent = (mode === "paths"
      ? "Compromised source: every path to the " + models.length + " model" + (models.length === 1 ? "" : "s") + " it reaches is highlighted ("
      : "Upstream and downstream highlighted (") + reached + " node" + (reached === 1 ? "" : "s") + ").";
  }

  // --- side panel: the selected node's recent changes, one line each, text only --------------------
  var changesPanel = document.getElementById("hw-changes");

  function showChanges(index) {
    var changes = details[index].changes || [];
    changesPanel.replaceChildren();
    changesPanel.hidden = !changes.length;
    if (!changes.length) return;
    changesPanel.appendChild(el("h3", "Recent changes"));
    var items = el("ul");
    changes.forEach(function (c) { // [moment, actor, source, op, fields]: the first three index data.texts
      items.appendChild(el("li", data.texts[c[0]] + " \u00b7 " + data.texts[c[1]] + " via " + data.texts[c[2]] +
        " \u00b7 " + c[3] + (c[4].length ? ": " + c[4].join(", ") : "")));
    });
    changesPanel.appendChild(items);
  }

  // --- side panel: a dataset's columns, its findings, and a finding's column paths ----------------
  var nodePanel = document.getElementById("hw-node");
  var columnsBox = document.getElementById("hw-columns");
  var columnsToggle = document.getElementById("hw-columns-toggle");
  var columnsList = document.getElementById("hw-columns-list");
  var findingsBox = document.getElementById("hw-node-findings");
  var findingsList = document.getElementById("hw-findings-list");
  var pathBox = document.getElementById("hw-column-path");
  var PATH_COLOUR = "#ad1457";

  function stepLabel(step) { // [view index or null, node (data.texts), column: '' whole dataset, null model]
    var name = step[0] !== null ? data.nodes[step[0]].label : data.texts[step[1]];
    if (step[2] === null) return name;
    return step[2] === "" ? name + " (whole dataset)" : name + " \u203a " + step[2];
  }

  function setColumnsShown(shown) {
    var total = columnsList.children.length;
    columnsList.hidden = !shown;
    columnsToggle.setAttribute("aria-expanded", shown ? "true" : "false");
    columnsToggle.textContent = (shown ? "Hide " : "Show ") + total + " column" + (total === 1 ? "" : "s");
    state.columnsShown = shown;
  }

  function showNode(index) {
    var d = details[index], columns = d.columns || [], findings = d.findings || [];
    columnsList.replaceChildren(); findingsList.replaceChildren(); pathBox.replaceChildren();
    pathBox.hidden = true;
    state.finding = null; state.columnPath = [];
    columns.forEach(function (c) { // [name, type, classifications, sensitive, sources]: texts index data.texts
      var item = el("li", null, c[3] ? "hw-column hw-sensitive" : "hw-column");
      item.appendChild(el("span", c[0], "hw-column-name"));
      if (c[1]) item.appendChild(el("span", c[1], "hw-column-type"));
      if (c[2].length) item.appendChild(el("span", c[2].map(function (t) { return data.texts[t]; }).join(", "), "hw-column-classes"));
      if (c[3]) item.appendChild(el("span", "sensitive", "hw-badge"));
      if (c[4] && c[4].length) item.appendChild(el("span", "from " + c[4].map(function (t) { return data.texts[t]; }).join(", "), "hw-column-from"));
      columnsList.appendChild(item);
    });
    columnsBox.hidden = !columns.length;
    setColumnsShown(false);
    findings.forEach(function (f, k) {
      var item = el("li"), button = el("button", null, "hw-finding");
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.appendChild(el("span", f.severity, "hw-sev hw-sev-" + f.severity));
      button.appendChild(document.createTextNode(" " + f.title + " (" + f.condition + ")"));
      if (f.lineage) button.appendChild(el("span", "column lineage: " + f.lineage +
        (f.paths.length ? " \u00b7 " + f.paths.length + " column path" + (f.paths.length === 1 ? "" : "s") : ""), "hw-lineage"));
      button.addEventListener("click", function () { selectFinding(k); });
      item.appendChild(button);
      findingsList.appendChild(item);
    });
    findingsBox.hidden = !findings.length;
    nodePanel.hidden = !columns.length && !findings.length;
  }

  function selectFinding(k) {
    var index = state.selectedIndex;
    if (index === null || index === undefined) return null;
    var f = details[index].findings[k];
    Array.prototype.forEach.call(findingsList.querySelectorAll("button"), function (b, j) {
      b.setAttribute("aria-pressed", j === k ? "true" : "false");
    });
    state.finding = k;
    pathBox.replaceChildren();
    pathBox.hidden = false;
    if (!f.paths.length) {
      pathBox.appendChild(el("p", f.lineage === "assumed"
        ? "Column lineage incomplete: assumed. Some hop has no column lineage, so the table-level rule applies and no column path can be shown."
        : "No column path: this finding is not carried by classified columns."));
      state.columnPath = [];
      return [];
    }
    pathBox.appendChild(el("h3", f.title + ": column path" + (f.paths.length === 1 ? "" : "s")));
    var lit = new Set([index]), joined = new Set();
    f.paths.forEach(function (path) {
      var steps = el("ol", null, "hw-path");
      path.forEach(function (step, s) {
        steps.appendChild(el("li", stepLabel(step)));
        if (step[0] !== null) lit.add(step[0]);
        var next = path[s + 1];
        if (next && step[0] !== null && next[0] !== null) joined.add(step[0] + ">" + next[0]);
      });
      pathBox.appendChild(steps);
    });
    nodes.update(originalNodes.map(function (n) {
      return lit.has(n.id) ? n : { id: n.id, color: { background: data.dimmed, border: data.dimmed }, borderWidth: 1 };
    }));
    edges.update(data.edges.map(function (e) {
      var on = joined.has(e.from + ">" + e.to);
      var colour = on ? PATH_COLOUR : data.dimmed; // the selected node's own edges take `highlight`
      return { id: e.id, color: { color: colour, highlight: colour, opacity: on ? 1 : 0.5 }, width: on ? Math.max(e.width, 3) : e.width };
    }));
    if (pathBox.scrollIntoView) pathBox.scrollIntoView({ block: "nearest" });
    state.mode = "columns";
    state.columnPath = f.paths.map(function (path) {
      return path.map(function (step) { return [data.texts[step[1]], step[2]]; });
    });
    state.highlighted = Array.from(lit, function (n) { return details[n].key; }).sort();
    document.getElementById("hw-selection").textContent = "Column paths of \u201c" + f.title + "\u201d highlighted (" +
      f.paths.length + " path" + (f.paths.length === 1 ? "" : "s") + ", " + lit.size + " node" + (lit.size === 1 ? "" : "s") + ").";
    return state.columnPath;
  }

  columnsToggle.addEventListener("click", function () { setColumnsShown(columnsList.hidden); });
  state.showColumns = function (shown) { setColumnsShown(shown === undefined ? columnsList.hidden : !!shown); return state.columnsShown; };
  state.selectFinding = selectFinding;

  function clear() {
    changesPanel.replaceChildren();
    changesPanel.hidden = true;
    nodePanel.hidden = true;
    columnsList.replaceChildren(); findingsList.replaceChildren(); pathBox.replaceChildren();
    state.selectedIndex = null; state.finding = null; state.columnPath = []; state.columnsShown = false;
    nodes.update(originalNodes);
    edges.update(originalEdges);
    state.selected = null; state.mode = null; state.highlighted = [];
    document.getElementById("hw-selection").textContent = "";
  }

  network.on("selectNode", function (params) { highlight(params.nodes[0]); });
  network.on("deselectNode", function (params) { if (!params.nodes.length) clear(); });

  // --- search ------------------------------------------------------------------------------------
  var names = document.getElementById("hw-names");
  var byName = new Map();
  details.forEach(function (d, k) {
    var label = data.nodes[k].label;
    [d.key, label, d.namespace + ":" + label].concat(d.aliases || []).forEach(function (name) {
      var key = String(name).toLowerCase();
      if (!byName.has(key)) byName.set(key, k);
    });
    var option = document.createElement("option");
    option.value = d.group ? label : d.namespace + ":" + label;
    names.appendChild(option);
  });

  function find(text) {
    var wanted = text.trim().toLowerCase();
    if (!wanted) return null;
    if (byName.has(wanted)) return byName.get(wanted);
    for (var k = 0; k < count; k++) {
      if (details[k].key.toLowerCase().indexOf(wanted) !== -1) return k;
    }
    return null;
  }

  function select(text) {
    var status = document.getElementById("hw-search-status");
    var k = find(text);
    if (k === null) { status.textContent = "no node matches \u201c" + text + "\u201d"; return null; }
    network.selectNodes([k]);
    network.focus(k, { scale: 1.2, animation: false });
    highlight(k);
    status.textContent = "found " + details[k].key;
    return details[k].key;
  }
  state.select = select;
  state.clear = clear;

  document.getElementById("hw-search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    select(document.getElementById("hw-search").value);
  });
  document.getElementById("hw-clear").addEventListener("click", function () {
    network.unselectAll(); clear();
    document.getElementById("hw-search-status").textContent = "";
  });
})();
