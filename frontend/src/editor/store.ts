// The editor's state: the document's undo history and the selection. Edits are functions of the current
// document (so rapid events never act on a stale one); each edit is one undo step unless it carries the
// same coalescing key as the previous edit (one drag, one burst of typing in one field).
import type { GraphDoc } from "../graph";
import { nodeIndex } from "../lib/graphutil";
import { commit, createHistory, type History, redo, seal, undo } from "../lib/history";

export interface EditorState {
  history: History<GraphDoc>;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
}

export type EditResult = GraphDoc | { doc: GraphDoc; select?: string[] | string } | null;

export type EditorAction =
  | { type: "edit"; fn: (doc: GraphDoc) => EditResult; key?: string }
  | { type: "undo" }
  | { type: "redo" }
  | { type: "seal" }
  | { type: "reset"; doc: GraphDoc }
  | { type: "select"; nodes?: ReadonlySet<string>; edges?: ReadonlySet<string> }
  /** React Flow's select changes: [id, selected] pairs applied to the current selection. */
  | { type: "toggle"; nodes?: [string, boolean][]; edges?: [string, boolean][] };

const EMPTY: ReadonlySet<string> = new Set();

export function initEditor(doc: GraphDoc): EditorState {
  return { history: createHistory(doc), selectedNodes: EMPTY, selectedEdges: EMPTY };
}

/** Drops selected nodes that no longer exist; edge selection survives only while the edges are unchanged. */
function pruneSelection(state: EditorState, doc: GraphDoc): Pick<EditorState, "selectedNodes" | "selectedEdges"> {
  const before = state.history.present;
  let selectedNodes = state.selectedNodes;
  if (doc.nodes !== before.nodes && selectedNodes.size) {
    const ids = nodeIndex(doc);
    const kept = [...selectedNodes].filter((id) => ids.has(id));
    if (kept.length !== selectedNodes.size) selectedNodes = new Set(kept);
  }
  return { selectedNodes, selectedEdges: doc.edges === before.edges ? state.selectedEdges : EMPTY };
}

export function editorReducer(state: EditorState, action: EditorAction): EditorState {
  switch (action.type) {
    case "edit": {
      const result = action.fn(state.history.present);
      if (!result) return state;
      const doc = "nodes" in result ? result : result.doc;
      const select = "nodes" in result ? undefined : result.select;
      const history = commit(state.history, doc, action.key);
      if (select !== undefined) {
        return { history, selectedNodes: new Set(typeof select === "string" ? [select] : select), selectedEdges: EMPTY };
      }
      if (history === state.history) return state;
      return { ...state, history, ...pruneSelection(state, doc) };
    }
    case "undo": {
      const history = undo(state.history);
      return history === state.history ? state : { ...state, ...pruneSelection(state, history.present), history };
    }
    case "redo": {
      const history = redo(state.history);
      return history === state.history ? state : { ...state, ...pruneSelection(state, history.present), history };
    }
    case "seal": {
      const history = seal(state.history);
      return history === state.history ? state : { ...state, history };
    }
    case "reset":
      return initEditor(action.doc);
    case "toggle": {
      const apply = (current: ReadonlySet<string>, changes: [string, boolean][] | undefined) => {
        if (!changes?.length) return current;
        const next = new Set(current);
        for (const [id, on] of changes) {
          if (on) next.add(id);
          else next.delete(id);
        }
        return next.size === current.size && [...next].every((id) => current.has(id)) ? current : next;
      };
      const selectedNodes = apply(state.selectedNodes, action.nodes);
      const selectedEdges = apply(state.selectedEdges, action.edges);
      return selectedNodes === state.selectedNodes && selectedEdges === state.selectedEdges ? state : { ...state, selectedNodes, selectedEdges };
    }
    case "select":
      return {
        ...state,
        selectedNodes: action.nodes ?? state.selectedNodes,
        selectedEdges: action.edges ?? state.selectedEdges,
      };
  }
}
