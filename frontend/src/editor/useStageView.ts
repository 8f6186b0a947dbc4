// Collapsing module stages and expanding block instances on the canvas: which are (view state, not part of
// the document), the nodes and edges drawn for that, and the actions the toolbar, the cards and the frames
// call. While any stage is collapsed or block expanded the drawing is laid out by the canvas, so nodes cannot
// be dragged.
// Fit collapses the stages when the whole graph would be too small to read: the done view of a large model is
// its stages, legible, rather than every node as a speck.
import { type RefObject, useCallback, useMemo, useState } from "react";
import type { GraphDoc, ValidateResult } from "../graph";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import { getNode } from "../lib/graphutil";
import { type Direction, type SizeOf, sizeWith } from "../lib/layout";
import { collapseFlow, collapsedView, collapsibleStages, type DrawnNode, type Expansion, expandInstances } from "../lib/stages";
import { fitZoom, NAMES_LEGIBLE_ZOOM } from "../lib/viewport";

export interface StageView {
  nodes: DrawnNode[];
  edges: CanvasEdge[];
  /** How many stages the graph has that can collapse (the toolbar offers collapsing from two). */
  count: number;
  collapsedAny: boolean;
  /** Whether the drawing is the canvas's own (stages collapsed or blocks expanded), not the document's positions. */
  rearranged: boolean;
  collapseAll: () => void;
  expandAll: () => void;
  expand: (key: string) => void;
  /** Fit the whole drawing in view, collapsing the stages first where its names could not be read. */
  fitWhole: () => void;
}

export interface StageViewOptions {
  doc: GraphDoc;
  flow: { nodes: CanvasNode[]; edges: CanvasEdge[] };
  validation: ValidateResult | null;
  dir: Direction;
  sizeOf: SizeOf;
  /** The canvas element (its size decides whether a fitted graph can be read). */
  wrapper: RefObject<HTMLDivElement | null>;
  fit: () => void;
  /** Fits the view once the new drawing is on screen (after collapsing or expanding). */
  fitSoon: () => void;
  /** The editor's selection (a block's frame is selected when its instance is). */
  selectedNodes: ReadonlySet<string>;
  /** The document as drawn with its expanded block instances (useInstanceExpansion). */
  expansion: Expansion & { clear: () => void };
}

/** Block instances expanded in place: the set, and the document as drawn with them (lib/stages.ts). */
export function useInstanceExpansion(doc: GraphDoc) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const expansion = useMemo(() => expandInstances(doc, expanded), [doc, expanded]);
  const expand = useCallback((id: string) => setExpanded((s) => new Set(s).add(id)), []);
  const collapse = useCallback(
    (id: string) =>
      setExpanded((s) => {
        const next = new Set(s);
        next.delete(id);
        return next;
      }),
    [],
  );
  const clear = useCallback(() => setExpanded((s) => (s.size ? new Set() : s)), []);
  return { ...expansion, expand, collapse, clear };
}

export function useStageView({ doc, flow, validation, dir, sizeOf, wrapper, fit, fitSoon, selectedNodes, expansion }: StageViewOptions): StageView {
  const stages = useMemo(() => collapsibleStages(doc), [doc]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  // Stages that no longer exist (a node renamed out of its path) are not collapsed any more.
  const live = useMemo(() => new Set(stages.filter((s) => collapsed.has(s.key)).map((s) => s.key)), [stages, collapsed]);
  const drawnDoc = expansion.doc;
  const inner = expansion.inner;
  const view = useMemo(() => (live.size || inner.size ? collapsedView(drawnDoc, stages, live, dir, sizeOf, inner) : null), [drawnDoc, inner, stages, live, dir, sizeOf]);
  const drawn = useMemo(() => {
    if (!view) return flow;
    const blockOf = (instance: string) => getNode(doc, instance)?.type ?? "";
    return collapseFlow(flow, drawnDoc, view, validation, dir, { inner, blockOf, selected: selectedNodes });
  }, [view, flow, doc, drawnDoc, inner, validation, dir, selectedNodes]);

  const change = useCallback(
    (next: ReadonlySet<string>) => {
      setCollapsed(next);
      fitSoon();
    },
    [fitSoon],
  );
  // A collapsed stage would hide the blocks expanded inside it: collapsing folds every block back first.
  const { clear } = expansion;
  const collapseAll = useCallback(() => {
    clear();
    change(new Set(stages.map((s) => s.key)));
  }, [change, clear, stages]);
  const expandAll = useCallback(() => change(new Set()), [change]);
  const expand = useCallback(
    (key: string) => {
      const next = new Set(live);
      next.delete(key);
      change(next);
    },
    [change, live],
  );
  const fitWhole = useCallback(() => {
    const element = wrapper.current;
    if (element && !live.size && stages.length >= 2) {
      const size = sizeWith(sizeOf);
      const boxes = drawn.nodes.map((n) => ({ ...n.position, ...size(n.id) }));
      if (fitZoom(boxes, { width: element.clientWidth, height: element.clientHeight }) < NAMES_LEGIBLE_ZOOM) return collapseAll();
    }
    fit();
  }, [wrapper, live, stages, drawn, sizeOf, collapseAll, fit]);
  return { nodes: drawn.nodes, edges: drawn.edges, count: stages.length, collapsedAny: live.size > 0, rearranged: view !== null, collapseAll, expandAll, expand, fitWhole };
}
