// Whole-document changes that end with the view fitted to the graph: the layout button, a new flow direction
// (remembered per graph), a JSON import, a version loaded from the server.
import { useReactFlow } from "@xyflow/react";
import { useCallback } from "react";
import type { Boot } from "../boot";
import type { GraphDoc } from "../graph";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import { type Direction, ensurePositions, layoutPositions, type SizeOf, withPositions } from "../lib/layout";
import type { Edit, EditorDispatch } from "./useEditorState";

export interface LayoutOptions {
  boot: Boot;
  dir: Direction;
  setDir: (dir: Direction) => void;
  edit: Edit;
  dispatch: EditorDispatch;
  sizeOf: SizeOf;
}

export function useLayoutActions({ boot, dir, setDir, edit, dispatch, sizeOf }: LayoutOptions) {
  const rf = useReactFlow<CanvasNode, CanvasEdge>();

  const fit = useCallback(() => void rf.fitView({ duration: 300, padding: 0.1 }), [rf]);
  /** Fits the view once React Flow has drawn a changed graph. */
  const fitSoon = useCallback(() => void window.setTimeout(fit, 50), [fit]);

  const runLayout = useCallback(
    (direction: Direction) => {
      edit((d) => withPositions(d, layoutPositions(d, direction, sizeOf, 1000)));
      fitSoon();
    },
    [edit, fitSoon, sizeOf],
  );

  const changeDir = useCallback(
    (next: Direction) => {
      setDir(next);
      localStorage.setItem(`torchcanvas:dir:${boot.graphId}`, next);
      runLayout(next);
    },
    [boot.graphId, runLayout, setDir],
  );

  const onImport = useCallback(
    (graph: GraphDoc) => {
      edit(() => ({ doc: ensurePositions(graph, dir), select: [] }));
      fitSoon();
    },
    [edit, dir, fitSoon],
  );

  /** A version loaded from the server replaces the document (one undoable step). */
  const showLoaded = useCallback(
    (loaded: GraphDoc) => {
      dispatch({ type: "edit", fn: () => ({ doc: loaded, select: [] }) });
      fitSoon();
    },
    [dispatch, fitSoon],
  );

  return { fit, fitSoon, runLayout, changeDir, onImport, showLoaded };
}
