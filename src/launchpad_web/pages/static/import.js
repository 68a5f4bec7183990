// The import job page: while the job runs, its state is asked for
// (GET /api/templates/imports/<id>) every second, and the page is reloaded once the
// job has ended, to show the template it made (or why it could not).
(function () {
  "use strict";
  var POLL_MILLISECONDS = 1000;
  var box = document.querySelector(".import-job[data-live='true']");
  if (!box) {
    return;
  }
  var status = box.querySelector("[data-import-status]");
  function show(found) {
    status.textContent = found.status;
    if (found.status === "completed" || found.status === "failed") {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, POLL_MILLISECONDS);
  }
  function poll() {
    fetch(box.dataset.importUrl, {headers: {"Accept": "application/json"}})
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer); })
      .then(show, function () { window.setTimeout(poll, POLL_MILLISECONDS * 5); });
  }
  window.setTimeout(poll, POLL_MILLISECONDS);
}());
