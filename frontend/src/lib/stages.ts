// Module stages and the collapsed view of a graph.
//
// A stage is the nodes whose module path starts with one container, one level below the containers every
// path shares: ResNet's `layer1`…`layer4`, DenseNet's `features.denseblock1`, a U-Net's `enc1`…`dec1`.
// The layout gives each stage a column; the canvas can collapse a stage to one card ("@" + its key: the
// character keeps card ids apart from node ids, which are identifiers). The collapsed view is a drawing
// of its own, laid out afresh: the cards stand where the stage's first node would be in that layout, and
// an edge into or out of a stage is drawn to its card.
import type { Node } from "@xyflow/react";
import type { GraphDoc, GraphNode, ValidateResult } from "../graph";
import type { CanvasEdge, CanvasNode } from "./convert";
import { edgeRefs, formatSource, parseSource, stageKeyOf } from "./graphutil";
import { formatCount, outputShape } from "./format";
import { type Direction, layoutPositions, type SizeOf } from "./layout";

export interface Stage {
  /** The container's path, e.g. `layer1` or `features.denseblock1`. */
  key: string;
  /** Member node ids, in document order. */
  members: string[];
}

/** The stages of `doc` that collapsing would shorten (two or more nodes), in the order they first appear. */
export function collapsibleStages(doc: GraphDoc): Stage[] {
  const keyOf = stageKeyOf(doc.nodes);
  const byKey = new Map<string, string[]>();
  for (const node of doc.nodes) {
    const key = keyOf(node.path);
    if (key !== null) (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(node.id);
  }
  return [...byKey].filter(([, members]) => members.length >= 2).map(([key, members]) => ({ key, members }));
}

export const STAGE_CARD = "@";

export function stageCardId(key: string): string {
  return STAGE_CARD + key;
}

export function isStageCard(id: string): boolean {
  return id.startsWith(STAGE_CARD);
}

export interface CollapsedView {
  /** The node or stage card each node is drawn as (members of collapsed stages map to their card). */
  drawnAs: Map<string, string>;
  /** Positions of everything drawn: nodes outside collapsed stages and the cards. */
  positions: Map<string, { x: number; y: number }>;
  stages: Stage[];
}

/**
 * The drawing of `doc` with the stages in `collapsed` as one card each: which node is drawn as what, and
 * positions from the same layout the canvas uses, run on the graph with each collapsed stage as one node.
 */
export function collapsedView(doc: GraphDoc, stages: readonly Stage[], collapsed: ReadonlySet<string>, dir: Direction, sizeOf?: SizeOf): CollapsedView {
  const drawnAs = new Map<string, string>(doc.nodes.map((n) => [n.id, n.id]));
  const shown = stages.filter((s) => collapsed.has(s.key));
  for (const stage of shown) for (const id of stage.members) drawnAs.set(id, stageCardId(stage.key));
  const cards = new Set<string>();
  const nodes: GraphNode[] = [];
  for (const node of doc.nodes) {
    const as = drawnAs.get(node.id)!;
    if (as === node.id) nodes.push({ id: node.id, type: node.type, path: node.path });
    else if (!cards.has(as)) {
      cards.add(as);
      nodes.push({ id: as, type: "Stage" });
    }
  }
  const edges = new Map<string, [string, string]>();
  for (const ref of edgeRefs(doc)) {
    const from = drawnAs.get(ref.source.node);
    const to = drawnAs.get(ref.target);
    if (!from || !to || from === to) continue;
    edges.set(`${from}->${to}`, [formatSource(from, null), to]);
  }
  const drawn: GraphDoc = { ...doc, nodes, edges: [...edges.values()], composites: undefined };
  return { drawnAs, positions: layoutPositions(drawn, dir, sizeOf), stages: shown };
}

export interface StageSummary {
  key: string;
  count: number;
  /** The shape leaving the stage (from its last member, in document order, whose output is used outside it). */
  shape: string;
  paramCount: string;
  errors: number;
  warnings: number;
}

/** What a stage card says: size, parameters and the shape it hands on, from the latest validation. */
export function summarizeStage(doc: GraphDoc, stage: Stage, validation: ValidateResult | null, diagnostics: (id: string) => { errors: number; warnings: number } | undefined): StageSummary {
  const order = new Map(stage.members.map((id, i) => [id, i]));
  const ids = new Set(doc.nodes.map((n) => n.id));
  let exit: { node: string; output: number | null } | null = null;
  for (const [source, target] of doc.edges) {
    const from = parseSource(source, ids);
    const at = order.get(from.node);
    if (at !== undefined && !order.has(target) && (exit === null || at > order.get(exit.node)!)) exit = from;
  }
  const params = (validation?.params ?? {}) as Record<string, number>;
  let total = 0;
  let errors = 0;
  let warnings = 0;
  for (const id of stage.members) {
    total += params[id] ?? 0;
    errors += diagnostics(id)?.errors ?? 0;
    warnings += diagnostics(id)?.warnings ?? 0;
  }
  return {
    key: stage.key,
    count: stage.members.length,
    shape: exit ? outputShape(validation, exit.node, exit.output) : "",
    paramCount: formatCount(total),
    errors,
    warnings,
  };
}

export interface StageCardData extends StageSummary, Record<string, unknown> {
  dir: Direction;
}
export type StageCanvasNode = Node<StageCardData, "stage">;
export type DrawnNode = CanvasNode | StageCanvasNode;

/**
 * The canvas's nodes and edges as `view` draws them: nodes of collapsed stages replaced by their cards,
 * everything at the view's positions, edges into and out of a stage drawn to its card (one per pair of
 * ends), edges inside a collapsed stage left out.
 */
export function collapseFlow(flow: { nodes: CanvasNode[]; edges: CanvasEdge[] }, doc: GraphDoc, view: CollapsedView, validation: ValidateResult | null, dir: Direction): { nodes: DrawnNode[]; edges: CanvasEdge[] } {
  const data = new Map(flow.nodes.map((n) => [n.id, n.data]));
  const nodes: DrawnNode[] = [];
  for (const rf of flow.nodes) {
    if (view.drawnAs.get(rf.id) !== rf.id) continue;
    const p = view.positions.get(rf.id);
    nodes.push(p && (p.x !== rf.position.x || p.y !== rf.position.y) ? { ...rf, position: p } : rf);
  }
  for (const stage of view.stages) {
    const id = stageCardId(stage.key);
    const summary = summarizeStage(doc, stage, validation, (member) => data.get(member));
    nodes.push({ id, type: "stage", position: view.positions.get(id) ?? { x: 0, y: 0 }, data: { ...summary, dir }, draggable: false });
  }
  const edges: CanvasEdge[] = [];
  const drawnPairs = new Set<string>();
  for (const edge of flow.edges) {
    const source = view.drawnAs.get(edge.source) ?? edge.source;
    const target = view.drawnAs.get(edge.target) ?? edge.target;
    if (source === edge.source && target === edge.target) {
      edges.push(edge);
      continue;
    }
    const pair = `${source}->${target}`;
    if (source === target || drawnPairs.has(pair)) continue;
    drawnPairs.add(pair);
    edges.push({
      ...edge,
      source,
      target,
      sourceHandle: source === edge.source ? edge.sourceHandle : "out",
      targetHandle: target === edge.target ? edge.targetHandle : "x",
      data: edge.data ? { ...edge.data, slot: target === edge.target ? edge.data.slot : "" } : edge.data,
    });
  }
  return { nodes, edges };
}
