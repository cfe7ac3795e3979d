// Resident's phone (demo): refresh the phone's screen every 2 s and send key presses, replies and
// hang-ups without reloading the page. Plain JS, no inline scripts (the CSP forbids them).
(function () {
  "use strict";
  var screen = document.getElementById("phone-screen");
  var controls = document.getElementById("phone-controls");
  if (!screen || !controls) { return; }
  var message = controls.querySelector(".phone-message");
  var last = screen.innerHTML;

  function playing() {
    // Replacing the screen would restart an audio player someone is listening to.
    return Array.prototype.some.call(screen.querySelectorAll("audio"), function (a) { return !a.paused; });
  }

  function markWaiting() {
    var root = screen.querySelector(".phone-screen");
    controls.classList.toggle("waiting", !!root && root.dataset.waiting === "1");
  }

  function refresh() {
    return fetch(screen.dataset.stateUrl, {credentials: "same-origin"})
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (html !== last && !playing()) {
          screen.innerHTML = html;
          last = html;
          markWaiting();
        }
      });
  }

  function loop() {
    refresh().catch(function () { return null; }).then(function () { setTimeout(loop, 2000); });
  }

  controls.querySelectorAll("form.sim-action").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData(form);
      if (e.submitter && e.submitter.name) { data.append(e.submitter.name, e.submitter.value); }
      fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                          headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.json(); })
        .then(function (reply) {
          message.textContent = reply.message || "";
          message.className = "phone-message flash " + (reply.category === "message" ? "" : reply.category);
          if (reply.ok && form.classList.contains("reply")) { form.reset(); }
          return refresh();
        })
        .catch(function (err) { message.textContent = String(err); });
    });
  });
  markWaiting();
  setTimeout(loop, 2000);
}());
