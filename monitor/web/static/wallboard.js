// Wallboard: tiles, queues, calls and agents from Server-Sent Events, timers ticking locally
// from the server's clock; a stale board (stream lost, session ended) says so across the
// whole screen and reconnects by itself.
"use strict";
(function () {
  var STATES = {available: "Available", ringing: "Ringing", on_call: "On call",
                wrap_up: "Wrap-up", paused: "Paused", unavailable: "Unavailable"};
  var board, stateLine, stale, staleTitle, staleDetail;
  var offset = null;         // server event time minus performance.now()/1000
  var source = null, lastMessage = 0, retryMs = 1000, retryTimer = null;
  var interval = 1000;

  function nowServer() { return offset === null ? null : offset + performance.now() / 1000; }

  function fmt(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var m = Math.floor(s / 60), r = s % 60;
    if (m >= 60) { return Math.floor(m / 60) + ":" + pad(m % 60) + ":" + pad(r); }
    return m + ":" + pad(r);
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function pct(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + "%"; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function cell(label, value, cls) {
    var c = el("div", "cell" + (cls ? " " + cls : ""));
    c.appendChild(el("div", "cell-label", label));
    var v = el("div", "fig", value);
    c.appendChild(v);
    return [c, v];
  }

  function renderTiles(tiles, windowLabel) {
    tiles.forEach(function (t) {
      var tile = board.querySelector('[data-key="' + t.key + '"]');
      if (!tile) { return; }
      tile.className = "tile status-" + t.status;
      tile.querySelector(".value").textContent = t.text;
      tile.querySelector(".target").textContent = t.target;
      var w = tile.querySelector(".window");
      if (w) {
        var windowed = t.key === "service_level" || t.key === "abandon_rate";
        w.textContent = windowed && windowLabel ? "(" + windowLabel + ")" : "";
      }
    });
  }

  function renderQueues(b) {
    var box = document.getElementById("queues");
    box.textContent = "";
    if (!b.queues.length) { box.appendChild(el("p", "empty", "No queue activity yet.")); return; }
    var win = b.window ? " (" + b.window + ")" : "";
    b.queues.forEach(function (q) {
      var row = el("div", "qrow");
      row.setAttribute("data-queue", q.queue);
      row.appendChild(el("div", "qname", q.queue));
      var figs = el("div", "qfigs");
      var c = cell("Waiting now", String(q.waiting), "q-waiting");
      figs.appendChild(c[0]);
      c = cell("Longest wait", q.oldest_since === null ? "–" : "", "q-longest");
      if (q.oldest_since !== null) { c[1].setAttribute("data-since", q.oldest_since); }
      figs.appendChild(c[0]);
      figs.appendChild(cell("Answered / offered today",
        q.answered_today + " / " + q.offered_today, "q-answered")[0]);
      figs.appendChild(cell("Abandoned / offered today",
        q.abandoned_today + " / " + q.offered_today, "q-abandoned")[0]);
      figs.appendChild(cell("Service level" + win, pct(q.service_level), "q-sl")[0]);
      figs.appendChild(cell("Abandon rate" + win, pct(q.abandon_rate), "q-ab")[0]);
      var a = q.agents || {};
      figs.appendChild(cell("Available", String(a.available || 0), "q-available")[0]);
      figs.appendChild(cell("On call", String(a.on_call || 0), "q-on_call")[0]);
      figs.appendChild(cell("Paused", String(a.paused || 0), "q-paused")[0]);
      figs.appendChild(cell("Wrap-up", String(a.wrap_up || 0), "q-wrap_up")[0]);
      row.appendChild(figs);
      box.appendChild(row);
    });
  }

  function renderCalls(b) {
    var box = document.getElementById("calls");
    box.textContent = "";
    if (!b.calls.length) { box.appendChild(el("p", "empty", "Nobody waiting or on hold.")); return; }
    b.calls.forEach(function (c) {
      var row = el("div", "call-row status-green");
      row.setAttribute("data-call", c.call_id);
      row.setAttribute("data-kind", c.kind);
      if (c.amber_at !== null) { row.setAttribute("data-amber", c.amber_at); }
      if (c.red_at !== null) { row.setAttribute("data-red", c.red_at); }
      row.appendChild(el("div", "call-kind", c.kind === "hold" ? "On hold" : "Waiting"));
      row.appendChild(el("div", "call-queue", c.queue || "–"));
      var t = el("div", "call-timer fig", "");
      t.setAttribute("data-since", c.since);
      row.appendChild(t);
      row.appendChild(el("div", "call-standard",
        (c.standard || "no live standard") + (c.agent ? " · " + c.agent : "")));
      box.appendChild(row);
    });
  }

  function renderAgents(b) {
    var box = document.getElementById("agents");
    box.textContent = "";
    if (!b.agents.length) { box.appendChild(el("p", "empty", "No queue members seen yet.")); return; }
    b.agents.forEach(function (a) {
      var card = el("div", "agent state-" + a.state);
      card.setAttribute("data-agent", a.name);
      card.appendChild(el("div", "agent-name", a.name));
      var st = STATES[a.state] || a.state;
      card.appendChild(el("div", "agent-state", a.reason ? st + ": " + a.reason : st));
      var t = el("div", "agent-timer fig", "");
      t.setAttribute("data-since", a.since);
      card.appendChild(t);
      card.appendChild(el("div", "agent-call",
        a.call_id ? "call " + a.call_id + " · " + (a.call_queue || "") : (a.queues || []).join(", ")));
      box.appendChild(card);
    });
  }

  function tick() {
    var now = nowServer();
    if (now === null) { return; }
    // a stale board keeps its last figures, frozen and greyed, under the notice
    var timers = stale.hidden ? document.querySelectorAll("[data-since]") : [];
    for (var i = 0; i < timers.length; i++) {
      timers[i].textContent = fmt(now - parseFloat(timers[i].getAttribute("data-since")));
    }
    var rows = document.querySelectorAll(".call-row");
    for (var j = 0; j < rows.length; j++) {
      var r = rows[j], red = r.getAttribute("data-red"), amber = r.getAttribute("data-amber");
      var status = "green";
      if (red !== null && now >= parseFloat(red)) { status = "red"; }
      else if (amber !== null && now >= parseFloat(amber)) { status = "amber"; }
      var cls = "call-row status-" + status;
      if (r.className !== cls) { r.className = cls; }
    }
    if (source && lastMessage && performance.now() - lastMessage > Math.max(5000, 4 * interval)) {
      showStale("Not live", "No update from the server for " +
        Math.round((performance.now() - lastMessage) / 1000) + " s. Reconnecting…");
      restart();
    }
  }

  function apply(data) {
    var b = data.board;
    offset = b.now - performance.now() / 1000;
    renderTiles(data.tiles, b.window);
    renderQueues(b);
    renderCalls(b);
    renderAgents(b);
    tick();
  }

  function showStale(title, detail) {
    staleTitle.textContent = title;
    staleDetail.textContent = detail;
    stale.hidden = false;
    document.body.classList.add("is-stale");
    stateLine.textContent = title.toLowerCase();
  }
  function hideStale() {
    stale.hidden = true;
    document.body.classList.remove("is-stale");
  }

  function restart() {
    if (source) { source.close(); source = null; }
    if (retryTimer) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; connect(); }, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  }

  function probe() {
    // EventSource hides the status: ask once so the screen can say why it stopped
    fetch(board.getAttribute("data-stream"), {credentials: "same-origin", cache: "no-store"})
      .then(function (resp) {
        if (resp.status === 401 || resp.status === 403) {
          showStale("Session ended", "This screen is no longer signed in (" + resp.status +
            "). Sign in again, or ask an admin for a new kiosk token. Retrying…");
        } else {
          showStale("Not live", "The live stream was lost (" + resp.status + "). Reconnecting…");
        }
        if (resp.body) { resp.body.cancel(); }
      })
      .catch(function () { showStale("Not live", "The server cannot be reached. Reconnecting…"); });
  }

  function connect() {
    source = new EventSource(board.getAttribute("data-stream"));
    lastMessage = performance.now();
    source.addEventListener("open", function () { lastMessage = performance.now(); });
    source.addEventListener("error", function () {
      if (!source || source.readyState === EventSource.CLOSED) {
        probe();
        restart();
      } else {
        stateLine.textContent = "reconnecting…";
      }
    });
    source.addEventListener("ping", function () {
      lastMessage = performance.now();
      retryMs = 1000;
      hideStale();
    });
    source.addEventListener("board", function (ev) {
      lastMessage = performance.now();
      retryMs = 1000;
      hideStale();
      apply(JSON.parse(ev.data));
      stateLine.textContent = "live · updated " + new Date().toLocaleTimeString();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    board = document.getElementById("wallboard");
    stateLine = document.getElementById("live-state");
    stale = document.getElementById("stale");
    staleTitle = document.getElementById("stale-title");
    staleDetail = document.getElementById("stale-detail");
    if (!board || !window.EventSource) { return; }
    interval = parseInt(board.getAttribute("data-interval"), 10) || 1000;
    var initial = document.getElementById("initial-board");
    if (initial) { apply(JSON.parse(initial.textContent)); }
    connect();
    setInterval(tick, 250);
  });
})();
