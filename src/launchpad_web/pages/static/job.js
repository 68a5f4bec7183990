// Live progress of a generation job: follows /api/generate/<id>/events (server-sent
// events, resumed by the browser after each bounded stream) and reloads the page
// once the job has finished and the stream has ended, to show its downloads.
(function () {
  "use strict";
  var section = document.getElementById("job");
  if (!section || section.dataset.live !== "true" || !window.EventSource) { return; }
  var status = document.getElementById("job-status");
  var log = document.getElementById("job-log");
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
    finished = finished || step.status === "completed" || step.status === "failed";
  }
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
