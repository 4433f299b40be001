/**
 * CodeMirror 6 editors: TypeScript for proc agents (highlighting, and syntax errors from the
 * server's TypeScript as lint diagnostics) and templates (`{{…}}` references highlighted).
 */
import { useEffect, useRef } from "react";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { bracketMatching, defaultHighlightStyle, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { linter, lintGutter, type Diagnostic } from "@codemirror/lint";
import { EditorState, type Extension } from "@codemirror/state";
import { Decoration, EditorView, keymap, lineNumbers, MatchDecorator, ViewPlugin, type DecorationSet, type ViewUpdate } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { Api } from "./api.js";

const darkTheme = EditorView.theme(
  {
    "&": { backgroundColor: "#1e1e1e", color: "#d4d4d4", height: "100%", fontSize: "13px" },
    ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", caretColor: "#aeafad" },
    ".cm-gutters": { backgroundColor: "#1e1e1e", color: "#858585", border: "none" },
    ".cm-activeLine": { backgroundColor: "#2a2d2e" },
    "&.cm-focused .cm-selectionBackground, ::selection": { backgroundColor: "#264f78" },
    ".cm-scroller": { overflow: "auto" },
  },
  { dark: true },
);

const darkHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: "#569cd6" },
  { tag: [tags.string, tags.special(tags.string)], color: "#ce9178" },
  { tag: tags.number, color: "#b5cea8" },
  { tag: tags.comment, color: "#6a9955" },
  { tag: [tags.typeName, tags.className], color: "#4ec9b0" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: "#dcdcaa" },
  { tag: [tags.variableName, tags.propertyName], color: "#9cdcfe" },
  { tag: tags.operator, color: "#d4d4d4" },
]);

/** `{{…}}` holes of a template, decorated as references. */
const holeDecorator = new MatchDecorator({ regexp: /\{\{[\s\S]*?\}\}/g, decoration: Decoration.mark({ class: "cm-template-ref" }) });
const templateRefs = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = holeDecorator.createDeco(view);
    }
    update(update: ViewUpdate) {
      this.decorations = holeDecorator.updateDeco(update, this.decorations);
    }
  },
  { decorations: (v) => v.decorations },
);

function typescriptLint(path: string): Extension {
  return linter(
    async (view): Promise<Diagnostic[]> => {
      const text = view.state.doc.toString();
      const { diagnostics } = await Api.diagnostics(text, path);
      const max = view.state.doc.length;
      return diagnostics.map((d) => ({ from: Math.min(d.from, max), to: Math.min(Math.max(d.to, d.from), max), message: d.message, severity: d.severity }));
    },
    { delay: 400 },
  );
}

export function CodeEditor(props: { value: string; onChange(text: string): void; language: "typescript" | "template"; path: string; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    const language =
      props.language === "typescript" ? [javascript({ typescript: true }), typescriptLint(props.path), lintGutter()] : [templateRefs, EditorView.lineWrapping];
    const state = EditorState.create({
      doc: props.value,
      extensions: [
        lineNumbers(),
        history(),
        bracketMatching(),
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        syntaxHighlighting(darkHighlight),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        darkTheme,
        EditorView.contentAttributes.of({ "aria-label": props.label }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange.current(u.state.doc.toString());
        }),
        ...language,
      ],
    });
    view.current = new EditorView({ state, parent: host.current! });
    return () => view.current?.destroy();
    // The editor is made once per file; outside changes to `value` are pushed below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.path, props.language]);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  return <div className="code-editor" ref={host} />;
}
