// Wallboard: tiles update from Server-Sent Events without reloading the page.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var board = document.getElementById("wallboard");
  var state = document.getElementById("live-state");
  if (!board || !window.EventSource) { return; }
  var source = new EventSource(board.getAttribute("data-stream"));
  source.addEventListener("open", function () { state.textContent = "live"; });
  source.addEventListener("error", function () { state.textContent = "reconnecting…"; });
  source.addEventListener("tiles", function (ev) {
    var tiles = JSON.parse(ev.data);
    tiles.forEach(function (t) {
      var el = board.querySelector('[data-key="' + t.key + '"]');
      if (!el) { return; }
      el.className = "tile status-" + t.status;
      el.querySelector(".value").textContent = t.text;
      el.querySelector(".target").textContent = t.target;
    });
    state.textContent = "live · updated " + new Date().toLocaleTimeString();
  });
});
