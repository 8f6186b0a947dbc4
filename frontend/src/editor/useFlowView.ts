// The React Flow view of the document: nodes and edges built from it (FlowBuilder hands back unchanged ones
// as they were, so React Flow re-renders only what changed), and React Flow's changes back into the editor:
// moves (one undo step per drag), selection, and measured node sizes (for handles and the layout).
import type { EdgeChange, NodeChange } from "@xyflow/react";
import { type RefObject, useCallback, useMemo, useState } from "react";
import type { GraphDoc, ValidateResult } from "../graph";
import { type CanvasEdge, FlowBuilder } from "../lib/convert";
import { moveNodes } from "../lib/docops";
import type { Direction } from "../lib/layout";
import type { SpecIndex } from "../lib/specs";
import { type DrawnNode, isStageCard } from "../lib/stages";
import type { EditorDispatch } from "./useEditorState";

type Size = { width: number; height: number };

export interface FlowViewOptions {
  doc: GraphDoc;
  specs: SpecIndex;
  validation: ValidateResult | null;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  dir: Direction;
  readOnly: boolean;
  dispatch: EditorDispatch;
  /** Counts drags, and tells whether one is under way: moves are one undo step per drag (or per run of nudges). */
  dragSeq: RefObject<number>;
  dragging: RefObject<boolean>;
}

export function useFlowView({ doc, specs, validation, selectedNodes, selectedEdges, dir, readOnly, dispatch, dragSeq, dragging }: FlowViewOptions) {
  const [builder] = useState(() => new FlowBuilder());
  const [sizes, setSizes] = useState<ReadonlyMap<string, Size>>(() => new Map());

  const sizeOf = useCallback((id: string) => sizes.get(id), [sizes]);
  const flow = useMemo(
    () => builder.build(doc, { specs, validation, selectedNodes, selectedEdges, dir, readOnly, measured: sizes, sizeOf }),
    [builder, doc, specs, validation, selectedNodes, selectedEdges, dir, readOnly, sizes, sizeOf],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<DrawnNode>[]) => {
      let positions: Map<string, { x: number; y: number }> | null = null;
      let selection: [string, boolean][] | null = null;
      let resized: [string, Size][] | null = null;
      for (const change of changes) {
        if (change.type === "position" && change.position) {
          (positions ??= new Map()).set(change.id, change.position);
        } else if (change.type === "select") {
          if (!isStageCard(change.id)) (selection ??= []).push([change.id, change.selected]);
        } else if (change.type === "dimensions" && change.dimensions) {
          (resized ??= []).push([change.id, change.dimensions]);
        }
      }
      if (positions && !readOnly) {
        const moved = positions;
        dispatch({ type: "edit", fn: (d) => moveNodes(d, moved), key: dragging.current ? `move:${dragSeq.current}` : `nudge:${dragSeq.current}` });
      }
      if (selection) dispatch({ type: "toggle", nodes: selection });
      if (resized) {
        const measured = resized;
        setSizes((prev) => {
          let next: Map<string, Size> | null = null;
          for (const [id, { width, height }] of measured) {
            const known = (next ?? prev).get(id);
            if (!known || known.width !== width || known.height !== height) (next ??= new Map(prev)).set(id, { width, height });
          }
          return next ?? prev;
        });
      }
    },
    [readOnly, dispatch, dragSeq, dragging],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<CanvasEdge>[]) => {
      const selection: [string, boolean][] = [];
      for (const change of changes) if (change.type === "select") selection.push([change.id, change.selected]);
      if (selection.length) dispatch({ type: "toggle", edges: selection });
    },
    [dispatch],
  );

  return { flow, sizeOf, onNodesChange, onEdgesChange };
}
