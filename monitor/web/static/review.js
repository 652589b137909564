// Review form (issue 19): a prefilled answer's reason field shows, and is required, only while
// the reviewer's answer differs from the measured one. The server checks it again.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var rows = document.querySelectorAll("#review-form tr.item[data-prefill]");
  function sync(row) {
    var pre = row.getAttribute("data-prefill");
    var picked = row.querySelector("input[type=radio]:checked");
    var label = row.querySelector(".override-reason");
    if (!label) { return; }
    var input = label.querySelector("input");
    var changed = picked !== null && picked.value !== pre;
    label.hidden = !changed;
    input.required = changed;
    row.classList.toggle("overridden", changed);
  }
  rows.forEach(function (row) {
    sync(row);
    row.addEventListener("change", function () { sync(row); });
  });
});
