// The visual template builder: a thin layer over the JSON API. It edits one
// definition object (exactly the JSON that PUT /api/templates/<id> takes) through
// three views (files, variables, JSON), previews the unsaved draft through
// POST .../preview (debounced), and saves with If-Match so that a stale tab gets a
// conflict, never a lost write.
(function () {
  "use strict";
  var root = document.getElementById("builder");
  if (!root) { return; }
  var api = "/api/templates/" + root.dataset.templateId;
  var types = root.dataset.types.split(" ");
  var ATTRIBUTES = ["help", "default", "choices", "pattern", "validator", "when"];
  var state = { def: null, name: "", version: 0, file: 0, folder: null, answers: {}, errors: [], rendered: null, dirty: false };
  var timer = null;
  var previewSeq = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") { node.textContent = props[key]; } else { node.setAttribute(key, props[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.append(child); } });
    return node;
  }
  function badge(text, bad) { return el("span", { "class": bad ? "badge bad" : "badge", text: text }); }
  function isTemplated(text) { return /\{\{|\{%/.test(text || ""); }
  function say(text) { $("b-status").textContent = text; }
  function alertBox(text, action) {
    var box = $("b-alert");
    box.replaceChildren(el("p", { text: text }));
    if (action) { box.append(action); }
    box.hidden = !text;
  }
  function request(method, url, body, headers) {
    var init = { method: method, headers: Object.assign({ "Accept": "application/json" }, headers || {}) };
    if (method !== "GET") { init.headers["X-CSRF-Token"] = root.dataset.csrf; }
    if (body instanceof Blob) {
      init.body = body;  // an upload: its Content-Type is in headers
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    // The service refuses an evaluation for a moment when this account already has
    // two running (two tabs previewing, say) or every evaluator is busy: 429/503 with
    // Retry-After. Nothing was applied then, so the same request is sent again after
    // the pause it asks for, a few times, before the refusal is shown.
    function attempt(left) {
      return fetch(url, init).then(function (resp) {
        var wait = Number(resp.headers.get("Retry-After"));
        if ((resp.status === 429 || resp.status === 503) && left > 0 && wait > 0 && wait <= 10) {
          return new Promise(function (resolve) { setTimeout(resolve, wait * 1000); })
            .then(function () { return attempt(left - 1); });
        }
        return resp.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
          return { status: resp.status, ok: resp.ok, data: data };
        });
      });
    }
    return attempt(3);
  }
  function problemText(data) {
    return (data && (data.detail || data.title)) || "the server did not answer";
  }

  // -- loading and saving ---------------------------------------------------------------
  function load(view) {
    state.def = view.definition;
    state.name = view.name;
    state.version = view.version;
    state.errors = [];
    state.dirty = false;
    if (!Array.isArray(state.def.files)) { state.def.files = []; }
    if (!Array.isArray(state.def.variables)) { state.def.variables = []; }
    state.file = Math.min(state.file, Math.max(state.def.files.length - 1, 0));
    if (state.folder !== null && folders().indexOf(state.folder) < 0) { state.folder = null; }
    $("b-name").value = view.name;
    $("b-title").textContent = view.name;
    $("b-version").textContent = "version " + view.version;
    renderAll();
    root.querySelector(".builder-grid").removeAttribute("data-loading");
    schedulePreview(0);
  }
  function fetchLatest() {
    return request("GET", api).then(function (r) {
      if (!r.ok) { alertBox("Could not load the template: " + problemText(r.data)); return; }
      alertBox("");
      load(r.data);
    });
  }
  function put(definition, done) {
    var body = { name: $("b-name").value, definition: definition };
    return request("PUT", api, body, { "If-Match": '"v' + state.version + '"' }).then(function (r) {
      if (r.ok) {
        alertBox("");
        load(r.data);
        done(r.data);
        if (!$("view-versions").hidden) { showVersions(); }
      } else if (r.status === 409 || r.status === 412) {
        say("Not saved.");
        conflict();
      } else if (r.status === 422) {
        showErrors(r.data);
        say("Not saved: the definition has problems (shown at their place).");
      } else {
        say("Not saved.");
        alertBox("Not saved: " + problemText(r.data));
      }
    }, function () {
      say("Not saved.");
      alertBox("Not saved: the server could not be reached.");
    });
  }
  function conflict() {
    var reload = el("button", { type: "button", text: "Load the latest version (drops your edits)" });
    reload.addEventListener("click", fetchLatest);
    alertBox("Not saved: this template was changed elsewhere (another tab or person) since " +
      "you loaded version " + state.version + ". Your edits are still here: copy them from the " +
      "JSON view if you need them, then load the latest version.", reload);
  }
  function save() {
    previewSeq++;  // a preview answer arriving after the save must not undo its errors
    say("Saving…");
    put(state.def, function (view) { say("Saved as version " + view.version + "."); });
  }
  function exportJson() {
    var blob = new Blob([JSON.stringify(state.def, null, 2) + "\n"], { type: "application/json" });
    var link = el("a", { href: URL.createObjectURL(blob),
      download: (state.name || "template").replace(/[^A-Za-z0-9._-]+/g, "-") + ".json" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  function importZip() {
    var input = $("b-import");
    var file = input.files[0];
    if (!file) { return; }
    say("Importing " + file.name + "…");
    request("POST", "/api/templates/import", file, { "Content-Type": "application/zip" }).then(function (r) {
      input.value = "";
      if (!r.ok) {
        say("Not imported.");
        alertBox("Not imported: " + problemText(r.data));
        return;
      }
      alertBox("");
      state.def = r.data.definition;
      if (!Array.isArray(state.def.files)) { state.def.files = []; }
      if (!Array.isArray(state.def.variables)) { state.def.variables = []; }
      state.file = 0;
      state.folder = null;
      state.errors = [];
      state.answers = {};
      changed(true);
      if (!$("view-json").hidden) { renderJson(); }
      var skipped = r.data.skipped_tasks.length ? " Its tasks and hooks are left out (the service never runs them): " +
        r.data.skipped_tasks.join("; ") + "." : "";
      say("Imported a " + (r.data.format || "template") + " directory: " + state.def.files.length + " files, " +
        state.def.variables.length + " variables. Review it, then Save." + skipped);
    }, function () {
      input.value = "";
      say("Not imported: the server could not be reached.");
    });
  }

  // -- problems at their place ----------------------------------------------------------
  function showErrors(problem) {
    state.errors = (problem && problem.errors && problem.errors.length) ? problem.errors
      : [{ field: problem && problem.field, message: problemText(problem) }];
    renderFiles();
    renderEditor();
    renderVariables();
    var other = state.errors.filter(function (e) { return !fileOf(e) && varOf(e) === null; });
    alertBox(other.length ? other.map(function (e) { return (e.field || "") + " " + e.message; }).join("\n") : "");
  }
  function indexIn(error, kind) {
    var m = new RegExp("^\\$\\.definition\\." + kind + "\\[(\\d+)\\]").exec((error && error.field) || "");
    return m ? Number(m[1]) : null;
  }
  function fileOf(error) { var i = indexIn(error, "files"); return i === null ? null : state.def.files[i] || null; }
  function varOf(error) { return indexIn(error, "variables"); }
  function errorsOfFile(file) { return state.errors.filter(function (e) { return fileOf(e) === file; }); }

  // -- files ------------------------------------------------------------------------------
  // The definition is a flat list of paths; the tree shows its folders (a path ending in
  // "/" is a folder entry of its own, the others are implied by the paths under them).
  // The selection is a file (state.file, its index) or a folder (state.folder, "a/b/").
  function parentOf(path) { var trimmed = path.replace(/\/$/, ""); return trimmed.slice(0, trimmed.lastIndexOf("/") + 1); }
  function baseName(path) { var trimmed = path.replace(/\/$/, ""); return trimmed.slice(trimmed.lastIndexOf("/") + 1); }
  function folders() {
    var seen = {};
    state.def.files.forEach(function (file) {
      for (var folder = file.path.slice(-1) === "/" ? file.path : parentOf(file.path); folder; folder = parentOf(folder)) { seen[folder] = true; }
    });
    return Object.keys(seen).sort();
  }
  function selected() { return state.folder === null ? state.def.files[state.file] : null; }
  function select(index, folder) {
    state.file = index;
    state.folder = folder;
    renderFiles();
    renderEditor();
  }
  function entryBadges(button, file) {
    if (isTemplated(file.path)) { button.append(badge("templated path")); }
    if (file.encoding === "base64") { button.append(badge("binary")); }
    if (file.when !== undefined) { button.append(badge("when " + file.when)); }
    var errors = errorsOfFile(file);
    if (errors.length) { button.append(badge(errors.length + " problem" + (errors.length > 1 ? "s" : ""), true)); }
  }
  function treeItem(label, current, onClick) {
    var button = el("button", { type: "button", "aria-current": String(current) }, [el("code", { text: label })]);
    button.addEventListener("click", onClick);
    return button;
  }
  // Drag and drop (the mouse's way; "Move to…" is the keyboard's): an entry dropped on
  // a folder, or anywhere in a folder's list, goes into that folder; on the tree, to the top.
  var DRAGGED = "application/x-launchpad-path";
  function draggable(button, path) {
    button.draggable = true;
    button.addEventListener("dragstart", function (e) { e.dataTransfer.setData(DRAGGED, path); e.dataTransfer.effectAllowed = "move"; });
  }
  function dropTarget(node, folder) {
    node.addEventListener("dragover", function (e) { if (e.dataTransfer.types.indexOf(DRAGGED) >= 0) { e.preventDefault(); } });
    node.addEventListener("drop", function (e) {
      var from = e.dataTransfer.getData(DRAGGED);
      if (!from) { return; }
      e.preventDefault();
      e.stopPropagation();
      var to = folder + baseName(from) + (from.slice(-1) === "/" ? "/" : "");
      if (to !== from) { movePaths(from, to, "Moved"); }
    });
  }
  function renderFiles() {
    var list = $("b-files");
    var lists = { "": list };
    list.replaceChildren();
    folders().forEach(function (folder) {
      var entry = state.def.files.findIndex(function (f) { return f.path === folder; });
      var button = treeItem(folder, entry >= 0 ? state.folder === null && state.file === entry : state.folder === folder,
        function () { if (entry >= 0) { select(entry, null); } else { select(-1, folder); } });
      button.append(badge("folder"));
      draggable(button, folder);
      dropTarget(button, folder);
      if (entry >= 0) { entryBadges(button, state.def.files[entry]); } else if (isTemplated(folder)) { button.append(badge("templated path")); }
      lists[folder] = el("ul", { "class": "tree", "aria-label": "In " + folder });
      dropTarget(lists[folder], folder);
      lists[parentOf(folder)].append(el("li", { "class": "folder" }, [button, lists[folder]]));
    });
    state.def.files.map(function (file, i) { return { file: file, i: i }; })
      .filter(function (item) { return item.file.path.slice(-1) !== "/"; })
      .sort(function (a, b) { return a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0; })
      .forEach(function (item) {
        var button = treeItem(item.file.path, state.folder === null && item.i === state.file, function () { select(item.i, null); });
        entryBadges(button, item.file);
        draggable(button, item.file.path);
        (lists[parentOf(item.file.path)] || list).append(el("li", {}, [button]));
      });
    if (!state.def.files.length) { list.append(el("li", { "class": "muted", text: "No files yet." })); }
    var options = $("b-folders");
    options.replaceChildren.apply(options, folders().map(function (f) { return el("option", { value: f.replace(/\/$/, "") }); }));
  }
  // Only a changed value is written: writing moves the caret of the field being typed in.
  function setValue(input, value) { if (input.value !== value) { input.value = value; } }
  function renderEditor() {
    var file = selected();
    var folder = state.folder !== null || (file && file.path.slice(-1) === "/");
    $("b-editor").hidden = !file && state.folder === null;
    if ($("b-editor").hidden) { return; }
    setValue($("b-path"), file ? file.path : state.folder);
    $("b-when").parentNode.hidden = !file;
    if (file) { setValue($("b-when"), file.when === undefined ? "" : String(file.when)); }
    var shown = file ? "file " + state.file : "folder " + state.folder;
    if (shown !== movedFrom) {  // a new selection: its folder; else what is being typed stays
      movedFrom = shown;
      $("b-move-to").value = parentOf(file ? file.path : state.folder).replace(/\/$/, "");
    }
    var binary = !!file && file.encoding === "base64";
    $("b-binary").hidden = !binary;
    $("b-binary").textContent = binary ? "Binary file, " + byteSize(file.content) + " bytes: written as it is into generated " +
      "projects, never rendered, not editable here (to replace it, delete it and upload another)." : "";
    $("b-content-field").hidden = binary || folder;
    if (binary || folder) { return; }
    if (editor.setMarkers) { editor.setMarkers(markersOf(state.def)); }
    editor.set(file.content || "");
    var errors = errorsOfFile(file);
    $("b-content-error").textContent = errors.map(function (e) { return e.message; }).join("\n");
    editor.setProblems(errors.filter(function (e) { return /\.content$/.test(e.field || ""); }).map(function (e) {
      var line = /^line (\d+)/.exec(e.message);
      return { line: line ? Number(line[1]) : null, message: e.message };
    }));
    var line = errors.map(function (e) { return /^line (\d+)/.exec(e.message); }).filter(Boolean)[0];
    var go = $("b-goto-line");
    go.hidden = !line;
    go.dataset.line = line ? line[1] : "";
    go.textContent = line ? "Go to line " + line[1] : "";
  }
  var movedFrom = null;
  function byteSize(base64) { var pad = (/=*$/.exec(base64)[0] || "").length; return Math.floor(base64.length * 3 / 4) - pad; }
  function gotoLine() { editor.gotoLine(Number($("b-goto-line").dataset.line)); }
  function taken(path, except) {
    return state.def.files.some(function (f) { return except.indexOf(f) < 0 && f.path === path; });
  }
  function addEntry(spec) {
    if (taken(spec.path, [])) { say("There is already a file " + spec.path + "."); return false; }
    state.def.files.push(spec);
    state.file = state.def.files.length - 1;
    state.folder = null;
    $("b-new-path").value = "";
    changed(true);
    return true;
  }
  function addFile() {
    var path = $("b-new-path").value.trim();
    if (!path) { say("Type the new file's path first."); return; }
    if (addEntry({ path: path, content: "" })) { editor.focus(); }
  }
  // Like the core's FileSpec.from_bytes: text when the bytes are UTF-8 without NUL, else base64.
  function uploadFile() {
    var input = $("b-upload");
    var upload = input.files[0];
    if (!upload) { return; }
    var limit = Number(root.dataset.maxBytes);
    if (upload.size * 4 / 3 > limit) {
      input.value = "";
      say("Not added: " + upload.name + " is " + upload.size + " bytes; a template is saved whole in one request of at most " + limit + " bytes.");
      return;
    }
    var typed = $("b-new-path").value.trim();
    var folder = state.folder !== null ? state.folder : selected() ? parentOf(selected().path) : "";
    var path = !typed ? folder + upload.name : typed.slice(-1) === "/" ? typed + upload.name : typed;
    upload.arrayBuffer().then(function (buffer) {
      input.value = "";
      var bytes = new Uint8Array(buffer);
      var text = null;
      try { text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); } catch (e) { text = null; }
      var spec = { path: path, content: text };
      if (text === null || text.indexOf("\u0000") >= 0) {
        var chunks = [];
        for (var i = 0; i < bytes.length; i += 0x8000) { chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000))); }
        spec = { path: path, content: btoa(chunks.join("")), encoding: "base64", render: false };
      }
      if (addEntry(spec)) { say("Added " + path + (spec.encoding ? " (binary, " + bytes.length + " bytes)." : " (text).")); }
    });
  }
  // Renames the selection: a file's path, or a folder's prefix on every path under it.
  function movePaths(from, to, verb) {
    var isFolder = from.slice(-1) === "/";
    if (isFolder && to.slice(-1) !== "/") { to += "/"; }
    if (isFolder && to.indexOf(from) === 0) { say("A folder cannot go inside itself."); return false; }
    var moving = state.def.files.filter(function (f) { return isFolder ? f.path.indexOf(from) === 0 : f.path === from; });
    var clash = moving.map(function (f) { return to + f.path.slice(from.length); })
      .filter(function (path) { return taken(path, moving); })[0];
    if (clash) { say("There is already a file " + clash + "."); return false; }
    moving.forEach(function (f) { f.path = to + f.path.slice(from.length); });
    if (state.folder !== null) { state.folder = to; }
    changed(true);
    say((isFolder ? "Moved the folder and its " + moving.length + " entries to " : verb + " to ") + to + ".");
    return true;
  }
  function selectedPath() { return state.folder !== null ? state.folder : selected().path; }
  function renameFile() {
    var path = $("b-path").value.trim();
    if (!path) { say("A file needs a path."); return; }
    if (path !== selectedPath()) { movePaths(selectedPath(), path, "Renamed"); }
  }
  function moveTo() {
    var folder = $("b-move-to").value.trim().replace(/^\/+|\/+$/g, "");
    var from = selectedPath();
    var to = (folder ? folder + "/" : "") + baseName(from) + (from.slice(-1) === "/" ? "/" : "");
    if (to !== from) { movePaths(from, to, "Moved"); }
  }
  function deleteFile() {
    var path = selectedPath();
    var folder = path.slice(-1) === "/";
    var before = state.def.files.length;
    state.def.files = state.def.files.filter(function (f) { return folder ? f.path.indexOf(path) !== 0 : f.path !== path; });
    state.file = Math.max(0, Math.min(state.file, state.def.files.length - 1));
    state.folder = null;
    changed(true);
    say(folder ? "Deleted the folder " + path + " and its " + (before - state.def.files.length) + " entries." : "Deleted " + path + ".");
  }

  // -- the content editor: the textarea, until the CodeMirror bundle (vendor/editor.js)
  // has loaded after the page; if it never does, the textarea stays.
  var editor = {
    set: function (value) { setValue($("b-content"), value); },
    setProblems: function (problems) {
      if (problems.length) { $("b-content").setAttribute("aria-invalid", "true"); } else { $("b-content").removeAttribute("aria-invalid"); }
    },
    gotoLine: function (number) {
      var content = $("b-content");
      var lines = content.value.split("\n");
      var n = Math.min(number, lines.length);
      var start = lines.slice(0, n - 1).join("\n").length + (n > 1 ? 1 : 0);
      content.focus();
      content.setSelectionRange(start, start + lines[n - 1].length);
    },
    focus: function () { $("b-content").focus(); }
  };
  // The template's Jinja delimiters (settings.envops), for the editor's highlighting.
  function markersOf(def) {
    var e = ((def && def.settings) || {}).envops || {};
    return { block: [e.block_start_string || "{%", e.block_end_string || "%}"],
      variable: [e.variable_start_string || "{{", e.variable_end_string || "}}"],
      comment: [e.comment_start_string || "{#", e.comment_end_string || "#}"] };
  }
  function contentChanged(value) {
    state.def.files[state.file].content = value;
    changed(false);
  }
  function loadEditor() {
    var script = el("script", { src: root.dataset.editor });
    var later = window.requestIdleCallback || function (run) { setTimeout(run, 0); };
    // Made in a task of its own after the script's: two short tasks, not one long one.
    script.addEventListener("load", function () { later(useEditor); });
    document.head.append(script);
  }
  function useEditor() {
    if (!window.LaunchpadEditor) { return; }
    editor = window.LaunchpadEditor.create($("b-content"), { onChange: contentChanged, nonce: root.dataset.styleNonce, attributes: {
      "aria-labelledby": "b-content-label", "aria-describedby": "b-content-error", "aria-multiline": "true" } });
    var label = $("b-content-label");  // the textarea is gone: the label names the editor
    label.removeAttribute("for");
    label.addEventListener("click", editor.focus);
    root.dataset.editorReady = "true";
    if (state.def) { renderEditor(); }
  }

  // -- variables --------------------------------------------------------------------------
  function shown(variable, key) {
    var value = variable[key];
    if (value === undefined) { return ""; }
    if (key === "choices" && Array.isArray(value)) {
      return value.map(function (c) { return typeof c === "string" ? c : JSON.stringify(c); }).join("\n");
    }
    return (typeof value === "string" && (key !== "default" || !typed(variable))) ? value : JSON.stringify(value);
  }
  function typed(variable) { return ["str", "choice", "path"].indexOf(variable.type || "str") < 0; }
  function parsed(variable, key, text) {
    if (key === "choices") {
      return text.split("\n").filter(Boolean).map(function (c) {
        try { var v = JSON.parse(c); return typeof v === "object" ? c : v; } catch (e) { return c; }
      });
    }
    if (key === "default" && typed(variable)) {
      try { return JSON.parse(text); } catch (e) { return text; }
    }
    return text;
  }
  function setAttribute(variable, key, text) {
    if (text === "") { delete variable[key]; } else { variable[key] = parsed(variable, key, text); }
  }
  function field(id, label, input) {
    return el("div", { "class": "field" }, [el("label", { "for": id, text: label }), input]);
  }
  function variableBox(variable, i) {
    var prefix = "var-" + i + "-";
    var box = el("fieldset", { "class": "variable" }, [el("legend", { text: "Variable " + (i + 1) + ": " + variable.name })]);
    var name = el("input", { id: prefix + "name", type: "text" });
    name.value = variable.name || "";
    name.addEventListener("input", function () {
      variable.name = name.value;
      box.firstChild.textContent = "Variable " + (i + 1) + ": " + name.value;
      box.querySelectorAll("[data-action]").forEach(function (button) {
        button.setAttribute("aria-label", button.dataset.action + " " + name.value);
      });
      changed(false);
      renderAnswers();
    });
    box.append(field(prefix + "name", "Name", name));
    var type = el("select", { id: prefix + "type" }, types.map(function (t) { return el("option", { value: t, text: t }); }));
    type.value = variable.type || "str";
    type.addEventListener("change", function () { variable.type = type.value; changed(false); renderAnswers(); });
    box.append(field(prefix + "type", "Type", type));
    ATTRIBUTES.forEach(function (key) {
      var input = key === "choices" ? el("textarea", { id: prefix + key, rows: "3" }) : el("input", { id: prefix + key, type: "text" });
      input.value = shown(variable, key);
      input.addEventListener("input", function () { setAttribute(variable, key, input.value); changed(false); });
      box.append(field(prefix + key, key === "choices" ? "Choices (one a line)" : key.charAt(0).toUpperCase() + key.slice(1), input));
    });
    var secret = el("input", { id: prefix + "secret", type: "checkbox" });
    secret.checked = variable.secret === true;
    secret.addEventListener("change", function () {
      if (secret.checked) { variable.secret = true; } else { delete variable.secret; }
      changed(false);
    });
    box.append(el("div", { "class": "field" }, [el("label", { "class": "choice", "for": prefix + "secret" }, [secret, "Secret (never echoed, logged or written to an answers file)"])]));
    var errors = state.errors.filter(function (e) { return varOf(e) === i; });
    if (errors.length) { box.append(el("p", { "class": "field-error", text: errors.map(function (e) { return e.field.replace(/^\$\.definition\.variables\[\d+\]\.?/, "") + " " + e.message; }).join("\n") })); }
    box.append(el("div", { "class": "row" }, [
      action("Move up", variable, function () { move(i, -1); }, i === 0),
      action("Move down", variable, function () { move(i, 1); }, i === state.def.variables.length - 1),
      action("Remove", variable, function () { state.def.variables.splice(i, 1); changed(true); })]));
    return box;
  }
  function action(text, variable, onClick, disabled) {
    var button = el("button", { type: "button", "class": "secondary", "data-action": text,
      "aria-label": text + " " + (variable.name || "variable"), text: text });
    button.disabled = !!disabled;
    button.addEventListener("click", onClick);
    return button;
  }
  function move(i, by) {
    var list = state.def.variables;
    list.splice(i + by, 0, list.splice(i, 1)[0]);
    changed(true);
    var target = document.querySelector("#var-" + (i + by) + "-name");
    if (target) { target.focus(); }
  }
  function renderVariables() {
    $("b-vars").replaceChildren.apply($("b-vars"), state.def.variables.map(variableBox));
  }
  function addVariable() {
    var n = state.def.variables.length + 1;
    state.def.variables.push({ name: "variable_" + n, type: "str" });
    changed(true);
    $("var-" + (n - 1) + "-name").focus();
  }

  // -- JSON view --------------------------------------------------------------------------
  function renderJson() { $("b-json").value = JSON.stringify(state.def, null, 2); $("b-json-error").textContent = ""; }
  function editJson() {
    var value;
    try { value = JSON.parse($("b-json").value); } catch (e) { $("b-json-error").textContent = "Not JSON yet: " + e.message; return; }
    var problem = shapeProblem(value);
    $("b-json-error").textContent = problem;
    if (problem) { return; }
    state.def = value;
    renderFiles(); renderEditor(); renderVariables(); renderAnswers();
    schedulePreview(400);
  }

  // Only what the other views need to show it; the API checks the rest (422 at its place).
  function shapeProblem(value) {
    if (!value || typeof value !== "object" || Array.isArray(value)) { return "A definition is a JSON object."; }
    if (!Array.isArray(value.files || [])) { return "files is a list."; }
    if (!Array.isArray(value.variables || [])) { return "variables is a list."; }
    value.files = value.files || [];
    value.variables = value.variables || [];
    var file = value.files.findIndex(function (f) { return !f || typeof f.path !== "string"; });
    if (file >= 0) { return "files[" + file + "] needs a path (a string)."; }
    var variable = value.variables.findIndex(function (v) { return !v || typeof v !== "object" || Array.isArray(v); });
    return variable >= 0 ? "variables[" + variable + "] is an object." : "";
  }

  // -- versions ---------------------------------------------------------------------------
  function versionOptions(select, numbers, chosen) {
    select.replaceChildren.apply(select, numbers.map(function (n) {
      var option = el("option", { value: String(n), text: "Version " + n });
      option.selected = n === chosen;
      return option;
    }));
  }
  function showVersions() {
    var list = $("b-versions");
    request("GET", api + "/versions").then(function (r) {
      if (!r.ok) { list.replaceChildren(el("li", { text: problemText(r.data) })); return; }
      var numbers = r.data.versions.map(function (v) { return v.number; });
      var last = numbers[numbers.length - 1];
      versionOptions($("b-diff-from"), numbers, numbers.length > 1 ? numbers[numbers.length - 2] : last);
      versionOptions($("b-diff-to"), numbers, last);
      list.replaceChildren.apply(list, r.data.versions.slice().reverse().map(function (v) {
        var item = el("li", { "class": "item" }, [el("span", { "class": "name", text: "Version " + v.number }),
          el("span", { "class": "muted", text: new Date(v.created_at).toLocaleString() })]);
        if (v.number === state.version) {
          item.append(el("span", { "class": "badge", text: "current" }));
        } else {
          var restore = el("button", { type: "button", "class": "secondary", text: "Restore version " + v.number });
          restore.addEventListener("click", function () { restoreVersion(v.number); });
          item.append(restore);
        }
        return item;
      }));
    });
  }
  function diffLine(line) {
    var kind = /^(\+\+\+|---) /.test(line) ? "diff-head" : line[0] === "+" ? "diff-add" : line[0] === "-" ? "diff-del" : line[0] === "@" ? "diff-head" : "";
    return el("span", { "class": kind, text: line });
  }
  function showDiff() {
    var from = $("b-diff-from").value;
    var to = $("b-diff-to").value;
    var box = $("b-diff-result");
    box.replaceChildren(el("p", { "class": "muted", text: "Comparing…" }));
    request("GET", api + "/diff?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to)).then(function (r) {
      if (!r.ok) { box.replaceChildren(el("p", { "class": "field-error", text: problemText(r.data) })); return; }
      var heading = el("h4", { text: "From version " + from + " to version " + to + ": " +
        (r.data.files.length ? r.data.files.length + " changed" : "no change") });
      box.replaceChildren.apply(box, [heading].concat(r.data.files.map(function (file) {
        var pre = el("pre", { "class": "diff", tabindex: "0", role: "region", "aria-label": "Changes of " + file.path });
        if (file.binary) {
          pre.textContent = "Binary file " + file.change + ".";
        } else {
          file.diff.replace(/\n$/, "").split("\n").forEach(function (line) { pre.append(diffLine(line)); });
          if (file.truncated) { pre.append(el("span", { "class": "diff-head", text: "(cut: the diff is too long to show whole)" })); }
        }
        return el("div", { "class": "diff-file" }, [el("p", {}, [el("code", { text: file.path }), badge(file.change)]), pre]);
      })));
    }, function () { box.replaceChildren(el("p", { "class": "field-error", text: "The server could not be reached." })); });
  }
  function restoreVersion(number) {
    if (state.dirty) {
      say("Save your changes first (or export them): restoring replaces what is in the editor.");
      return;
    }
    say("Restoring version " + number + "…");
    request("GET", api + "/versions/" + number).then(function (r) {
      if (!r.ok) { alertBox("Could not read version " + number + ": " + problemText(r.data)); return; }
      put(r.data.definition, function (view) { say("Restored version " + number + " as version " + view.version + "."); });
    });
  }

  // -- preview ----------------------------------------------------------------------------
  // A question without a default gets a sample answer, so that the first preview renders.
  function sample(variable) {
    var choices = Array.isArray(variable.choices) ? variable.choices : [];
    switch (variable.type) {
      case "int": case "float": return 1;
      case "bool": return false;
      case "choice": return choices.length ? choices[0] : variable.name;
      case "multichoice": return [];
      default: return variable.name;
    }
  }
  function renderAnswers() {
    var box = $("b-answers");
    box.replaceChildren.apply(box, state.def.variables.map(function (variable, i) {
      var id = "answer-" + i;
      var known = Object.prototype.hasOwnProperty.call(state.answers, variable.name);
      if (variable.type === "bool") {
        var check = el("input", { id: id, type: "checkbox" });
        check.checked = known ? state.answers[variable.name] : variable.default === true;
        check.addEventListener("change", function () { state.answers[variable.name] = check.checked; schedulePreview(400); });
        return el("div", { "class": "field" }, [el("label", { "class": "choice", "for": id }, [check, variable.name])]);
      }
      var input = el("input", { id: id, type: "text", placeholder: shown({ type: variable.type, default: variable.default === undefined ? sample(variable) : variable.default }, "default") });
      input.value = known ? shown({ type: variable.type, default: state.answers[variable.name] }, "default") : "";
      input.addEventListener("input", function () {
        if (input.value === "") { delete state.answers[variable.name]; } else { state.answers[variable.name] = answer(variable, input.value); }
        schedulePreview(400);
      });
      return field(id, variable.name, input);
    }));
    if (!state.def.variables.length) { box.append(el("p", { "class": "muted", text: "No variables." })); }
  }
  function answer(variable, text) {
    if (variable.type === "multichoice") { return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean); }
    return typed(variable) ? parsed(variable, "default", text) : text;
  }
  function answers() {
    var given = {};
    state.def.variables.forEach(function (v) {
      if (Object.prototype.hasOwnProperty.call(state.answers, v.name)) { given[v.name] = state.answers[v.name]; } else if (v.default === undefined) { given[v.name] = sample(v); }
    });
    return given;
  }
  function schedulePreview(delay) {
    previewSeq++;  // an answer already on its way is for an older definition: dropped
    clearTimeout(timer);
    timer = setTimeout(preview, delay);
  }
  function preview() {
    var seq = ++previewSeq;
    $("b-preview-status").textContent = "Rendering…";
    request("POST", api + "/preview", { answers: answers(), definition: state.def }).then(function (r) {
      if (seq !== previewSeq) { return; }  // an older answer, overtaken by a newer edit
      var problems = $("b-preview-problems");
      problems.replaceChildren();
      if (r.ok) {
        state.rendered = r.data.files;
        $("b-preview-status").textContent = r.data.files.length + " files, " + r.data.total_bytes + " bytes.";
        if (state.errors.length) { state.errors = []; renderFiles(); renderEditor(); renderVariables(); }
        renderRendered();
        renderSkipped(r.data.skipped || []);
        return;
      }
      $("b-preview-status").textContent = (r.status === 429 || r.status === 503 ? "Preview paused: " : "Cannot render: ") +
        problemText(r.data) + (state.rendered ? " (below: the last render)" : "");
      ((r.data && r.data.errors) || []).forEach(function (e) { problems.append(el("li", { text: (e.field || "") + ": " + e.message })); });
      if (r.status === 422 && r.data && r.data.code === "invalid_definition") { showErrors(r.data); }
    }, function () { if (seq === previewSeq) { $("b-preview-status").textContent = "Preview failed: the server could not be reached."; } });
  }
  var SKIP_REASONS = { when: "its condition (when) is false", empty_path: "a part of its path renders empty",
    excluded: "the template's exclude patterns match it" };
  function renderSkipped(skipped) {
    $("b-skipped").replaceChildren.apply($("b-skipped"), skipped.map(function (s) {
      return el("li", { text: "Left out: " + s.path + ": " + (SKIP_REASONS[s.reason] || s.reason) });
    }));
  }
  var selectedOutput = null;
  function renderRendered() {
    var list = $("b-rendered");
    var files = state.rendered || [];
    if (!files.some(function (f) { return f.path === selectedOutput; })) {
      var first = files.filter(function (f) { return f.kind !== "directory"; })[0];
      selectedOutput = first ? first.path : null;
    }
    list.replaceChildren.apply(list, files.map(function (file) {
      var button = el("button", { type: "button", "aria-current": String(file.path === selectedOutput) }, [el("code", { text: file.path })]);
      if (file.kind === "directory") { button.append(badge("folder")); }
      if (file.encoding === "base64") { button.append(badge("binary")); }
      button.addEventListener("click", function () { selectedOutput = file.path; renderRendered(); });
      return el("li", {}, [button]);
    }));
    var chosen = files.filter(function (f) { return f.path === selectedOutput; })[0];
    $("b-output").textContent = !chosen ? "" : chosen.encoding === "base64" ? "(binary, " + chosen.size + " bytes: copied as it is, not rendered)" : chosen.content;
  }

  // -- wiring -----------------------------------------------------------------------------
  function renderAll() { renderFiles(); renderEditor(); renderVariables(); renderAnswers(); if (!$("view-json").hidden) { renderJson(); } }
  function changed(structure) {
    if (structure) { renderFiles(); renderEditor(); renderVariables(); renderAnswers(); }
    state.dirty = true;
    say("Unsaved changes.");
    schedulePreview(400);
  }
  function showView(name) {
    document.querySelectorAll(".tab").forEach(function (tab) {
      tab.setAttribute("aria-pressed", String(tab.dataset.view === name));
      $("view-" + tab.dataset.view).hidden = tab.dataset.view !== name;
    });
    if (name === "json") { renderJson(); }
    if (name === "versions") { showVersions(); }
  }
  document.querySelectorAll(".tab").forEach(function (tab) {
    tab.addEventListener("click", function () { showView(tab.dataset.view); });
  });
  $("b-content").addEventListener("input", function () { contentChanged($("b-content").value); });
  $("b-when").addEventListener("input", function () {
    var file = state.def.files[state.file];
    if ($("b-when").value === "") { delete file.when; } else { file.when = $("b-when").value; }
    renderFiles();
    changed(false);
  });
  $("b-name").addEventListener("input", function () { state.dirty = true; say("Unsaved changes."); });
  $("b-add-file").addEventListener("click", addFile);
  $("b-new-path").addEventListener("keydown", function (e) { if (e.key === "Enter") { addFile(); } });
  $("b-rename").addEventListener("click", renameFile);
  $("b-path").addEventListener("keydown", function (e) { if (e.key === "Enter") { renameFile(); } });
  $("b-delete").addEventListener("click", deleteFile);
  dropTarget($("b-files"), "");
  $("b-move").addEventListener("click", moveTo);
  $("b-move-to").addEventListener("keydown", function (e) { if (e.key === "Enter") { moveTo(); } });
  $("b-upload").addEventListener("change", uploadFile);
  $("b-goto-line").addEventListener("click", gotoLine);
  $("b-add-var").addEventListener("click", addVariable);
  $("b-json").addEventListener("input", editJson);
  $("b-save").addEventListener("click", save);
  $("b-export").addEventListener("click", exportJson);
  $("b-import").addEventListener("change", importZip);
  $("b-diff").addEventListener("click", showDiff);
  fetchLatest();
  if (document.readyState === "complete") { loadEditor(); } else { window.addEventListener("load", loadEditor); }
}());
