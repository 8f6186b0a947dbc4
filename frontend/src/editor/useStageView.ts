// Collapsing module stages on the canvas: which stages are collapsed (view state, not part of the
// document), the nodes and edges drawn for that, and the actions the toolbar and the cards call.
// While any stage is collapsed the drawing is laid out by the canvas, so nodes cannot be dragged.
// Fit collapses the stages when the whole graph would be too small to read: the done view of a large model is
// its stages, legible, rather than every node as a speck.
import { type RefObject, useCallback, useMemo, useState } from "react";
import type { GraphDoc, ValidateResult } from "../graph";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import { type Direction, NODE_HEIGHT, NODE_WIDTH, type SizeOf } from "../lib/layout";
import { collapseFlow, collapsedView, collapsibleStages, type DrawnNode } from "../lib/stages";
import { fitZoom, NAMES_LEGIBLE_ZOOM } from "../lib/viewport";

export interface StageView {
  nodes: DrawnNode[];
  edges: CanvasEdge[];
  /** How many stages the graph has that can collapse (the toolbar offers collapsing from two). */
  count: number;
  collapsedAny: boolean;
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
}

export function useStageView({ doc, flow, validation, dir, sizeOf, wrapper, fit, fitSoon }: StageViewOptions): StageView {
  const stages = useMemo(() => collapsibleStages(doc), [doc]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  // Stages that no longer exist (a node renamed out of its path) are not collapsed any more.
  const live = useMemo(() => new Set(stages.filter((s) => collapsed.has(s.key)).map((s) => s.key)), [stages, collapsed]);
  const view = useMemo(() => (live.size ? collapsedView(doc, stages, live, dir, sizeOf) : null), [doc, stages, live, dir, sizeOf]);
  const drawn = useMemo(() => (view ? collapseFlow(flow, doc, view, validation, dir) : flow), [view, flow, doc, validation, dir]);

  const change = useCallback(
    (next: ReadonlySet<string>) => {
      setCollapsed(next);
      fitSoon();
    },
    [fitSoon],
  );
  const collapseAll = useCallback(() => change(new Set(stages.map((s) => s.key))), [change, stages]);
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
      const boxes = drawn.nodes.map((n) => ({ ...n.position, ...(sizeOf(n.id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT }) }));
      if (fitZoom(boxes, { width: element.clientWidth, height: element.clientHeight }) < NAMES_LEGIBLE_ZOOM) return collapseAll();
    }
    fit();
  }, [wrapper, live, stages, drawn, sizeOf, collapseAll, fit]);
  return { nodes: drawn.nodes, edges: drawn.edges, count: stages.length, collapsedAny: live.size > 0, collapseAll, expandAll, expand, fitWhole };
}
