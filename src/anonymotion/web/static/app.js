/* anonymotion web page: upload with progress, start stages, poll progress. No dependencies. */
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function $(id) { return document.getElementById(id); }

  function showError(el, message) {
    if (!el) { window.alert(message); return; }
    el.textContent = message;
    el.hidden = false;
  }

  function detailOf(xhrText, status) {
    try {
      var body = JSON.parse(xhrText);
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) return body.detail.map(function (d) { return d.msg; }).join("; ");
    } catch (e) { /* not JSON */ }
    return "The server answered " + status + ".";
  }

  function capitalize(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

  function formatEta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    seconds = Math.round(seconds);
    if (seconds < 60) return ", about " + seconds + " s left";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return ", about " + m + " min " + (s < 10 ? "0" : "") + s + " s left";
  }

  /* ---- 1 Upload ------------------------------------------------------------------------ */
  var uploadForm = $("upload-form");
  if (uploadForm) {
    var input = $("file-input"), zone = $("dropzone"), label = $("file-label");
    var showChosen = function () {
      if (input.files.length) {
        var f = input.files[0];
        label.textContent = "Selected: " + f.name + " (" + (f.size / 1048576).toFixed(1) + " MB)";
      }
    };
    input.addEventListener("change", showChosen);
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("drag"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("drag"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; showChosen(); }
    });
    uploadForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var err = $("upload-error");
      err.hidden = true;
      if (!input.files.length) { showError(err, "Choose a file first."); return; }
      var data = new FormData();
      data.append("file", input.files[0], "upload");  /* the real file name never leaves the browser */
      var xhr = new XMLHttpRequest();
      var bar = $("upload-progress"), text = $("upload-text"), button = $("upload-button");
      bar.hidden = false;
      button.disabled = true;
      xhr.open("POST", uploadForm.getAttribute("action"));
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.addEventListener("progress", function (ev) {
        if (ev.lengthComputable) {
          var pct = 100 * ev.loaded / ev.total;
          bar.firstElementChild.style.width = pct.toFixed(1) + "%";
          text.textContent = pct < 100 ? "Uploading: " + pct.toFixed(0) + " %" : "Checking that the file decodes…";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 201) {
          text.textContent = "Accepted.";
          window.location.assign(JSON.parse(xhr.responseText).url);
          return;
        }
        bar.hidden = true;
        text.textContent = "";
        button.disabled = false;
        showError(err, detailOf(xhr.responseText, xhr.status));
      });
      xhr.addEventListener("error", function () {
        bar.hidden = true;
        button.disabled = false;
        showError(err, "The upload was interrupted (is the file larger than the limit, or the server stopped?).");
      });
      xhr.send(data);
    });
  }

  /* ---- 2-5 job page ------------------------------------------------------------------- */
  var job = $("job");
  if (!job || !job.dataset.jobId) return;

  function post(url, body, onDone) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.addEventListener("load", function () { onDone(xhr.status, xhr.responseText); });
    xhr.addEventListener("error", function () { onDone(0, ""); });
    xhr.send(body === null ? "" : JSON.stringify(body));
  }

  function startStage(form, button, body) {
    button.disabled = true;
    post(form.dataset.url, body, function (status, text) {
      if (status === 202) {
        window.location.reload();
      } else {
        button.disabled = false;
        var box = document.createElement("div");
        box.className = "alert alert-error";
        box.setAttribute("role", "alert");
        box.textContent = status ? detailOf(text, status) : "The server cannot be reached.";
        form.appendChild(box);
      }
    });
  }

  var anonForm = $("anonymize-form");
  if (anonForm) {
    var method = $("method"), level = $("level");
    var syncLevel = function () {  /* some methods have no strength setting */
      var opt = method.options[method.selectedIndex];
      level.disabled = !opt || opt.dataset.levels !== "yes";
    };
    method.addEventListener("change", syncLevel);
    syncLevel();
    anonForm.addEventListener("submit", function (e) {
      e.preventDefault();
      startStage(anonForm, $("anonymize-button"), {
        method: $("method").value,
        level: parseInt($("level").value, 10),
        shape: $("shape").value,
        keep_audio: $("keep-audio").checked,
        detector: $("detector") ? $("detector").value : null
      });
    });
  }
  var testForm = $("test-form");
  if (testForm) {
    testForm.addEventListener("submit", function (e) {
      e.preventDefault();
      startStage(testForm, $("test-button"), null);
    });
  }
  var del = $("delete-job");
  if (del) {
    del.addEventListener("click", function () {
      if (!window.confirm("Delete this job and all its files now?")) return;
      var xhr = new XMLHttpRequest();
      xhr.open("DELETE", del.dataset.url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.addEventListener("load", function () {
        if (xhr.status === 204) window.location.assign("/");
        else window.alert(detailOf(xhr.responseText, xhr.status));
      });
      xhr.send();
    });
  }

  /* ---- live progress ------------------------------------------------------------------ */
  var initial = { anonymize: job.dataset.anonymizeState, test: job.dataset.testState };

  function render(stage, t) {
    var block = $(stage + "-progress-block");
    if (!block || !t) return;
    var active = t.state === "queued" || t.state === "running";
    block.hidden = !active;
    if (!active) return;
    var pct = t.total ? Math.min(100, 100 * t.done / t.total) : 0;
    $(stage + "-bar").style.width = pct.toFixed(1) + "%";
    block.querySelector(".progress").setAttribute("aria-valuenow", pct.toFixed(1));
    var text = $(stage + "-progress-text");
    if (t.state === "queued") text.textContent = "Waiting for a free worker…";
    else text.textContent = capitalize(t.phase || "working") + ": " + t.done + " / " + (t.total || "?") + " frames ("
      + pct.toFixed(0) + " %" + formatEta(t.eta_seconds) + ")";
  }

  function poll() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", job.dataset.stateUrl);
    xhr.addEventListener("load", function () {
      if (xhr.status === 404) { window.location.reload(); return; }
      if (xhr.status !== 200) { window.setTimeout(poll, 3000); return; }
      var state = JSON.parse(xhr.responseText);
      var changed = false;
      ["anonymize", "test"].forEach(function (stage) {
        var t = state.stages[stage];
        render(stage, t);
        var now = t ? t.state : "";
        if (now !== initial[stage] && (now === "done" || now === "failed")) changed = true;
      });
      if (changed || !state.busy) window.location.reload();
      else window.setTimeout(poll, 1000);
    });
    xhr.addEventListener("error", function () { window.setTimeout(poll, 3000); });
    xhr.send();
  }

  if (job.dataset.busy === "true") window.setTimeout(poll, 500);
})();
