// The broadcast page's live bar: redraws progress, counts and the check-in tally every 2 s (until it is finished
// and asks no check-in).
(function () {
  "use strict";
  var box = document.getElementById("broadcast-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  function redraw(data) {
    var bar = box.querySelector("[data-bar]");
    bar.max = data.total || 1;
    bar.value = data.finished;
    box.querySelector("[data-percent]").textContent = data.percent;
    box.querySelector("[data-broadcast-state]").textContent = data.state_text;
    Object.keys(data.counts).forEach(function (status) {
      var cell = box.querySelector('[data-count="' + status + '"]');
      if (cell) { cell.textContent = data.counts[status]; }
    });
    (data.tally || []).forEach(function (row) {
      var tr = document.querySelector('[data-tally] tr[data-desa="' + row.desa + '"]');
      if (!tr) { return; }
      ["sent", "aman", "bantu", "no_answer"].forEach(function (col) {
        tr.querySelector('[data-col="' + col + '"]').textContent = row[col];
      });
    });
    // A check-in keeps counting answers after the last SMS went: keep redrawing while one is asked.
    return data.status === "cancelled" || (data.status === "done" && !data.checkin_minutes);
  }
  function poll() {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (!data || !redraw(data)) { setTimeout(poll, 2000); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
