// Notice page: upload with progress, microphone recording, live SMS counter, resident preview.
// Plain JS, no inline scripts (the CSP forbids them).
(function () {
  "use strict";

  function sendForm(form, body) {
    var bar = form.querySelector("progress");
    var message = form.querySelector(".upload-message");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "fetch");
    if (bar) { bar.hidden = false; bar.value = 0; }
    xhr.upload.onprogress = function (e) {
      if (bar && e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    };
    xhr.onload = function () {
      var reply = {};
      try { reply = JSON.parse(xhr.responseText); } catch (err) { reply = {ok: false, message: xhr.statusText}; }
      if (xhr.status === 413) { reply = {ok: false, message: form.dataset.tooLarge || "413"}; }
      message.textContent = reply.message || "";
      message.className = "upload-message flash " + (reply.ok ? "" : "error");
      if (reply.ok && reply.redirect) { window.location = reply.redirect + "#audio"; window.location.reload(); }
    };
    xhr.onerror = function () { message.textContent = "⚠"; };
    message.textContent = "…";
    xhr.send(body);
  }

  var upload = document.getElementById("upload-form");
  if (upload) {
    upload.addEventListener("submit", function (e) {
      e.preventDefault();
      sendForm(upload, new FormData(upload));
    });
  }

  var rec = document.getElementById("record-form");
  if (rec && navigator.mediaDevices && window.MediaRecorder) {
    var recorder = null, chunks = [], blob = null;
    var start = rec.querySelector("[data-action=record]");
    var stop = rec.querySelector("[data-action=stop]");
    var use = rec.querySelector("button[type=submit]");
    var player = rec.querySelector("audio");
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({audio: true}).then(function (stream) {
        chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.ondataavailable = function (e) { if (e.data.size) { chunks.push(e.data); } };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          blob = new Blob(chunks, {type: recorder.mimeType || "audio/webm"});
          player.src = URL.createObjectURL(blob);
          player.hidden = false;
          use.disabled = false;
        };
        recorder.start();
        start.disabled = true; stop.disabled = false; use.disabled = true;
      }).catch(function (err) {
        rec.querySelector(".upload-message").textContent = String(err);
      });
    });
    stop.addEventListener("click", function () {
      if (recorder) { recorder.stop(); }
      start.disabled = false; stop.disabled = true;
    });
    rec.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!blob) { return; }
      var data = new FormData(rec);
      data.append("file", blob, "recording.webm");
      sendForm(rec, data);
    });
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var out = area.parentNode.querySelector(".sms-counter");
    var timer = null;
    function update() {
      var body = new FormData();
      body.append("text", area.value);
      var hintBox = document.querySelector("input[name=append_reply_hint]");
      body.append("append_reply_hint", hintBox ? (hintBox.checked ? "1" : "0") : area.dataset.replyHint);
      body.append("csrf_token", csrfToken());
      fetch(area.dataset.countUrl, {method: "POST", body: body, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (c) {
          if (c.error) { out.textContent = c.error; out.className = "sms-counter flash error"; return; }
          var labels = out.dataset;
          out.textContent = c.encoding + " · " + labels.chars.replace("{n}", c.chars) + " · " +
            labels.segmentsLabel.replace("{n}", c.segments).replace("{p}", c.per_segment) + " · " +
            labels.remaining.replace("{n}", c.remaining);
          out.className = "sms-counter " + (c.multi ? "flash warning" : "muted");
          out.dataset.segments = c.segments;
        });
    }
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 150); });
    var hint = document.querySelector("input[name=append_reply_hint]");
    if (hint) { hint.addEventListener("change", update); }
    update();
  });

  var preview = document.getElementById("preview-resident");
  if (preview) {
    preview.addEventListener("change", function () {
      var out = document.querySelector(".sms-preview");
      if (!preview.value) { out.textContent = ""; return; }
      fetch(preview.dataset.previewUrl + "?resident_id=" + encodeURIComponent(preview.value), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (p) { out.textContent = p.error ? p.error : p.text + "\n\n(" + p.encoding + ", " + p.segments + " SMS)"; });
    });
  }
})();
