// Campaign page: poll progress.json every 2 s and update counts, the bar, the buttons and the people table
// without reloading. Plain JS, no inline scripts (the CSP forbids them); text goes in with textContent.
(function () {
  "use strict";
  var root = document.getElementById("campaign");
  if (!root) { return; }
  var url = root.dataset.progressUrl;
  var FINAL = {done: true, cancelled: true};
  var timer = null;

  function setText(selector, value) {
    root.querySelectorAll(selector).forEach(function (el) { el.textContent = value; });
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function tag(text) {
    var span = document.createElement("span");
    span.className = "tag";
    span.textContent = text;
    return span;
  }

  function renderPeople(people) {
    var body = document.getElementById("people");
    var rows = document.createDocumentFragment();
    people.forEach(function (p) {
      var tr = document.createElement("tr");
      var name = document.createElement("td");
      var link = document.createElement("a");
      link.href = p.url;
      link.textContent = p.name;
      name.appendChild(link);
      tr.appendChild(name);
      tr.appendChild(cell(p.channel_label));
      tr.appendChild(cell(p.phone));
      var attempts = cell(String(p.attempts));
      attempts.className = "num";
      tr.appendChild(attempts);
      tr.appendChild(cell(p.status_label));
      var outcome = cell(p.outcome_label);
      if (p.heard_full) { outcome.appendChild(document.createTextNode(" ")); outcome.appendChild(tag(body.dataset.heard)); }
      tr.appendChild(outcome);
      var responses = cell("");
      p.responses.forEach(function (r) { responses.appendChild(tag(r)); });
      tr.appendChild(responses);
      rows.appendChild(tr);
    });
    if (!people.length) {
      var empty = cell(body.dataset.empty);
      empty.colSpan = 7;
      empty.className = "muted";
      var tr = document.createElement("tr");
      tr.appendChild(empty);
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
  }

  function render(data) {
    setText("[data-field=status_label]", data.status_label);
    setText("[data-field=summary]", data.summary);
    var bar = document.getElementById("campaign-progress");
    bar.max = data.total || 1;
    bar.value = data.finished;
    Object.keys(data.funnel).forEach(function (key) { setText("[data-funnel=" + key + "]", data.funnel[key]); });
    Object.keys(data.outcomes).forEach(function (key) { setText("[data-outcome=" + key + "]", data.outcomes[key]); });
    root.querySelectorAll("form[data-when]").forEach(function (form) {
      form.hidden = form.dataset.when.split(" ").indexOf(data.status) < 0;
    });
    renderPeople(data.people);
    return data;
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(render)
      .then(function (data) {
        // Late results still land after a campaign ends or is cancelled: keep asking, less often.
        timer = setTimeout(poll, FINAL[data.status] ? 10000 : 2000);
      })
      .catch(function () { timer = setTimeout(poll, 5000); });
  }

  root.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) { e.preventDefault(); }
    });
  });
  timer = setTimeout(poll, 2000);
}());
