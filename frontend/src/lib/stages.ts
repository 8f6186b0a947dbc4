// Module stages and the collapsed view of a graph; user blocks expanded in place.
//
// A stage is the nodes whose module path starts with one container, one level below the containers every
// path shares: ResNet's `layer1`…`layer4`, DenseNet's `features.denseblock1`, a U-Net's `enc1`…`dec1`.
// The layout gives each stage a column; the canvas can collapse a stage to one card ("@" + its key: the
// character keeps card ids apart from node ids, which are identifiers). The collapsed view is a drawing
// of its own, laid out afresh: the cards stand where the stage's first node would be in that layout, and
// an edge into or out of a stage is drawn to its card.
import type { Node } from "@xyflow/react";
import type { GraphDoc, GraphEdge, GraphNode, ValidateResult } from "../graph";
import type { CanvasEdge, CanvasNode } from "./convert";
import { edgeRefs, formatSource, parseSource, stageKeyOf } from "./graphutil";
import { formatCount, outputShape } from "./format";
import { bounds, type Direction, layoutPositions, type SizeOf, sizeWith } from "./layout";

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
  /** Positions of everything drawn: nodes outside collapsed stages, the cards, the frames of expanded blocks. */
  positions: Map<string, { x: number; y: number }>;
  stages: Stage[];
  /** The size of each expanded block's frame (its position is under the instance's id). */
  frames: Map<string, { width: number; height: number }>;
}

/** Room between a frame and the block nodes it holds; its label sits in the top margin. */
const FRAME_PAD = 24;
const FRAME_LABEL = 28;

/**
 * The drawing of `doc` with the stages in `collapsed` as one card each and the nodes of expanded blocks
 * (`inner`: drawn id → instance, from expandInstances) inside a frame each: which node is drawn as what,
 * and positions from the same layout the canvas uses. A block is laid out on its own first; the graph is
 * then laid out with each collapsed stage as one node and each expanded block as one node of its frame's
 * size, so a block's nodes stay together where the instance was.
 */
export function collapsedView(doc: GraphDoc, stages: readonly Stage[], collapsed: ReadonlySet<string>, dir: Direction, sizeOf?: SizeOf, inner: ReadonlyMap<string, string> = new Map()): CollapsedView {
  const drawnAs = new Map<string, string>(doc.nodes.map((n) => [n.id, n.id]));
  const shown = stages.filter((s) => collapsed.has(s.key));
  for (const stage of shown) for (const id of stage.members) drawnAs.set(id, stageCardId(stage.key));
  const size = sizeWith(sizeOf);
  // Each block's own drawing, relative to its frame's top-left.
  const frames = new Map<string, { width: number; height: number }>();
  const withinFrame = new Map<string, { x: number; y: number }>();
  const membersOf = new Map<string, Set<string>>();
  for (const [id, instance] of inner) (membersOf.get(instance) ?? membersOf.set(instance, new Set()).get(instance)!).add(id);
  for (const [instance, members] of membersOf) {
    const part: GraphDoc = { ...doc, nodes: doc.nodes.filter((n) => members.has(n.id)), edges: doc.edges.filter((e) => members.has(parseSource(e[0], members).node) && members.has(e[1])) };
    const laid = layoutPositions(part, dir, sizeOf);
    const box = bounds([...laid].map(([id, p]) => ({ ...p, ...size(id) })));
    for (const [id, p] of laid) withinFrame.set(id, { x: p.x - box.minX + FRAME_PAD, y: p.y - box.minY + FRAME_PAD + FRAME_LABEL });
    frames.set(instance, { width: box.width + 2 * FRAME_PAD, height: box.height + 2 * FRAME_PAD + FRAME_LABEL });
  }
  // In the graph's layout a block is one node: its frame.
  const outerAs = (id: string) => inner.get(id) ?? drawnAs.get(id);
  const cards = new Set<string>();
  const nodes: GraphNode[] = [];
  for (const node of doc.nodes) {
    const as = outerAs(node.id)!;
    if (as === node.id) nodes.push({ id: node.id, type: node.type, path: node.path });
    else if (!cards.has(as)) {
      cards.add(as);
      nodes.push({ id: as, type: "Stage" });
    }
  }
  const edges = new Map<string, [string, string]>();
  for (const ref of edgeRefs(doc)) {
    const from = outerAs(ref.source.node);
    const to = outerAs(ref.target);
    if (!from || !to || from === to) continue;
    edges.set(`${from}->${to}`, [formatSource(from, null), to]);
  }
  const drawn: GraphDoc = { ...doc, nodes, edges: [...edges.values()], composites: undefined };
  const positions = layoutPositions(drawn, dir, (id) => frames.get(id) ?? sizeOf?.(id));
  for (const [id, offset] of withinFrame) {
    const frame = positions.get(inner.get(id)!);
    if (frame) positions.set(id, { x: frame.x + offset.x, y: frame.y + offset.y });
  }
  return { drawnAs, positions, stages: shown, frames };
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
/** The frame around an expanded block instance: it stands for the instance (its id), so selecting it selects that. */
export type FrameCanvasNode = Node<{ instance: string; block: string }, "frame">;
export type DrawnNode = CanvasNode | StageCanvasNode | FrameCanvasNode;

/**
 * The canvas's nodes and edges as `view` draws them: nodes of collapsed stages replaced by their cards,
 * everything at the view's positions, edges into and out of a stage drawn to its card (one per pair of
 * ends), edges inside a collapsed stage left out.
 */
export function collapseFlow(
  flow: { nodes: CanvasNode[]; edges: CanvasEdge[] },
  doc: GraphDoc,
  view: CollapsedView,
  validation: ValidateResult | null,
  dir: Direction,
  expansion: { inner: ReadonlyMap<string, string>; blockOf: (instance: string) => string; selected?: ReadonlySet<string> } = { inner: new Map(), blockOf: () => "" },
): { nodes: DrawnNode[]; edges: CanvasEdge[] } {
  const data = new Map(flow.nodes.map((n) => [n.id, n.data]));
  const nodes: DrawnNode[] = [];
  for (const rf of flow.nodes) {
    if (view.drawnAs.get(rf.id) !== rf.id) continue;
    const p = view.positions.get(rf.id) ?? rf.position;
    if (!expansion.inner.has(rf.id)) nodes.push(p.x !== rf.position.x || p.y !== rf.position.y ? { ...rf, position: p } : rf);
    // A block's own node: shown, not edited (the instance is what the document holds).
    else nodes.push({ ...rf, position: p, selectable: false, draggable: false, connectable: false, data: { ...rf.data, readOnly: true } });
  }
  // Frames first: drawn beneath the nodes they hold.
  const framed: DrawnNode[] = [...view.frames].map(([instance, size]) => ({
    id: instance,
    type: "frame",
    position: view.positions.get(instance) ?? { x: 0, y: 0 },
    ...size,
    data: { instance, block: expansion.blockOf(instance) },
    selected: expansion.selected?.has(instance) ?? false,
    draggable: false,
    connectable: false,
  }));
  nodes.unshift(...framed);
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
      // Edges of an expanded block are drawn from the block's definition: nothing to select or delete.
      edges.push(expansion.inner.has(source) || expansion.inner.has(target) ? { ...edge, selectable: false } : edge);
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

/** The id a node of an expanded block instance is drawn under: the instance's id, a slash, the node's own. */
export function innerId(instance: string, node: string): string {
  return `${instance}/${node}`;
}

export interface Expansion {
  /** The document as drawn: expanded instances replaced by their blocks' nodes. */
  doc: GraphDoc;
  /** Drawn id of each block node → the instance it belongs to. */
  inner: Map<string, string>;
}

/**
 * The document with each instance in `expanded` (of a block defined in the document) replaced by the
 * block's own nodes, wired as the instance was: what fed an input of the instance feeds the nodes the
 * block's input feeds (the block's `Input` nodes are not drawn), and what read the instance's output k
 * reads the block's output k. Ids are `instance/node`; a block node keeps its id as its label, and gets a
 * position only so that the canvas does not lay the document out for it (the view is laid out whole).
 */
export function expandInstances(doc: GraphDoc, expanded: ReadonlySet<string>): Expansion {
  const defs = doc.composites ?? {};
  // A block with nothing but its inputs has nothing to draw: its instance stays as it is.
  const drawable = (type: string) => defs[type]?.nodes.some((n) => !defs[type].inputs.includes(n.id));
  const open = new Map(doc.nodes.filter((n) => expanded.has(n.id) && drawable(n.type)).map((n) => [n.id, defs[n.type]]));
  const inner = new Map<string, string>();
  if (!open.size) return { doc, inner };
  const ids = new Set(doc.nodes.map((n) => n.id));
  const blockIds = new Map([...open].map(([instance, def]) => [instance, new Set(def.nodes.map((n) => n.id))]));
  // What feeds each input of each open instance, by the input's id in the block.
  const feeds = new Map<string, Map<string, string>>([...open.keys()].map((id) => [id, new Map()]));
  for (const [source, target, port] of doc.edges) {
    const def = open.get(target);
    if (def) feeds.get(target)!.set(port && def.inputs.includes(port) ? port : def.inputs[0], source);
  }
  // A block's source as drawn: one of its inputs is whatever feeds it; any other node is the drawn copy.
  // `hops` bounds the walk through blocks that pass an input straight out, should such blocks form a cycle.
  const drawnSource = (instance: string, source: string | undefined, hops: number): string | null => {
    const def = open.get(instance)!;
    if (source === undefined || hops > open.size) return null;
    const from = parseSource(source, blockIds.get(instance)!);
    if (def.inputs.includes(from.node)) return resolve(feeds.get(instance)!.get(from.node) ?? null, hops + 1);
    return formatSource(innerId(instance, from.node), from.output);
  };
  // An outside source as drawn: an open instance's output k is the block's output k.
  const resolve = (source: string | null, hops = 0): string | null => {
    if (source === null) return null;
    const from = parseSource(source, ids);
    const def = open.get(from.node);
    return def ? drawnSource(from.node, def.outputs[from.output ?? 0] ?? def.outputs[0], hops) : source;
  };

  const nodes: GraphNode[] = [];
  for (const node of doc.nodes) {
    const def = open.get(node.id);
    if (!def) nodes.push(node);
    else
      for (const n of def.nodes) {
        if (def.inputs.includes(n.id)) continue;
        const id = innerId(node.id, n.id);
        inner.set(id, node.id);
        nodes.push({ ...n, id, label: n.label ?? n.id, path: undefined, ui: { x: 0, y: 0 } });
      }
  }
  const edges: GraphEdge[] = [];
  const add = (source: string | null, target: string, port: string | undefined) => {
    if (source !== null) edges.push(port === undefined ? [source, target] : [source, target, port]);
  };
  for (const [source, target, port] of doc.edges) if (!open.has(target)) add(resolve(source), target, port);
  for (const [instance, def] of open) {
    for (const [source, target, port] of def.edges) if (!def.inputs.includes(target)) add(drawnSource(instance, source, 0), innerId(instance, target), port);
  }
  return { doc: { ...doc, nodes, edges }, inner };
}
