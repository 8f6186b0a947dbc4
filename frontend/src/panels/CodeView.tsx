// A read-only CodeMirror 6 view of some text (Python or JSON), kept in sync with `value`.
import { json } from "@codemirror/lang-json";
import { python } from "@codemirror/lang-python";
import { EditorView, basicSetup } from "codemirror";
import { useEffect, useEffectEvent, useRef } from "react";
import { styleNonce } from "../lib/csp";

export function CodeView(props: { value: string; language: "python" | "json"; testId?: string; label: string; wrap?: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // Long lines wrapped at the view's width, or scrolled sideways (the default).
  const wrap = props.wrap ?? false;

  // A new view starts from the current text and label; later texts are applied below, not by a new view.
  const start = useEffectEvent(() => ({ value: props.value, label: props.label }));

  useEffect(() => {
    if (!host.current) return;
    const { value, label } = start();
    const editor = new EditorView({
      doc: value,
      parent: host.current,
      extensions: [
        basicSetup,
        props.language === "python" ? python() : json(),
        EditorView.editable.of(false),
        wrap ? EditorView.lineWrapping : [],
        EditorView.cspNonce.of(styleNonce()),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-readonly": "true" }),
      ],
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
  }, [props.language, wrap]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const current = editor.state.doc.toString();
    if (current !== props.value) {
      editor.dispatch({ changes: { from: 0, to: current.length, insert: props.value }, scrollIntoView: false });
    }
  }, [props.value]);

  return <div ref={host} className="tc-code" data-testid={props.testId} />;
}
