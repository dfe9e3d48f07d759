/**
 * The dashboard page served at GET / on the admin listener: one
 * self-contained HTML document (inline CSS and script, no build step, no
 * CDN, no font, no image file), shipped in dist/ as this module's strings.
 * It polls the admin API of its own origin at most once a second (/status,
 * /api/series, and /api/history with If-None-Match), pauses while the tab is
 * hidden, and builds every element with textContent (backend URLs and
 * config errors are user text, never HTML). Light and dark through
 * prefers-color-scheme; one column on a narrow screen. When the API answers
 * 401 it asks for the admin token once and keeps it for the tab
 * (sessionStorage), or for the browser when "remember" is ticked
 * (localStorage).
 *
 * The script avoids backticks and dollar-brace so it can live in a template
 * literal; operator.ts serves it with a Content-Security-Policy that allows
 * exactly this script (by its SHA-256) and requests to its own origin only.
 */

/** DASHBOARD_SCRIPT is the page's inline script (its hash is in the page's Content-Security-Policy). */
export const DASHBOARD_SCRIPT = String.raw`
"use strict";
(function () {
  var KEY = "yalb.adminToken";
  var token = sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || "";
  var historyTag = "";
  var history = { entries: [] };
  var status = null;
  var series = null;
  var timer = 0;
  var waitingForToken = false;
  var $ = function (id) { return document.getElementById(id); };

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "cls") el.className = attrs[k];
      else if (attrs[k] !== undefined && attrs[k] !== null) el.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  function spark(values, max, cls) {
    var NS = "http://www.w3.org/2000/svg";
    var w = 120, hgt = 24;
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + hgt);
    svg.setAttribute("class", "spark " + (cls || ""));
    svg.setAttribute("aria-hidden", "true");
    var n = values.length;
    if (n < 2) return svg;
    var top = max || Math.max.apply(null, values.map(function (v) { return v || 0; }));
    if (!(top > 0)) top = 1;
    var pts = [];
    for (var i = 0; i < n; i++) {
      var x = (i / (n - 1)) * w;
      var y = hgt - 1 - ((values[i] || 0) / top) * (hgt - 2);
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    }
    var line = document.createElementNS(NS, "polyline");
    line.setAttribute("points", pts.join(" "));
    svg.appendChild(line);
    return svg;
  }

  function ago(iso) {
    if (!iso) return "";
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    if (s < 86400) return Math.floor(s / 3600) + "h ago";
    return Math.floor(s / 86400) + "d ago";
  }
  function num(v, d) { return v === null || v === undefined ? "-" : (Math.round(v * Math.pow(10, d || 0)) / Math.pow(10, d || 0)).toString(); }
  function pct(v) { return v === null || v === undefined ? "-" : (Math.round(v * 1000) / 10) + "%"; }
  function last(a) { return a && a.length ? a[a.length - 1] : 0; }
  function time(iso) { return iso ? new Date(iso).toLocaleString() : "-"; }

  function api(path, etag) {
    var headers = {};
    if (token) headers.authorization = "Bearer " + token;
    if (etag) headers["if-none-match"] = etag;
    return fetch(path, { headers: headers, cache: "no-store", credentials: "omit" }).then(function (res) {
      if (res.status === 401) { var e = new Error("unauthorized"); e.unauthorized = true; throw e; }
      if (res.status === 304) return null;
      if (!res.ok) throw new Error(path + " answered " + res.status);
      if (path === "/api/history") historyTag = res.headers.get("etag") || "";
      return res.json();
    });
  }

  function askToken() {
    waitingForToken = true;
    $("auth").hidden = false;
    $("token").focus();
    setConn("token needed", "warn");
  }

  function setConn(text, cls) {
    var c = $("conn");
    c.textContent = text;
    c.className = "conn " + (cls || "");
  }

  function poll() {
    timer = 0;
    if (document.hidden || waitingForToken) return;
    var started = Date.now();
    Promise.all([api("/status"), api("/api/series"), api("/api/history", historyTag)]).then(function (r) {
      status = r[0];
      series = r[1];
      if (r[2]) history = r[2];
      render();
      setConn("live", "ok");
    }, function (err) {
      if (err && err.unauthorized) return askToken();
      setConn("disconnected: " + (err && err.message ? err.message : err), "bad");
    }).then(function () {
      if (!waitingForToken) schedule(Math.max(0, 1000 - (Date.now() - started)));
    });
  }
  function schedule(ms) { if (!timer && !document.hidden) timer = setTimeout(poll, ms); }

  function badge(state) { return h("span", { cls: "badge s-" + state, text: state }); }

  function pools() {
    if (status.pools && status.pools.length) return status.pools;
    return [{ name: "default", strategy: status.strategy, backends: status.backends }];
  }

  function renderTotals() {
    var m = series ? series.minute : null;
    var t = series ? series.totals : { rps: [], errorRate: [], p50Ms: [], p99Ms: [] };
    var box = $("totals");
    box.replaceChildren();
    function card(label, value, extra) {
      box.appendChild(h("div", { cls: "card" }, h("div", { cls: "label", text: label }), h("div", { cls: "value", text: value }), extra || null));
    }
    card("requests/s", num(last(t.rps), 1), spark(t.rps));
    card("errors (5xx)", pct(m ? m.errorRate : null), spark(t.errorRate, 1, "err"));
    card("p50 latency", m && m.p50Ms !== null ? num(m.p50Ms, 1) + " ms" : "-", spark(t.p50Ms.map(function (v) { return v || 0; })));
    card("p99 latency", m && m.p99Ms !== null ? num(m.p99Ms, 1) + " ms" : "-", spark(t.p99Ms.map(function (v) { return v || 0; })));
    card("retries (1 min)", m ? String(m.retries) : "-");
    var mix = h("div", { cls: "mix" });
    var codes = m ? m.codes : {};
    var total = 0, k;
    for (k in codes) total += codes[k];
    var legend = h("div", { cls: "legend" });
    ["2xx", "3xx", "4xx", "5xx", "other"].forEach(function (c) {
      var n = codes[c] || 0;
      if (!n) return;
      mix.appendChild(h("span", { cls: "c" + c, style: "flex-grow:" + n, title: c + ": " + n }));
      legend.appendChild(h("span", { cls: "k c" + c, text: c + " " + Math.round((n / total) * 100) + "%" }));
    });
    card("status codes (1 min)", total ? String(total) : "none", h("div", null, mix, legend));
  }

  function renderPools() {
    var box = $("pools");
    box.replaceChildren();
    var bs = series ? series.backends : {};
    pools().forEach(function (p) {
      var up = p.backends.filter(function (b) { return b.state === "up"; }).length;
      var table = h("table", null, h("thead", null, h("tr", null,
        h("th", { text: "backend" }), h("th", { text: "state" }), h("th", { cls: "n", text: "weight" }), h("th", { cls: "n", text: "in flight" }),
        h("th", { text: "req/s (1 min)" }), h("th", { text: "errors (1 min)" }), h("th", { text: "last probe" }))));
      var body = h("tbody");
      p.backends.forEach(function (b) {
        var s = bs[b.url] || { rps: [], errorRate: [] };
        var probe = b.lastProbe ? (b.lastProbe.ok ? "ok" : b.lastProbe.reason) + " · " + b.lastProbe.ms + " ms · " + ago(b.lastProbe.at) : "-";
        body.appendChild(h("tr", { "data-url": b.url, "data-state": b.state, cls: "r-" + b.state },
          h("td", { cls: "url", "data-label": "backend", text: b.url }),
          h("td", { "data-label": "state" }, badge(b.state), h("div", { cls: "why", text: (b.reason || "") + (b.since ? " · since " + ago(b.since) : "") })),
          h("td", { cls: "n", "data-label": "weight", text: String(b.weight) }),
          h("td", { cls: "n", "data-label": "in flight", text: String(b.inFlight) }),
          h("td", { "data-label": "req/s" }, spark(s.rps), h("span", { cls: "v", text: num(last(s.rps), 1) })),
          h("td", { "data-label": "errors" }, spark(s.errorRate, 1, "err"), h("span", { cls: "v", text: pct(last(s.errorRate)) })),
          h("td", { cls: "probe", "data-label": "last probe", text: probe })));
      });
      table.appendChild(body);
      box.appendChild(h("section", { cls: "pool", "data-pool": p.name },
        h("h2", null, "pool " + p.name + " ", h("small", { text: p.strategy + " · " + up + "/" + p.backends.length + " up" })), table));
    });
  }

  function gitText(g) {
    if (!g) return "not in a Git work tree";
    return g.commit + (g.dirty ? " (dirty: file differs from the commit)" : "") + " · " + g.subject + " · " + time(g.date);
  }

  function renderConfig() {
    var dl = $("config-list");
    dl.replaceChildren();
    function row(k, v, cls) { dl.appendChild(h("dt", { text: k })); dl.appendChild(h("dd", { cls: cls || "", text: v })); }
    row("file", status.configFile);
    row("hash", (status.configHash || "").slice(0, 16), "mono");
    row("commit", gitText(status.configGit), status.configGit && status.configGit.dirty ? "warn" : "");
    row("loaded at", time(status.configLoadedAt));
    row("strategy", pools().map(function (p) { return p.name + ": " + p.strategy; }).join(", "));
    row("listen", status.listen);
    row("version", "yalb " + status.version + " · pid " + status.pid + " · up " + status.uptimeSeconds + "s · generation " + status.generation);
    var lr = status.lastReload;
    if (lr && !lr.ok) row("last reload", "FAILED " + ago(lr.at) + ": the previous config keeps serving", "bad");
  }

  function renderHistory() {
    var ol = $("history-list");
    ol.replaceChildren();
    history.entries.forEach(function (e) {
      var li = h("li", { cls: "h-" + e.result, "data-result": e.result },
        h("div", { cls: "hhead" }, h("span", { cls: "badge s-" + (e.result === "failed" ? "down" : "up"), text: e.result }),
          " " + e.trigger + " · " + time(e.at) + " · " + e.durationMs + " ms" + (e.git ? " · " + e.git.commit + (e.git.dirty ? " (dirty)" : "") + " " + e.git.subject : "")));
      if (e.changes.length) {
        var ul = h("ul", { cls: "changes" });
        e.changes.forEach(function (c) { ul.appendChild(h("li", { text: c })); });
        li.appendChild(ul);
      }
      if (e.result === "applied" && !e.changes.length) li.appendChild(h("div", { cls: "why", text: "no effective change (formatting or comments)" }));
      if (e.errors.length) {
        var errs = h("ul", { cls: "errors" });
        e.errors.forEach(function (x) { errs.appendChild(h("li", { cls: "mono", text: x.text })); });
        li.appendChild(errs);
      }
      ol.appendChild(li);
    });
  }

  function render() {
    renderTotals();
    renderPools();
    renderConfig();
    renderHistory();
  }

  $("auth").addEventListener("submit", function (ev) {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(KEY, token);
    if ($("remember").checked) localStorage.setItem(KEY, token);
    $("auth").hidden = true;
    waitingForToken = false;
    historyTag = "";
    poll();
  });
  $("forget").addEventListener("click", function () {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    token = "";
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) schedule(0); });
  poll();
})();
`;

const STYLE = `
:root { color-scheme: light dark; --bg: #f7f7f8; --fg: #1b1d21; --mute: #646a73; --card: #fff; --line: #e2e4e8;
  --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --info: #1f6feb; --spark: #1f6feb; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :root { --bg: #111316; --fg: #e6e8eb; --mute: #9aa1ab; --card: #1a1d21; --line: #2c3036;
  --ok: #3fb950; --bad: #f85149; --warn: #d29922; --info: #58a6ff; --spark: #58a6ff; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; padding: .75rem 1rem; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 1.2rem; margin: 0; } h2 { font-size: 1rem; margin: 1.25rem 0 .5rem; } h2 small { color: var(--mute); font-weight: normal; }
main { padding: 0 1rem 2rem; max-width: 1200px; margin: 0 auto; }
.conn { font-size: .85rem; } .conn.ok { color: var(--ok); } .conn.bad { color: var(--bad); } .conn.warn { color: var(--warn); }
.mono, .url, .probe { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
#totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .75rem; margin-top: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .75rem; }
.card .label { color: var(--mute); font-size: .8rem; } .card .value { font-size: 1.35rem; font-variant-numeric: tabular-nums; }
.spark { width: 120px; height: 24px; display: block; } .spark polyline { fill: none; stroke: var(--spark); stroke-width: 1.5; }
.spark.err polyline { stroke: var(--bad); }
td .spark { display: inline-block; vertical-align: middle; width: 90px; margin-right: .4rem; }
.mix { display: flex; height: 10px; border-radius: 4px; overflow: hidden; margin-top: .35rem; background: var(--line); }
.legend { display: flex; flex-wrap: wrap; gap: .1rem .5rem; font-size: .75rem; margin-top: .2rem; }
.c2xx { background: var(--ok); } .c3xx { background: var(--info); } .c4xx { background: var(--warn); } .c5xx, .cother { background: var(--bad); }
.legend .k { background: none; } .legend .c2xx { color: var(--ok); } .legend .c3xx { color: var(--info); } .legend .c4xx { color: var(--warn); } .legend .c5xx, .legend .cother { color: var(--bad); }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--mute); font-weight: 600; font-size: .8rem; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: 0; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; color: #fff; background: var(--mute); }
.s-up { background: var(--ok); } .s-down { background: var(--bad); } .s-ejected { background: var(--bad); } .s-draining { background: var(--warn); } .s-slow-starting { background: var(--info); }
.why { color: var(--mute); font-size: .8rem; } .v { font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; margin: 0; }
dt { color: var(--mute); } dd { margin: 0; overflow-wrap: anywhere; } dd.warn { color: var(--warn); } dd.bad { color: var(--bad); }
#history-list { list-style: none; padding: 0; margin: 0; } #history-list > li { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .5rem .75rem; margin-bottom: .5rem; }
.h-failed { border-left: 4px solid var(--bad) !important; } .h-applied { border-left: 4px solid var(--ok) !important; }
.changes, .errors { margin: .3rem 0 0; padding-left: 1.2rem; } .errors { color: var(--bad); overflow-wrap: anywhere; }
form#auth { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; background: var(--card); border: 1px solid var(--warn); border-radius: 8px; padding: .75rem; margin-top: 1rem; }
form#auth[hidden] { display: none; }
input, button { font: inherit; padding: .3rem .5rem; } input[type=password] { min-width: 16rem; flex: 1; }
footer { color: var(--mute); font-size: .8rem; padding: 0 1rem 1rem; text-align: center; }
footer button { background: none; border: 0; color: var(--info); cursor: pointer; padding: 0; }
@media (max-width: 720px) {
  thead { display: none; } table, tbody, tr, td { display: block; width: 100%; }
  tr { border-bottom: 1px solid var(--line); } td { border: 0; padding: .2rem .6rem; } td.n { text-align: left; }
  td[data-label]::before { content: attr(data-label) ": "; color: var(--mute); font-size: .8rem; }
  td.url { font-weight: 600; padding-top: .5rem; } td.url::before { content: none; }
}
`;

/** DASHBOARD_HTML is the whole page served at GET /. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>yalb dashboard</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style></head>
<body>
<header><h1>yalb</h1><span id="conn" class="conn">connecting…</span></header>
<main>
<form id="auth" hidden><label for="token">This admin API needs its token (admin.token):</label>
<input id="token" type="password" autocomplete="off" required>
<label><input id="remember" type="checkbox"> remember on this browser</label><button type="submit">Connect</button></form>
<section id="totals" aria-label="totals over the last minute"></section>
<div id="pools"></div>
<h2>Config</h2><dl id="config-list"></dl>
<h2>Reload history <small>(newest first, last 50)</small></h2><ol id="history-list"></ol>
</main>
<footer>Live from this admin API, refreshed every second. <button id="forget" type="button">Forget the token</button></footer>
<script>${DASHBOARD_SCRIPT}</script>
</body></html>
`;
