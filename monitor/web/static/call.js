// Call page: "jump to" buttons and timeline marks seek the recording (no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var player = document.getElementById("player");
  if (!player) { return; }
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-seek]") : null;
    if (!el) { return; }
    var t = parseFloat(el.getAttribute("data-seek"));
    if (isNaN(t)) { return; }
    player.currentTime = Math.max(0, t - 1);
    var p = player.play();
    if (p && p.catch) { p.catch(function () {}); }
  });
});
