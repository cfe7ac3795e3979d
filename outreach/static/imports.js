// Import report: poll the progress endpoint while the import runs, then reload for the error table.
// A static file because the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";
  var bar = document.getElementById("import-progress");
  if (!bar || bar.getAttribute("data-running") !== "1") { return; }
  var url = bar.getAttribute("data-progress-url");
  var fields = { total: "count-total", created: "count-created", updated: "count-updated", errors: "count-errors" };

  function show(data) {
    bar.max = data.total || 1;
    bar.value = data.processed;
    Object.keys(fields).forEach(function (key) {
      var el = document.getElementById(fields[key]);
      if (el) { el.textContent = data[key]; }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        show(data);
        if (data.running) { window.setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 500);
})();
