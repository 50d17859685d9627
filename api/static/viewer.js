/* ponmodel network viewer.
 *
 * Draws the traces the server computed (ponmodel.topology.viewer): no build step, no external
 * request. Data comes per zone and per layer from /viewer/data/{zone}/{layer}; in the file
 * written by `ponmodel view` it is embedded (window.PONMODEL_EMBEDDED) and trace / impact,
 * which need the server, say so.
 *
 * window.ponViewer exposes the state for tests: ready zone, first paint time, last results.
 */
(function () {
  "use strict";

  var EMBED = window.PONMODEL_EMBEDDED || null;
  var CONFIG = {
    displaylogo: false, responsive: true, scrollZoom: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]
  };
  var FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif";
  var HIGHLIGHT = "#7c3aed";
  var DARK = "#111827";
  var GLYPHS = {
    "square": "\u25A0", "circle": "\u25CF", "triangle-up": "\u25B2", "star": "\u2605",
    "diamond": "\u25C6", "hexagon": "\u2B22", "circle-open": "\u25CB", "square-open": "\u25A1",
    "cross-thin-open": "+"
  };

  var state = {
    zone: null, operator: "", zones: [], operators: [], physical: null, pon: null,
    headlines: null, loadId: 0, nodes: {}, ducts: {}, structures: {}
  };
  var viewer = window.ponViewer = {
    state: state, ready: null, firstPaintMs: null, paints: {}, lastTrace: null,
    lastImpact: null, errors: [], marks: {script: performance.now()}
  };

  function mark(name) {
    if (!(name in viewer.marks)) { viewer.marks[name] = performance.now(); }
  }

  function $(id) { return document.getElementById(id); }

  // plotly.js is the next script of the page: every synchronous script has run at
  // DOMContentLoaded, so drawing waits for it while the data is already on its way.
  var plotlyReady = new Promise(function (resolve) {
    if (document.readyState !== "loading") { resolve(); return; }
    document.addEventListener("DOMContentLoaded", function () { resolve(); });
  }).then(function () { mark("plotly"); });
  var prefetched = {};

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c];
    });
  }

  function fold(text) {
    return String(text || "").replace(/\u0110/g, "D").replace(/\u0111/g, "d")
      .normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function fmt(v) { return (Math.round(v * 10) / 10).toFixed(1).replace("-", "\u2212"); }

  function setStatus(text) { $("status").textContent = text; }

  // An API key, when the server asks for one (not on the server's own machine): given
  // once as /viewer#key=pm_..., or typed when a read answers 401; kept for this tab only.
  function apiKey() {
    var m = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
    if (m) {
      sessionStorage.setItem("ponmodel-key", decodeURIComponent(m[1]));
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return sessionStorage.getItem("ponmodel-key");
  }

  var askedForKey = false;  // one prompt per page, however many reads answer 401

  function getJSON(url, retried) {
    var key = apiKey();
    var headers = key ? { "Authorization": "Bearer " + key } : {};
    return fetch(url, { headers: headers }).then(function (r) {
      if (r.status === 401 && !retried) {
        if (!askedForKey) {
          askedForKey = true;
          var typed = window.prompt("This server needs an API key (pm_\u2026):");
          if (typed) { sessionStorage.setItem("ponmodel-key", typed.trim()); }
        }
        if (apiKey() && apiKey() !== key) { return getJSON(url, true); }
      }
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.detail || body.title || (r.status + " " + r.statusText));
        });
      }
      return r.json();
    });
  }

  function query() {
    return state.operator ? "?operator=" + encodeURIComponent(state.operator) : "";
  }

  // ------------------------------------------------------------------ drawing

  function baseLayout(extra) {
    var layout = {
      margin: {l: 64, r: 12, t: 8, b: 40}, hovermode: "closest", dragmode: "pan",
      paper_bgcolor: "#ffffff", plot_bgcolor: "#fbfbf9", showlegend: false,
      font: {family: FONT, size: 12, color: "#1f2937"},
      hoverlabel: {align: "left", font: {family: FONT, size: 12, color: "#111827"},
                   bgcolor: "rgba(255,255,255,0.96)", bordercolor: "#475569"},
      uirevision: state.zone + "|" + state.operator
    };
    Object.keys(extra || {}).forEach(function (k) { layout[k] = extra[k]; });
    return layout;
  }

  function highlightTraces(layer, data) {
    var gl = data.traces.length ? data.traces[0].type : "scatter";
    var empty = function (name, mode, extra) {
      var t = {type: gl, mode: mode, name: name, x: [], y: [], hoverinfo: "skip",
               showlegend: false, meta: {role: "highlight"}};
      Object.keys(extra).forEach(function (k) { t[k] = extra[k]; });
      return t;
    };
    if (layer === "physical") {
      return [
        empty("impacted ducts", "lines", {line: {color: DARK, width: 7}}),
        empty("trace ducts", "lines", {line: {color: HIGHLIGHT, width: 6}}),
        empty("impacted structures", "markers",
              {marker: {color: DARK, size: 11, symbol: "x", line: {color: "#fff", width: 1}}}),
        empty("selected", "markers",
              {marker: {color: HIGHLIGHT, size: 22, symbol: "circle-open", line: {width: 3}}})
      ];
    }
    return [
      empty("trace path", "lines",
            {line: {color: HIGHLIGHT, width: 5}}),
      empty("impacted ONTs", "markers",
            {marker: {color: DARK, size: 11, symbol: "circle", line: {color: "#fff", width: 1}}}),
      empty("selected", "markers",
            {marker: {color: HIGHLIGHT, size: 22, symbol: "circle-open", line: {width: 3}}})
    ];
  }

  function onFirstPaint(layer, gd) {
    var done = false;
    gd.on("plotly_afterplot", function () {
      if (done) { return; }
      done = true;
      var ms = performance.now();
      viewer.paints[layer] = ms;
      if (viewer.firstPaintMs === null) {
        viewer.firstPaintMs = ms;
        if (performance.mark) { performance.mark("ponmodel-first-paint"); }
      }
    });
  }

  function draw(layer, data) {
    return plotlyReady.then(function () { return drawNow(layer, data); });
  }

  function drawNow(layer, data) {
    mark("draw-" + layer);
    var gd = $(layer);
    var extra = JSON.parse(JSON.stringify(data.layout || {}));
    var traces = data.traces.concat(highlightTraces(layer, data));
    var done = Plotly.react(gd, traces, baseLayout(extra), CONFIG);
    // Plotly makes the div an event emitter synchronously and emits plotly_afterplot from a
    // promise callback: listeners added right after the call see the first afterplot.
    if (!gd.dataset.wired && typeof gd.on === "function") {
      gd.dataset.wired = "1";
      onFirstPaint(layer, gd);
      gd.on("plotly_click", function (ev) { onClick(layer, ev); });
    }
    return done;
  }

  function traceIndex(gd, name) {
    for (var i = 0; i < gd.data.length; i++) {
      if (gd.data[i].name === name) { return i; }
    }
    return -1;
  }

  function setHighlight(layer, name, xs, ys) {
    var gd = $(layer);
    var i = traceIndex(gd, name);
    if (i < 0) { return Promise.resolve(); }
    return Plotly.restyle(gd, {x: [xs], y: [ys]}, [i]);
  }

  function clearHighlights() {
    var jobs = [];
    ["impacted ducts", "trace ducts", "impacted structures", "selected"].forEach(function (n) {
      jobs.push(setHighlight("physical", n, [], []));
    });
    ["trace path", "impacted ONTs", "selected"].forEach(function (n) {
      jobs.push(setHighlight("pon", n, [], []));
    });
    return Promise.all(jobs);
  }

  function ductLines(ids) {
    var xs = [], ys = [];
    ids.forEach(function (id) {
      var e = state.ducts[id];
      if (e) { xs.push(e[0], e[2], null); ys.push(e[1], e[3], null); }
    });
    return [xs, ys];
  }

  function points(ids, table) {
    var xs = [], ys = [];
    ids.forEach(function (id) {
      var p = table[id];
      if (p) { xs.push(p[0]); ys.push(p[1]); }
    });
    return [xs, ys];
  }

  // the trace follows the tree's own elbows: down from the parent, across, down to the child
  function elbows(path) {
    var xs = path[0], ys = path[1];
    if (!xs.length) { return path; }
    var ox = [xs[0]], oy = [ys[0]];
    for (var i = 1; i < xs.length; i++) {
      var mid = ys[i - 1] - 0.5;
      ox.push(xs[i - 1], xs[i], xs[i]);
      oy.push(mid, mid, ys[i]);
    }
    return [ox, oy];
  }

  function focus(layer, id) {
    var table = layer === "pon" ? state.nodes : state.structures;
    var p = table[id];
    if (!p && layer === "physical" && state.ducts[id]) {
      var e = state.ducts[id];
      p = [(e[0] + e[2]) / 2, (e[1] + e[3]) / 2];
    }
    if (!p) { return Promise.resolve(); }
    setHighlight(layer, "selected", [p[0]], [p[1]]);
    if (layer === "pon") {
      return Plotly.relayout($(layer), {"xaxis.range": [p[0] - 40, p[0] + 40]});
    }
    return Plotly.relayout($(layer), {"xaxis.range": [p[0] - 500, p[0] + 500],
                                      "yaxis.range": [p[1] - 350, p[1] + 350]});
  }

  // ------------------------------------------------------------------ side panel

  function renderHeadlines(h) {
    $("zone-name").textContent = h.name + (h.operator ? " \u00b7 " + h.operator : "");
    $("headlines").innerHTML = h.cards.map(function (c) {
      return "<div class=\"card state-" + esc(c.state) + "\" data-key=\"" + esc(c.key) + "\">" +
        "<div class=\"value\">" + esc(c.value) + "</div><div class=\"label\">" + esc(c.label) +
        "</div><div class=\"detail\">" + esc(c.detail) + "</div></div>";
    }).join("");
  }

  function renderLegend(target, title, items) {
    $(target).innerHTML = "<div class=\"group\"><b>" + esc(title) + "</b>" +
      items.map(function (it) {
        var mark = it.line
          ? "<span class=\"line\" style=\"border-top-width:" + Math.max(it.line, 1) +
            "px;border-top-color:" + esc(it.colour) + ";border-top-style:" +
            (it.dash && it.dash !== "solid" ? "dashed" : "solid") + "\"></span>"
          : "<span class=\"swatch\" style=\"color:" + esc(it.colour) + "\">" +
            esc(GLYPHS[it.symbol] || "\u25CF") + "</span>";
        return "<div class=\"item\">" + mark + "<span>" + esc(it.label) + "</span></div>";
      }).join("") + "</div>";
  }

  function showDetails(html) { $("details-body").innerHTML = html; }

  function hoverOf(layer, id) {
    var data = layer === "pon" ? state.pon : state.physical;
    if (!data) { return null; }
    for (var t = 0; t < data.traces.length; t++) {
      var tr = data.traces[t];
      if (!tr.customdata) { continue; }
      var i = tr.customdata.indexOf(id);
      if (i >= 0) { return tr.hovertext[i]; }
    }
    return null;
  }

  function hoverBlock(layer, id) {
    var text = hoverOf(layer, id);
    return text ? "<div class=\"hover\">" + text + "</div>" : "";
  }

  function needsServer(id, layer) {
    showDetails(hoverBlock(layer, id) + "<p class=\"hint\">This file is a snapshot: open it " +
      "through <code>ponmodel serve</code> (/viewer) to trace ONTs and see failure impact.</p>");
  }

  // ------------------------------------------------------------------ trace and impact

  function showTrace(ontId) {
    if (EMBED) { needsServer(ontId, "pon"); return Promise.resolve(null); }
    setStatus("tracing " + ontId + "\u2026");
    return getJSON("/viewer/trace/" + encodeURIComponent(ontId)).then(function (t) {
      viewer.lastTrace = t;
      var path = elbows(points(t.path, state.nodes));
      var lines = ductLines(t.ducts);
      var jobs = [
        clearHighlights().then(function () {
          return Promise.all([
            setHighlight("pon", "trace path", path[0], path[1]),
            setHighlight("physical", "trace ducts", lines[0], lines[1])
          ]);
        })
      ];
      var rows = t.hops.map(function (h) {
        return "<tr><td>" + esc(h.node) + "<br><small>" + esc(h.kind) +
          (h.link ? " via " + esc(h.link) : "") + "</small></td><td>" +
          (h.distance_m / 1000).toFixed(2) + "</td><td>" + fmt(h.loss_down_db) + "</td><td>" +
          fmt(h.cum_loss_down_db) + "</td><td>" + fmt(h.loss_up_db) + "</td><td>" +
          fmt(h.cum_loss_up_db) + "</td></tr>";
      }).join("");
      var b = t.budget;
      showDetails(
        hoverBlock("pon", t.ont) +
        "<p class=\"summary" + (b.ok ? "" : " bad") + "\">" + esc(t.summary) + "</p>" +
        "<table class=\"hops\" id=\"trace-table\"><thead><tr><th>hop</th><th>km</th>" +
        "<th>loss \u2193 dB</th><th>cum \u2193</th><th>loss \u2191 dB</th><th>cum \u2191</th>" +
        "</tr></thead><tbody>" + rows + "</tbody></table>" +
        (b.problems.length ? "<ul class=\"plain\">" + b.problems.map(function (p) {
          return "<li>" + esc(p) + "</li>"; }).join("") + "</ul>" : "") +
        "<p class=\"hint\">Path highlighted in purple on both layers (" + t.ducts.length +
        " duct(s) on the map).</p>");
      setStatus("");
      return Promise.all(jobs).then(function () { return t; });
    }).catch(fail);
  }

  function showImpact(elementId, layer) {
    if (EMBED) { needsServer(elementId, layer); return Promise.resolve(null); }
    setStatus("what fails with " + elementId + "\u2026");
    return getJSON("/viewer/impact?element=" + encodeURIComponent(elementId)).then(function (r) {
      viewer.lastImpact = r;
      var onts = points(r.onts, state.nodes);
      var lines = ductLines(r.ducts);
      var structs = points(r.ont_structures, state.structures);
      var shown = onts[0].length;
      var jobs = clearHighlights().then(function () {
        return Promise.all([
          setHighlight("pon", "impacted ONTs", onts[0], onts[1]),
          setHighlight("physical", "impacted ducts", lines[0], lines[1]),
          setHighlight("physical", "impacted structures", structs[0], structs[1])
        ]);
      });
      var ops = Object.keys(r.by_operator).map(function (k) {
        return "<li>" + esc(k || "(no operator)") + ": " + r.by_operator[k] + " ONT(s)</li>";
      }).join("");
      var zones = Object.keys(r.by_zone).map(function (k) {
        return "<li>" + esc(k) + ": " + r.by_zone[k] + "</li>";
      }).join("");
      showDetails(
        hoverBlock(layer, elementId) +
        "<p class=\"summary" + (r.onts.length ? " bad" : "") + "\" id=\"impact-summary\">" +
        esc(r.summary) + "</p>" +
        (ops ? "<b>by operator</b><ul class=\"plain\">" + ops + "</ul>" : "") +
        (zones ? "<b>by zone</b><ul class=\"plain\">" + zones + "</ul>" : "") +
        (r.sites.length ? "<b>mobile sites losing backhaul</b><ul class=\"plain\">" +
          r.sites.map(function (s) { return "<li>" + esc(s) + "</li>"; }).join("") + "</ul>" : "") +
        "<p class=\"hint\">" + shown + " ONT(s) of this view shown dark on the PON layer; " +
        r.links_out_of_service.length + " link(s) out of service, " + r.cables.length +
        " cable(s) cut.</p>");
      setStatus("");
      return jobs.then(function () { return r; });
    }).catch(fail);
  }

  function onClick(layer, ev) {
    if (!ev || !ev.points || !ev.points.length) { return; }
    var pt = ev.points[0];
    var meta = pt.data.meta || {};
    var id = pt.customdata;
    if (!id || meta.role === "highlight") { return; }
    if (meta.role === "ont") {
      showTrace(id);
    } else if (["duct", "structure", "splitter", "port"].indexOf(meta.role) >= 0) {
      showImpact(id, layer);
    }
  }

  function fail(err) {
    viewer.errors.push(String(err && err.message || err));
    setStatus("");
    showDetails("<p class=\"error\">" + esc(err && err.message || err) + "</p>");
    return null;
  }

  // ------------------------------------------------------------------ loading a zone

  function indexLayer(data) {
    if (data.layer === "pon") {
      state.nodes = data.nodes;
    } else {
      state.ducts = data.ducts;
      state.structures = data.structures;
    }
  }

  function countsText(data) {
    var c = data.counts;
    if (data.layer === "pon") {
      return c.ports + " ports \u00b7 " + c.splitters + " splitters \u00b7 " + c.onts +
        " ONTs (" + c.onts_red + " failing a check, " + c.onts_amber + " within budget under 3 dB, " +
        c.onts_green + " within budget" +
        (c.onts_not_connected ? ", " + c.onts_not_connected + " not connected" : "") +
        ") \u00b7 drag to pan, wheel to zoom";
    }
    return c.structures + " structures \u00b7 " + c.ducts + " ducts (" + c.ducts_over +
      " over their limit or holding an innerduct over it, " + c.ducts_near + " near it, " +
      c.ducts_within + " within)";
  }

  function render(layer, data) {
    mark("data-" + layer);
    state[layer] = data;
    indexLayer(data);
    $(layer + "-counts").textContent = countsText(data);
    renderLegend("legend-" + layer, layer === "pon" ? "PON layer" : "Physical layer",
                 data.legend || []);
    return draw(layer, data);
  }

  function loadZone(zone, push) {
    var id = ++state.loadId;
    state.zone = zone;
    viewer.ready = null;
    document.body.dataset.ready = "";
    $("zone").value = zone;
    if (push && !EMBED && location.pathname !== "/viewer/" + zone) {
      history.pushState({zone: zone}, "", "/viewer/" + encodeURIComponent(zone));
    }
    setStatus("loading " + zone + "\u2026");
    var base = "/viewer/data/" + encodeURIComponent(zone) + "/";
    var fetchLayer = function (name) {
      if (EMBED) { return Promise.resolve(EMBED[name]); }
      var url = base + name + query();
      var early = prefetched[url];
      delete prefetched[url];
      return early || getJSON(url);
    };
    var guard = function (fn) {
      return function (data) { return id === state.loadId ? fn(data) : null; };
    };
    var jobs = [
      fetchLayer("headlines").then(guard(function (h) {
        state.headlines = h;
        renderHeadlines(h);
      })),
    ];
    // The map first, then (after the browser had a turn to paint it) the PON trees: the
    // first figure appears without waiting for the second one's drawing.
    var physicalDrawn = fetchLayer("physical").then(guard(function (d) {
      return render("physical", d);
    }));
    jobs.push(physicalDrawn);
    jobs.push(Promise.all([
      fetchLayer("pon"),
      physicalDrawn.then(function () {
        return new Promise(function (resolve) { setTimeout(resolve, 0); });
      })
    ]).then(guard(function (both) { return render("pon", both[0]); })));
    return Promise.all(jobs).then(function () {
      if (id !== state.loadId) { return; }
      setStatus("");
      viewer.ready = zone;
      document.body.dataset.ready = zone;
    }).catch(fail);
  }

  // ------------------------------------------------------------------ search

  function localSearch(q) {
    var f = fold(q);
    var out = [];
    [["pon", state.pon], ["physical", state.physical]].forEach(function (pair) {
      (pair[1] ? pair[1].traces : []).forEach(function (tr) {
        if (!tr.customdata || !tr.meta) { return; }
        for (var i = 0; i < tr.customdata.length && out.length < 20; i++) {
          var id = tr.customdata[i];
          if (fold(id).indexOf(f) >= 0 || fold(tr.hovertext[i]).indexOf(f) >= 0) {
            out.push({id: id, kind: tr.meta.role, zone: state.zone, label: ""});
          }
        }
      });
    });
    return Promise.resolve({results: out});
  }

  var searchTimer = null;
  function onSearchInput() {
    clearTimeout(searchTimer);
    var q = $("search").value.trim();
    if (!q) { $("search-results").hidden = true; return; }
    searchTimer = setTimeout(function () {
      var job = EMBED ? localSearch(q) : getJSON("/viewer/search?q=" + encodeURIComponent(q));
      job.then(function (r) {
        if ($("search").value.trim() !== q) { return; }
        var list = $("search-results");
        if (!r.results.length) {
          list.innerHTML = "<li><button type=\"button\" disabled>nothing matches</button></li>";
        } else {
          list.innerHTML = r.results.map(function (e, i) {
            return "<li><button type=\"button\" data-i=\"" + i + "\">" + esc(e.id) +
              "<span class=\"kind\">" + esc(e.kind) + (e.label ? " \u00b7 " + esc(e.label) : "") +
              (e.zone ? " \u00b7 " + esc(e.zone) : "") + "</span></button></li>";
          }).join("");
          Array.prototype.forEach.call(list.querySelectorAll("button[data-i]"), function (b) {
            b.addEventListener("click", function () {
              list.hidden = true;
              select(r.results[+b.dataset.i]);
            });
          });
        }
        list.hidden = false;
      }).catch(fail);
    }, 150);
  }

  function select(entry) {
    var zoneKnown = state.zones.some(function (z) { return z.id === entry.zone; });
    var before = (entry.zone && zoneKnown && entry.zone !== state.zone && !EMBED)
      ? loadZone(entry.zone, true) : Promise.resolve();
    return before.then(function () {
      var id = entry.id;
      if (entry.kind === "zone") { return null; }
      if (entry.kind === "ont") {
        focus("pon", id);
        return showTrace(id);
      }
      if (entry.kind === "duct" || entry.kind === "structure") {
        focus("physical", id);
        return showImpact(id, "physical");
      }
      if (["splitter", "port", "olt", "cable", "link"].indexOf(entry.kind) >= 0) {
        focus("pon", id);
        return showImpact(id, "pon");
      }
      showDetails("<div class=\"hover\"><b>" + esc(id) + "</b> \u00b7 " + esc(entry.kind) +
                  (entry.label ? "<br>" + esc(entry.label) : "") + "</div>");
      return null;
    });
  }
  viewer.select = select;
  viewer.loadZone = loadZone;

  // ------------------------------------------------------------------ start

  function fillPickers(picker) {
    state.zones = picker.zones;
    state.operators = picker.operators || [];
    $("zone").innerHTML = picker.zones.map(function (z) {
      return "<option value=\"" + esc(z.id) + "\">" + esc(z.name) + " (" +
        z.onts.toLocaleString("en") + " ONTs)</option>";
    }).join("");
    $("operator").innerHTML = "<option value=\"\">all operators</option>" +
      state.operators.map(function (o) {
        return "<option value=\"" + esc(o.id) + "\">" + esc(o.name) + "</option>";
      }).join("");
  }

  function unknownZone(wanted, zones) {
    // the URL names no zone: say so and list them, rather than show another zone
    setStatus("unknown zone " + wanted);
    $("zone").value = "";
    $("zone-name").textContent = "No zone \u201c" + wanted + "\u201d";
    $("headlines").innerHTML = "";
    $("details-body").innerHTML = "<p id=\"unknown-zone\">There is no zone with the id <code>" +
      esc(wanted) + "</code>. The zones:</p><ul class=\"zone-list\">" +
      zones.map(function (z) {
        return "<li><a href=\"/viewer/" + encodeURIComponent(z.id) + "\">" + esc(z.name) +
          "</a> <code>" + esc(z.id) + "</code></li>";
      }).join("") + "</ul>";
    return null;
  }

  function zoneFromPath() {
    var m = location.pathname.match(/^\/viewer\/([^/]+)\/?$/);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function prefetch() {
    if (EMBED) { return; }
    prefetched["/viewer/data/zones"] = getJSON("/viewer/data/zones");
    var zone = zoneFromPath();
    if (!zone) { return; }
    ["headlines", "physical", "pon"].forEach(function (name) {
      var url = "/viewer/data/" + encodeURIComponent(zone) + "/" + name;
      prefetched[url] = getJSON(url);
      prefetched[url].catch(function () { return null; });
    });
  }

  function start() {
    $("search").addEventListener("input", onSearchInput);
    $("search").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        var first = $("search-results").querySelector("button[data-i]");
        if (first) { first.click(); }
      } else if (ev.key === "Escape") {
        $("search-results").hidden = true;
      }
    });
    $("zone").addEventListener("change", function () { loadZone($("zone").value, true); });
    $("operator").addEventListener("change", function () {
      state.operator = $("operator").value;
      loadZone(state.zone, false);
    });
    window.addEventListener("popstate", function () {
      var z = zoneFromPath() || (state.zones.length ? state.zones[0].id : null);
      if (z && z !== state.zone) { loadZone(z, false); }
    });
    if (EMBED) {
      $("operator").disabled = true;
      fillPickers({zones: EMBED.zones.filter(function (z) { return z.id === EMBED.zone; }),
                   operators: []});
      return loadZone(EMBED.zone, false);
    }
    var zones = prefetched["/viewer/data/zones"] || getJSON("/viewer/data/zones");
    delete prefetched["/viewer/data/zones"];
    return zones.then(function (picker) {
      fillPickers(picker);
      var wanted = zoneFromPath();
      var known = picker.zones.some(function (z) { return z.id === wanted; });
      var zone = known ? wanted : (picker.zones.length ? picker.zones[0].id : null);
      if (!zone) { setStatus("no zone in the database"); return null; }
      if (wanted && !known) { return unknownZone(wanted, picker.zones); }
      return loadZone(zone, false);
    }).catch(fail);
  }

  prefetch();
  start();
}());
