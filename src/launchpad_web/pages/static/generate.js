// The generate form follows the answers as they are typed: the server (the same core
// code a job runs, through the evaluator) says which questions apply now, each one's
// current default and the problems of what was typed (POST /api/templates/<id>/form).
// Questions that do not apply are hidden and their fields disabled; an untouched text
// field shows its current default as placeholder, an untouched checkbox its value.
(function () {
  "use strict";
  var form = document.querySelector("form[data-form-url]");
  if (!form || !window.fetch) { return; }
  var timer = null;
  var sent = 0;
  var touched = {};

  function fields(wrapper) {
    return Array.prototype.slice.call(wrapper.querySelectorAll("input, select, textarea"));
  }

  function answerOf(wrapper) {
    var inputs = fields(wrapper);
    if (!inputs.length) { return undefined; }
    var first = inputs[0];
    if (first.type === "checkbox" && inputs.length === 1) { return first.checked ? "true" : "false"; }
    if (first.type === "checkbox") {
      return inputs.filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
    }
    if (first.type === "radio") {
      var chosen = inputs.filter(function (i) { return i.checked; })[0];
      return chosen ? chosen.value : undefined;
    }
    return first.value === "" ? undefined : first.value;
  }

  function answers() {
    var result = {};
    form.querySelectorAll("[data-question]").forEach(function (wrapper) {
      if (wrapper.hidden) { return; }
      var value = answerOf(wrapper);
      if (value !== undefined) { result[wrapper.dataset.question] = value; }
    });
    return result;
  }

  function show(state) {
    var problems = {};
    state.problems.forEach(function (p) {
      problems[p.field.replace(/^\$\.answers\./, "")] = p.message;
    });
    state.questions.forEach(function (q) {
      var wrapper = form.querySelector('[data-question="' + CSS.escape(q.name) + '"]');
      if (!wrapper) { return; }
      wrapper.hidden = !q.applies;
      fields(wrapper).forEach(function (input) {
        input.disabled = !q.applies;
        if (touched[q.name] || q.value === null || q.value === undefined) { return; }
        if (input.type === "checkbox" && fields(wrapper).length === 1) {
          input.checked = q.value === true;
        } else if (input.tagName !== "SELECT" && input.type !== "radio" &&
                   input.type !== "checkbox" && input.type !== "password") {
          input.placeholder = typeof q.value === "string" ? q.value : JSON.stringify(q.value);
        }
      });
      // The server's message of a refused submit, if shown, is the one kept up to date.
      var shown = wrapper.querySelector(".field-error:not([data-live-error])") ||
                  wrapper.querySelector("[data-live-error]");
      if (shown) {
        shown.textContent = problems[q.name] || "";
        shown.hidden = !problems[q.name];
      }
      fields(wrapper).forEach(function (input) {
        if (problems[q.name]) { input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
      });
    });
  }

  var inflight = null;

  function refresh() {
    var mine = ++sent;
    var request = fetch(form.dataset.formUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({answers: answers(), version: Number(form.dataset.version),
                            as_text: true})
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (state) {
      if (state && mine === sent) { show(state); }  // an older answer never wins
    }).catch(function () { /* offline: the form still submits and the server checks */ })
      .then(function () { if (inflight === request) { inflight = null; } });
    inflight = request;  // the whole exchange, the body read included
  }

  function changed(event) {
    var wrapper = event.target.closest("[data-question]");
    if (wrapper) { touched[wrapper.dataset.question] = true; }
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  // Submitting while the form is being refreshed: let that request finish first (a
  // navigation would abort it), then submit; no refresh starts after the submit.
  form.addEventListener("submit", function (event) {
    clearTimeout(timer);
    form.removeEventListener("input", changed);
    form.removeEventListener("change", changed);
    if (inflight) {
      event.preventDefault();
      inflight.then(function () { form.submit(); });
    }
  });
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  refresh();
}());
