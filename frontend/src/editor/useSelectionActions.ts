// What is done to or from the selection outside the canvas: focusing a node (from the properties or a
// problem), applying a suggested fix, deleting the selected nodes and edges.
import { useReactFlow } from "@xyflow/react";
import { useCallback } from "react";
import type { Diagnostic, GraphDoc, Suggestion } from "../graph";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import { removeItems } from "../lib/docops";
import { getNode, position } from "../lib/graphutil";
import { NODE_HEIGHT, NODE_WIDTH } from "../lib/layout";
import { applySuggestion } from "../lib/suggestions";
import type { Edit, EditorDispatch } from "./useEditorState";

export interface SelectionActionOptions {
  doc: GraphDoc;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  /** The canvas's edges (their ids map the edge selection to the document's edge indexes). */
  edges: CanvasEdge[];
  readOnly: boolean;
  edit: Edit;
  dispatch: EditorDispatch;
  flash: (text: string) => void;
}

export function useSelectionActions({ doc, selectedNodes, selectedEdges, edges, readOnly, edit, dispatch, flash }: SelectionActionOptions) {
  const rf = useReactFlow<CanvasNode, CanvasEdge>();

  const focusNode = useCallback(
    (id: string) => {
      const internal = rf.getInternalNode(id);
      const node = getNode(doc, id);
      const p = internal?.internals.positionAbsolute ?? position(node);
      if (!p) return;
      const w = internal?.measured.width ?? NODE_WIDTH;
      const h = internal?.measured.height ?? NODE_HEIGHT;
      dispatch({ type: "select", nodes: new Set([id]), edges: new Set() });
      void rf.setCenter(p.x + w / 2, p.y + h / 2, { zoom: Math.max(rf.getZoom(), 0.9), duration: 300 });
    },
    [rf, doc, dispatch],
  );

  const onFocusDiagnostic = useCallback(
    (d: Diagnostic) => {
      const id = d.node ?? d.edge?.[1];
      if (id && getNode(doc, id)) focusNode(id);
    },
    [doc, focusNode],
  );

  const onApplySuggestion = useCallback(
    (s: Suggestion) => {
      let failed = false;
      edit((d) => {
        const applied = applySuggestion(d, s);
        if (!applied) {
          failed = true;
          return null;
        }
        return applied.select ? { doc: applied.doc, select: applied.select } : applied.doc;
      });
      if (failed) flash("That suggestion no longer fits the graph.");
    },
    [edit, flash],
  );

  const deleteSelection = useCallback(() => {
    if (readOnly) return;
    const nodes = [...selectedNodes];
    const edgeIndexes = edges.filter((e) => selectedEdges.has(e.id)).map((e) => e.data!.index);
    if (!nodes.length && !edgeIndexes.length) return;
    edit((d) => ({ doc: removeItems(d, nodes, edgeIndexes), select: [] }));
  }, [readOnly, selectedNodes, selectedEdges, edges, edit]);

  return { focusNode, onFocusDiagnostic, onApplySuggestion, deleteSelection };
}
