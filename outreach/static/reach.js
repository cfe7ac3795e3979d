// Reach pages: refresh the counts of running campaigns every 3 s without reloading the page, confirm the
// "resend" button, and open the print dialog on print views. No inline scripts (CSP); text via textContent.
(function () {
  "use strict";
  var POLL_MS = 3000;

  function pick(data, path) {
    return path.split(".").reduce(function (value, key) { return value == null ? value : value[key]; }, data);
  }

  function refresh(row) {
    fetch(row.dataset.liveUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        row.querySelectorAll("[data-live-key]").forEach(function (cell) {
          var value = pick(data, cell.dataset.liveKey);
          if (value != null) { cell.textContent = String(value); }
        });
        row.dataset.liveStatus = data.status;
        // A finished campaign still gets late callbacks: keep asking, less often.
        setTimeout(function () { refresh(row); }, data.status === "running" ? POLL_MS : POLL_MS * 5);
      })
      .catch(function () { setTimeout(function () { refresh(row); }, POLL_MS * 3); });
  }

  document.querySelectorAll("[data-live-url]").forEach(function (row) { refresh(row); });

  document.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) { e.preventDefault(); }
    });
  });

  var me = document.currentScript;
  if (me && me.dataset.print === "1") { window.addEventListener("load", function () { window.print(); }); }
}());
