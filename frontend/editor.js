// The builder's file editor: CodeMirror 6 with Jinja highlighting (in the template's
// own delimiters) and the service's validation problems shown at their line (lint
// gutter, F8 to the next, Ctrl-Shift-M for the list). Built by build.py into
// src/launchpad_web/pages/static/vendor/editor.js (an IIFE, no module loader);
// builder.js loads it after the page and calls window.LaunchpadEditor.create.
// Tab is left to move the focus (no indentWithTab), so the keyboard never gets stuck.
import { Annotation, Compartment, EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { StreamLanguage, syntaxHighlighting, HighlightStyle } from "@codemirror/language";
import { setDiagnostics, lintGutter, lintKeymap } from "@codemirror/lint";
import { tags } from "@lezer/highlight";

const fromOutside = Annotation.define();  // a change builder.js made, not the person

// Jinja as LaunchPad runs it, with the template's own delimiters (settings.envops:
// a Copier template may use "[[ ]]" and "[% %]"): tags, expressions and comments are
// found by those strings, not by the default "{{ {% {#"; no line statements or line
// comments, so "#" outside a tag is text.
const DEFAULT_MARKERS = {
  block: ["{%", "%}"], variable: ["{{", "}}"], comment: ["{#", "#}"],
};
const KEYWORDS = new Set(["and", "as", "block", "break", "call", "continue", "do", "elif",
  "else", "endblock", "endcall", "endfilter", "endfor", "endif", "endmacro", "endraw",
  "endset", "endtrans", "endwith", "extends", "filter", "for", "from", "if", "import", "in",
  "include", "is", "macro", "not", "or", "pluralize", "raw", "recursive", "set", "trans",
  "with", "without", "context", "ignore", "missing", "scoped"]);
const ATOMS = new Set(["true", "false", "none", "True", "False", "None"]);

function jinjaMode(markers) {
  const kinds = Object.keys(DEFAULT_MARKERS).map((kind) => [kind, ...(markers[kind] || DEFAULT_MARKERS[kind])])
    .sort((a, b) => b[1].length - a[1].length);  // the longest start first
  const starts = kinds.map((k) => k[1]);
  return {
    name: "jinja",
    startState: () => ({ kind: null, end: null, quote: null }),
    copyState: (s) => ({ ...s }),
    token(stream, state) {
      if (state.kind === "comment") { return inComment(stream, state); }
      if (state.kind) { return inTag(stream, state); }
      for (const [kind, start, end] of kinds) {
        if (stream.match(start)) {
          stream.eat("-") || stream.eat("+");
          Object.assign(state, { kind, end, quote: null });
          return kind === "comment" ? inComment(stream, state) : "tag";
        }
      }
      const rest = stream.string.slice(stream.pos);
      const next = Math.min(...starts.map((s) => { const i = rest.indexOf(s); return i < 0 ? Infinity : i; }));
      if (next === Infinity) { stream.skipToEnd(); } else { stream.pos += Math.max(next, 1); }
      return null;
    },
  };
}

function inComment(stream, state) {
  const at = stream.string.indexOf(state.end, stream.pos);
  if (at < 0) { stream.skipToEnd(); } else { stream.pos = at + state.end.length; state.kind = null; }
  return "comment";
}

function inTag(stream, state) {
  if (state.quote) {
    while (!stream.eol()) {
      const ch = stream.next();
      if (ch === "\\") { stream.next(); } else if (ch === state.quote) { state.quote = null; break; }
    }
    return "string";
  }
  if (stream.eatSpace()) { return null; }
  if (stream.match(new RegExp("^[-+]?" + escapeRegExp(state.end)))) {
    Object.assign(state, { kind: null, end: null });
    return "tag";
  }
  const ch = stream.peek();
  if (ch === "'" || ch === '"') { state.quote = stream.next(); return "string"; }
  if (stream.match(/^\d+(\.\d+)?([eE][-+]?\d+)?/)) { return "number"; }
  const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
  if (word) {
    if (KEYWORDS.has(word[0])) { return "keyword"; }
    return ATOMS.has(word[0]) ? "atom" : "variable";
  }
  if (stream.match(/^[()[\]{}]/)) { return "bracket"; }
  stream.next();
  return "operator";
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Colours with at least 4.5:1 contrast on white (axe checks the page).
const jinjaStyle = HighlightStyle.define([
  { tag: tags.keyword, color: "#7a1fa2", fontWeight: "bold" },
  { tag: tags.tagName, color: "#7a1fa2" },
  { tag: tags.variableName, color: "#0b5394" },
  { tag: tags.atom, color: "#8a4b00" },
  { tag: tags.number, color: "#8a4b00" },
  { tag: tags.string, color: "#1d6b2f" },
  { tag: tags.comment, color: "#5f6368", fontStyle: "italic" },
  { tag: tags.operator, color: "#a4262c" },
  { tag: tags.bracket, color: "#a4262c" },
]);

const theme = EditorView.theme({
  "&": { border: "1px solid #767676", borderRadius: "4px", maxWidth: "100%", backgroundColor: "#fff" },
  "&.cm-focused": { outline: "3px solid #1a56db", outlineOffset: "1px" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", minHeight: "16em", maxHeight: "32em" },
  ".cm-gutters": { backgroundColor: "#f4f4f4", color: "#4a4a4a", borderRight: "1px solid #ccc" },
  ".cm-activeLine": { backgroundColor: "#f0f4ff" },
});

// Typing over a selection that spans lines: Chromium's own editing would leave an
// empty last line (select all, type "x": "x\n") and style attributes, so that
// replacement is made here, over the page's selection (what the browser was about
// to replace: the editor's own selection may not have caught up with it yet).
const typeOverLines = EditorView.domEventHandlers({
  beforeinput(event, view) {
    const selection = event.inputType === "insertText" && event.data ? document.getSelection() : null;
    if (!selection || selection.rangeCount !== 1) { return false; }
    const range = selection.getRangeAt(0);
    let from, to;
    try {
      from = view.posAtDOM(range.startContainer, range.startOffset);
      to = view.posAtDOM(range.endContainer, range.endOffset);
    } catch (e) {
      return false;
    }
    const doc = view.state.doc;
    if (from > to || doc.lineAt(from).number === doc.lineAt(to).number) { return false; }
    event.preventDefault();
    view.dispatch({ changes: { from, to, insert: event.data }, selection: { anchor: from + event.data.length },
      userEvent: "input.type", scrollIntoView: true });
    return true;
  },
});

function lineRange(doc, number) {
  const line = doc.line(Math.max(1, Math.min(number, doc.lines)));
  return { from: line.from, to: line.to };
}

function create(textarea, options) {
  const editable = new Compartment();
  const language = new Compartment();
  const languageOf = (markers) => StreamLanguage.define(jinjaMode(markers || DEFAULT_MARKERS));
  let shown = JSON.stringify(options.markers || DEFAULT_MARKERS);
  const view = new EditorView({
    parent: textarea.parentNode,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(), lintGutter(), history(), drawSelection(), highlightActiveLine(),
        language.of(languageOf(options.markers)), syntaxHighlighting(jinjaStyle), theme,
        EditorView.lineWrapping, EditorView.cspNonce.of(options.nonce || ""),
        keymap.of([...defaultKeymap, ...historyKeymap, ...lintKeymap]), typeOverLines,
        editable.of(EditorView.editable.of(true)),
        EditorView.contentAttributes.of(options.attributes || {}),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !update.transactions.every((t) => t.annotation(fromOutside))) {
            options.onChange(update.state.doc.toString());
          }
        }),
      ],
    }),
  });
  textarea.parentNode.insertBefore(view.dom, textarea);
  textarea.remove();
  return {
    view,
    get: () => view.state.doc.toString(),
    set(value) {
      if (value === view.state.doc.toString()) { return; }
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value },
        annotations: fromOutside.of(true) });
    },
    setEditable(on) { view.dispatch({ effects: editable.reconfigure(EditorView.editable.of(on)) }); },
    // markers: {block: [start, end], variable: [...], comment: [...]} (the template's envops)
    setMarkers(markers) {
      const key = JSON.stringify(markers);
      if (key === shown) { return; }  // unchanged: no new parse
      shown = key;
      view.dispatch({ effects: language.reconfigure(languageOf(markers)) });
    },
    // problems: [{line, message}] (line 1-based, or null: the whole first line)
    setProblems(problems) {
      const doc = view.state.doc;
      view.dispatch(setDiagnostics(view.state, problems.map((p) => ({
        ...lineRange(doc, p.line || 1), severity: "error", message: p.message }))));
      view.contentDOM.setAttribute("aria-invalid", problems.length ? "true" : "false");
    },
    gotoLine(number) {
      const range = lineRange(view.state.doc, number);
      view.dispatch({ selection: { anchor: range.from, head: range.to }, scrollIntoView: true });
      view.focus();
    },
    focus: () => view.focus(),
  };
}

window.LaunchpadEditor = { create };
