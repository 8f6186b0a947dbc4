// The editor's document history and selection (store.ts's reducer), with a restored draft as one undoable
// step on top of the loaded version; `edit` is refused on a read-only canvas.
import { type Dispatch, useCallback, useReducer } from "react";
import type { GraphDoc } from "../graph";
import { type EditorAction, type EditResult, editorReducer, initEditor } from "./store";

export type Edit = (fn: (doc: GraphDoc) => EditResult, key?: string) => void;
export type EditorDispatch = Dispatch<EditorAction>;

export function useEditorState(initial: GraphDoc, draft: { doc: GraphDoc } | null, readOnly: boolean) {
  const [state, dispatch] = useReducer(editorReducer, null, () => {
    const start = initEditor(initial);
    return draft ? editorReducer(start, { type: "edit", fn: () => draft.doc }) : start;
  });
  const edit = useCallback<Edit>(
    (fn, key) => {
      if (readOnly) return;
      dispatch({ type: "edit", fn, key });
    },
    [readOnly],
  );
  const seal = useCallback(() => dispatch({ type: "seal" }), []);
  return { state, doc: state.history.present, dispatch, edit, seal };
}
