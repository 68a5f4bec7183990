// Progress of the job page's publish jobs: each one still running is asked for its
// state (GET /api/generate/<job>/publish/<id>) every second; its status and log are
// updated in place, and the page is reloaded once it has finished, to show where the
// project went (or why it could not).
(function () {
  "use strict";
  var POLL_MILLISECONDS = 1000;
  function follow(box) {
    var status = box.querySelector("[data-publish-status]");
    var log = box.querySelector("[data-publish-log]");
    function show(found) {
      status.textContent = found.status;
      status.className = "status status-" + found.status;
      found.log.slice(log.children.length).forEach(function (step) {
        var item = document.createElement("li");
        var when = document.createElement("span");
        when.className = "muted";
        when.textContent = step.at;
        var name = document.createElement("strong");
        name.textContent = step.step;
        item.append(when, " ", name, " " + step.message);
        log.append(item);
      });
      if (found.status === "completed" || found.status === "failed") {
        window.location.reload();
        return;
      }
      window.setTimeout(poll, POLL_MILLISECONDS);
    }
    function poll() {
      fetch(box.dataset.publishUrl, {headers: {"Accept": "application/json"}})
        .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer); })
        .then(show, function () { window.setTimeout(poll, POLL_MILLISECONDS * 5); });
    }
    window.setTimeout(poll, POLL_MILLISECONDS);
  }
  document.querySelectorAll(".publish-job[data-live='true']").forEach(follow);
}());
