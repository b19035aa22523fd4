/* anonymotion web page: upload, start stages, progress by phase, the review player. No dependencies.
   Styles are only ever set through the CSSOM (element.style.x / canvas), never as style attributes:
   the page's Content-Security-Policy forbids inline styles. */
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

  function formatEta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    seconds = Math.round(seconds);
    if (seconds < 60) return ", about " + seconds + " s left";
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return ", about " + m + " min " + (s < 10 ? "0" : "") + s + " s left";
  }

  function request(method, url, body, onDone) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    if (body !== null) xhr.setRequestHeader("Content-Type", "application/json");
    xhr.addEventListener("load", function () { onDone(xhr.status, xhr.responseText); });
    xhr.addEventListener("error", function () { onDone(0, ""); });
    xhr.send(body === null ? null : JSON.stringify(body));
  }

  /* local clock time of retention deadlines (the server renders "x h from now" without JS) */
  Array.prototype.forEach.call(document.querySelectorAll("time.local-time"), function (el) {
    var when = new Date(parseInt(el.getAttribute("datetime"), 10) * 1000);
    if (!isNaN(when.getTime())) {
      el.textContent = when.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
    }
  });

  /* ---- 1 Upload ------------------------------------------------------------------------ */
  var uploadForm = $("upload-form");
  if (uploadForm) {
    var input = $("file-input"), zone = $("dropzone"), label = $("file-label"), code = $("label-input");
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
      if (code.value && !/^[A-Za-z0-9_-]{1,32}$/.test(code.value)) {
        showError(err, "The case code may only contain letters, digits, - and _ (up to 32).");
        return;
      }
      var data = new FormData();
      data.append("file", input.files[0], "upload");  /* the real file name never leaves the browser */
      if (code.value) data.append("label", code.value);
      var xhr = new XMLHttpRequest();
      var bar = $("upload-progress"), text = $("upload-text"), button = $("upload-button");
      bar.hidden = false;
      button.disabled = true;
      xhr.open("POST", uploadForm.getAttribute("action"));
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.addEventListener("progress", function (ev) {
        if (ev.lengthComputable) {
          var pct = 100 * ev.loaded / ev.total;
          bar.value = pct;
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

  /* ---- job page ----------------------------------------------------------------------- */
  var job = $("job");
  if (!job || !job.dataset.jobId) return;

  function startStage(form, button, body) {
    button.disabled = true;
    request("POST", form.dataset.url, body, function (status, text) {
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
        method: method.value,
        level: parseInt(level.value, 10),
        shape: $("shape").value,
        keep_audio: $("keep-audio").checked,
        accept_damaged: $("accept-damaged") ? $("accept-damaged").checked : false,
        test: $("test-after") ? $("test-after").checked : false,
        detector: $("detector") ? $("detector").value : null
      });
    });
  }
  var testForm = $("test-form");
  if (testForm) {
    testForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var chosen = testForm.querySelector('input[name="person"]:checked');
      startStage(testForm, $("test-button"), { person: chosen ? parseInt(chosen.value, 10) : null });
    });
  }

  function confirmDelete(button, question, after) {
    if (!button) return;
    button.addEventListener("click", function () {
      if (!window.confirm(question)) return;
      request("DELETE", button.dataset.url, null, function (status, text) {
        if (status === 204) after();
        else window.alert(status ? detailOf(text, status) : "The server cannot be reached.");
      });
    });
  }
  confirmDelete($("delete-job"), "Delete this job and all its files now?", function () { window.location.assign("/"); });
  confirmDelete($("end-session"), "Delete the original upload now? The results stay until the retention ends.",
                function () { window.location.reload(); });

  /* ---- live progress by phase ---------------------------------------------------------- */
  var initial = { anonymize: job.dataset.anonymizeState, test: job.dataset.testState };

  function renderProgress(p) {
    var block = $("job-progress");
    if (!block) return;
    block.hidden = !p;
    if (!p) return;
    $("job-bar").value = p.percent;
    $("job-progress-text").textContent = p.queued ? "Waiting for a free worker…"
      : (p.phase || "Starting") + " · " + p.percent.toFixed(0) + " % of the whole job" + formatEta(p.eta_seconds);
    var list = $("phase-list");
    list.textContent = "";
    p.phases.forEach(function (ph) {
      var li = document.createElement("li");
      li.className = "phase phase-" + ph.state;
      li.dataset.phase = ph.name;
      var name = document.createElement("span");
      name.className = "phase-label";
      name.textContent = ph.label;
      var count = document.createElement("span");
      count.className = "phase-count";
      count.textContent = ph.done + " / " + ph.total + " frame" + (ph.total === 1 ? "" : "s");
      li.appendChild(name);
      li.appendChild(count);
      list.appendChild(li);
    });
  }

  function poll() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", job.dataset.stateUrl);
    xhr.addEventListener("load", function () {
      if (xhr.status === 404) { window.location.reload(); return; }
      if (xhr.status !== 200) { window.setTimeout(poll, 3000); return; }
      var state = JSON.parse(xhr.responseText);
      renderProgress(state.progress);
      var changed = false;
      ["anonymize", "test"].forEach(function (stage) {
        var t = state.stages[stage];
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

  /* ---- review player: original and anonymized side by side, in sync ---------------------- */
  var review = $("review");
  if (review) setupPlayer(review);

  function setupPlayer(root) {
    var fps = parseFloat(root.dataset.fps) || 25;
    var main = $("review-anonymized"), other = $("review-original");
    var videos = other ? [main, other] : [main];
    var seek = $("seek"), timecode = $("timecode"), play = $("play-button");
    var showRegions = $("show-regions"), showSkeleton = $("show-skeleton");
    var CHUNK = 240;  /* frames per overlay request: long videos are never loaded whole */
    var chunks = {}, info = null, highlight = null;

    function frameAt(t) { return Math.max(0, Math.floor(t * fps + 1e-3)); }

    function loadChunk(k) {
      if (k < 0 || chunks[k] !== undefined) return;
      chunks[k] = null;  /* requested */
      var xhr = new XMLHttpRequest();
      xhr.open("GET", root.dataset.overlayUrl + "?start=" + (k * CHUNK) + "&count=" + CHUNK);
      xhr.addEventListener("load", function () {
        if (xhr.status !== 200) { delete chunks[k]; return; }
        chunks[k] = JSON.parse(xhr.responseText);
        info = info || chunks[k];
        root.dataset.overlay = "ready";
        redraw();
      });
      xhr.addEventListener("error", function () { delete chunks[k]; });
      xhr.send();
    }

    function recordAt(t) {  /* the overlay record of the frame shown at time t (by its timestamp) */
      var k = Math.floor(frameAt(t) / CHUNK);
      loadChunk(k);
      loadChunk(k + 1);  /* the next window, before playback gets there */
      var doc = chunks[k];
      if (!doc || !doc.frames.length) return null;
      var f = doc.frames, lo = 0, hi = f.length - 1;
      if (t + 0.5 / fps < f[0].t && chunks[k - 1] && chunks[k - 1].frames.length) {
        doc = chunks[k - 1];
        return { index: doc.frames.length - 1, doc: doc, rec: doc.frames[doc.frames.length - 1] };
      }
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (f[mid].t <= t + 0.5 / fps) lo = mid; else hi = mid - 1;
      }
      return { index: lo, doc: doc, rec: f[lo] };
    }

    function contentBox(video, canvas) {  /* where the frame is drawn inside the element (object-fit: contain) */
      var w = video.clientWidth, h = video.clientHeight;
      var vw = video.videoWidth || (info && info.width) || w;
      var vh = video.videoHeight || (info && info.height) || h;
      var s = Math.min(w / vw, h / vh);
      canvas.width = w;
      canvas.height = h;
      return { s: s * vw / ((info && info.width) || vw), x: (w - vw * s) / 2, y: (h - vh * s) / 2 };
    }

    function draw(video, canvas, which) {
      if (!canvas) return;
      var b = contentBox(video, canvas);
      var ctx = canvas.getContext("2d");
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      var at = recordAt(video.currentTime);
      if (!at) return;
      if (showRegions.checked) {
        ctx.strokeStyle = "#ffd43b";
        ctx.lineWidth = 2;
        at.rec.regions.forEach(function (r) {
          var x = b.x + r[0] * b.s, y = b.y + r[1] * b.s, w = (r[2] - r[0]) * b.s, h = (r[3] - r[1]) * b.s;
          ctx.beginPath();
          if (at.doc.shape === "ellipse") ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, 2 * Math.PI);
          else ctx.rect(x, y, w, h);
          ctx.stroke();
        });
      }
      var sk = at.doc.skeleton;
      if (showSkeleton && showSkeleton.checked && sk && sk[which] && sk[which][at.index]) {
        var pts = sk[which][at.index];
        ctx.strokeStyle = "#4dabf7";
        ctx.lineWidth = 2;
        sk.edges.forEach(function (e) {
          var p = pts[e[0]], q = pts[e[1]];
          if (!p || !q) return;
          ctx.beginPath();
          ctx.moveTo(b.x + p[0] * b.s, b.y + p[1] * b.s);
          ctx.lineTo(b.x + q[0] * b.s, b.y + q[1] * b.s);
          ctx.stroke();
        });
      }
      if (highlight && highlight.frame === at.doc.start + at.index) {
        var h2 = highlight.box;
        ctx.strokeStyle = "#fa5252";
        ctx.lineWidth = 3;
        ctx.strokeRect(b.x + h2[0] * b.s, b.y + h2[1] * b.s, (h2[2] - h2[0]) * b.s, (h2[3] - h2[1]) * b.s);
      }
    }

    function redraw() {
      draw(main, $("overlay-anonymized"), "anonymized");
      if (other) draw(other, $("overlay-original"), "original");
      var t = main.currentTime;
      seek.value = t;
      timecode.textContent = "frame " + frameAt(t) + " · " + t.toFixed(2) + " s";
    }

    function syncOthers() {
      if (!other) return;
      if (Math.abs(other.currentTime - main.currentTime) > 0.5 / fps) other.currentTime = main.currentTime;
    }

    function seekTo(t) {
      videos.forEach(function (v) { v.pause(); v.currentTime = Math.max(0, t); });
    }

    function loop() {
      syncOthers();
      redraw();
      if (!main.paused && !main.ended) window.requestAnimationFrame(loop);
    }

    play.addEventListener("click", function () {
      if (main.paused) {
        syncOthers();
        videos.forEach(function (v) { v.play(); });
        play.textContent = "Pause";
        window.requestAnimationFrame(loop);
      } else {
        videos.forEach(function (v) { v.pause(); });
        syncOthers();
        play.textContent = "Play";
      }
    });
    main.addEventListener("ended", function () { if (other) other.pause(); play.textContent = "Play"; });
    videos.forEach(function (v) { v.addEventListener("seeked", redraw); v.addEventListener("loadeddata", redraw); });
    seek.addEventListener("input", function () { seekTo(parseFloat(seek.value)); });
    $("step-back").addEventListener("click", function () { seekTo((frameAt(main.currentTime) - 1 + 0.5) / fps); });
    $("step-forward").addEventListener("click", function () { seekTo((frameAt(main.currentTime) + 1 + 0.5) / fps); });
    [showRegions, showSkeleton].forEach(function (box) { if (box) box.addEventListener("change", redraw); });
    window.addEventListener("resize", redraw);

    loadChunk(0);

    /* leak crops: each thumbnail shows its moment in the player, with the leaked face outlined */
    Array.prototype.forEach.call(document.querySelectorAll(".crop-seek"), function (button) {
      button.addEventListener("click", function () {
        var item = button.closest(".crop");
        var crop = item ? JSON.parse(item.dataset.crop || "null") : null;
        var frame = parseInt(button.dataset.frame, 10);
        highlight = crop ? { frame: frame, box: crop.box } : null;
        seekTo(parseFloat(button.dataset.t) + 0.25 / fps);
        root.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".not-a-face"), function (box) {
      box.addEventListener("change", function () {
        var marks = {};
        marks[box.value] = box.checked;
        box.disabled = true;
        request("POST", job.dataset.reviewUrl, { not_a_face: marks }, function (status, text) {
          box.disabled = false;
          if (status !== 200) {
            box.checked = !box.checked;
            window.alert(status ? detailOf(text, status) : "The server cannot be reached.");
            return;
          }
          var marked = JSON.parse(text).not_a_face;
          Array.prototype.forEach.call(document.querySelectorAll(".crop"), function (li) {
            li.classList.toggle("crop-marked", marked.indexOf(li.dataset.name) >= 0);
          });
          var note = $("review-marks");
          if (note) {
            note.textContent = marked.length + " of " + note.dataset.total
              + " crops marked “not a face” (recorded in the manifest, without your identity).";
          }
        });
      });
    });
  }
})();
