// Live progress of a generation job: follows /api/generate/<id>/events (server-sent
// events, resumed by the browser after each bounded stream), shows the render's
// progress events in the progress bar, and reloads the page
// once the job has finished and the stream has ended, to show its downloads.
(function () {
  "use strict";
  var section = document.getElementById("job");
  if (!section || section.dataset.live !== "true" || !window.EventSource) { return; }
  var status = document.getElementById("job-status");
  var log = document.getElementById("job-log");
  var bar = document.getElementById("job-progress");
  var barText = document.getElementById("job-progress-text");
  var source = new EventSource("/api/generate/" + section.dataset.jobId + "/events");
  var seen = Number(section.dataset.seen || 0);  // log steps already on the page
  function onStep(event) {
    if (Number(event.lastEventId) <= seen) { return; }
    seen = Number(event.lastEventId);
    var step = JSON.parse(event.data);
    var item = document.createElement("li");
    var when = document.createElement("span");
    when.className = "muted";
    when.textContent = step.at;
    var name = document.createElement("strong");
    name.textContent = step.step;
    item.append(when, " ", name, " " + step.message);
    log.append(item);
    status.textContent = step.status;
    status.className = "status status-" + step.status;
    if (step.status === "completed") { bar.value = bar.max; }
    finished = finished || step.status === "completed" || step.status === "failed";
  }
  // How far the render is (files done of all, the template file, bytes): no id, so the
  // browser resumes after the last log step whatever progress it saw.
  function onProgress(event) {
    var progress = JSON.parse(event.data);
    bar.max = Math.max(progress.total, 1);
    bar.value = progress.total ? progress.files : bar.max;
    bar.textContent = progress.files + " of " + progress.total;
    barText.textContent = progress.files + " of " + progress.total + " files" +
      (progress.path ? " · " + progress.path : "") + " · " + progress.bytes + " bytes";
  }
  source.addEventListener("progress", onProgress);
  // The server ends the stream after the last step; only then (the request done, not
  // aborted) stop the browser from reconnecting and reload to show the downloads.
  var finished = false;
  source.addEventListener("error", function () {
    if (finished) {
      source.close();
      window.location.reload();
    }
  });
  ["queued", "started", "retrying", "completed", "failed"].forEach(function (kind) {
    source.addEventListener(kind, onStep);
  });
}());
