// Automatic layout with dagre: whole graphs (the Layout button) and nodes that have no position yet.
import dagre from "@dagrejs/dagre";
import type { GraphDoc, GraphNode } from "../graph";
import { edgeRefs, nodeIndex, position } from "./graphutil";

export type Direction = "TB" | "LR";

export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 120;

export type SizeOf = (id: string) => { width: number; height: number } | undefined;

/** Above this many nodes, positions are computed by the linear-time layered layout instead of dagre. */
export const DAGRE_LIMIT = 150;

/** A graph this long whose nodes sit in module stages (`layer1.0`, `layer2.3`) is laid out a stage per column. */
export const STAGED_MIN_NODES = 40;
const STAGE_GAP = 140;

/**
 * Top-left positions for every node: dagre for graphs up to `dagreLimit` nodes, the fast layered layout
 * above. A long graph with module stages (an imported ResNet: stem, layer1…layer4, head) gets one column
 * (row, left to right) per stage, each laid out on its own, so the drawing reads like the architecture
 * instead of as one very tall chain.
 */
export function layoutPositions(doc: GraphDoc, dir: Direction, sizeOf?: SizeOf, dagreLimit = DAGRE_LIMIT): Map<string, { x: number; y: number }> {
  const layered = (d: GraphDoc) => (d.nodes.length > dagreLimit ? fastLayout(d, dir, sizeOf) : dagreLayout(d, dir, sizeOf));
  const stages = doc.nodes.length >= STAGED_MIN_NODES ? moduleStages(doc) : null;
  if (!stages) return layered(doc);
  const result = new Map<string, { x: number; y: number }>();
  const size = (id: string) => sizeOf?.(id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
  let offset = 0;
  for (const members of stages) {
    const inside = new Set(members);
    const part: GraphDoc = { ...doc, nodes: doc.nodes.filter((n) => inside.has(n.id)), edges: doc.edges.filter((e) => inside.has(e[0].split(":")[0]) && inside.has(e[1])) };
    const laid = layered(part);
    const boxes = [...laid].map(([id, p]) => ({ ...p, ...size(id) }));
    const minX = Math.min(...boxes.map((b) => b.x));
    const minY = Math.min(...boxes.map((b) => b.y));
    for (const [id, p] of laid) result.set(id, dir === "TB" ? { x: p.x - minX + offset, y: p.y - minY } : { x: p.x - minX, y: p.y - minY + offset });
    offset += dir === "TB" ? Math.max(...boxes.map((b) => b.x + b.width)) - minX + STAGE_GAP : Math.max(...boxes.map((b) => b.y + b.height)) - minY + STAGE_GAP;
  }
  return result;
}

/**
 * The graph's module stages in forward order, or null when it has fewer than two. A stage is the nodes
 * whose path starts with one container (`layer1` of `layer1.0`, `layer1.1.conv1`; below the containers
 * that every path shares, such as DenseNet's `features`); a node without one
 * (an unnamed `add`, a head's `fc`) joins the latest stage its inputs come from, and nodes before any
 * stage (the input and a stem's `conv1`, `bn1`) make a column of their own.
 */
export function moduleStages(doc: GraphDoc): string[][] | null {
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  // Containers every path shares (DenseNet's `features`) say nothing: the stages are one level below.
  const containers = doc.nodes.flatMap((n) => (n.path?.includes(".") ? [n.path.split(".").slice(0, -1)] : []));
  let depth = 0;
  while (containers.length && containers.every((c) => c.length > depth && c[depth] === containers[0][depth])) depth++;
  const stageKey = (path: string | undefined) => {
    const segments = path?.split(".") ?? [];
    return segments.length > depth + 1 ? segments[depth] : null;
  };
  const edges = adjacency(doc);
  const stages: string[][] = [];
  const stageOf = new Map<string, number>();
  const stageOfKey = new Map<string, number>();
  let stem = -1;
  for (const id of forwardOrder(edges)) {
    const key = stageKey(byId.get(id)?.path);
    let stage: number;
    if (key !== null) {
      if (!stageOfKey.has(key)) stageOfKey.set(key, stages.push([]) - 1);
      stage = stageOfKey.get(key)!;
    } else {
      const from = edges.preds.get(id)!.map((source) => stageOf.get(source) ?? -1);
      stage = Math.max(-1, ...from);
      if (stage === -1) stage = stem === -1 ? (stem = stages.push([]) - 1) : stem;
    }
    stages[stage].push(id);
    stageOf.set(id, stage);
  }
  return stageOfKey.size >= 2 ? stages : null;
}

interface Adjacency {
  ids: string[];
  preds: Map<string, string[]>;
  succs: Map<string, string[]>;
}

/** Each node's predecessors and successors along the edges; self-loops and edges to unknown nodes left out. */
function adjacency(doc: GraphDoc): Adjacency {
  const ids = [...nodeIndex(doc).keys()];
  const preds = new Map<string, string[]>(ids.map((id) => [id, []]));
  const succs = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const ref of edgeRefs(doc)) {
    const a = ref.source.node;
    const b = ref.target;
    if (a === b || !preds.has(a) || !preds.has(b)) continue;
    preds.get(b)!.push(a);
    succs.get(a)!.push(b);
  }
  return { ids, preds, succs };
}

/** Node ids in a topological order (Kahn's, ties in document order); nodes on cycles come last, in document order. */
function forwardOrder({ ids, preds, succs }: Adjacency): string[] {
  const indegree = new Map<string, number>(ids.map((id) => [id, preds.get(id)!.length]));
  const queue = ids.filter((id) => indegree.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    for (const next of succs.get(queue[i])!) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  const seen = new Set(queue);
  return [...queue, ...ids.filter((id) => !seen.has(id))];
}

/** Top-left positions for every node, laid out by dagre (network simplex ranks, crossing minimisation). */
export function dagreLayout(doc: GraphDoc, dir: Direction, sizeOf?: SizeOf): Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: dir, nodesep: dir === "TB" ? 40 : 30, ranksep: dir === "TB" ? 56 : 80, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = nodeIndex(doc);
  const sizes = new Map<string, { width: number; height: number }>();
  for (const id of ids.keys()) {
    const size = sizeOf?.(id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
    sizes.set(id, size);
    g.setNode(id, { width: size.width, height: size.height });
  }
  for (const ref of edgeRefs(doc)) {
    if (ids.has(ref.source.node) && ids.has(ref.target) && ref.source.node !== ref.target) {
      g.setEdge(ref.source.node, ref.target);
    }
  }
  dagre.layout(g);
  const result = new Map<string, { x: number; y: number }>();
  for (const id of ids.keys()) {
    const n = g.node(id) as { x: number; y: number } | undefined;
    const size = sizes.get(id)!;
    if (n) result.set(id, { x: Math.round(n.x - size.width / 2), y: Math.round(n.y - size.height / 2) });
  }
  return result;
}

/** Writes positions into `ui` (other `ui` keys kept); nodes not in the map are returned unchanged. */
export function withPositions(doc: GraphDoc, positions: Map<string, { x: number; y: number }>): GraphDoc {
  let changed = false;
  const nodes = doc.nodes.map((node) => {
    const p = positions.get(node.id);
    if (!p) return node;
    const current = position(node);
    if (current && current.x === p.x && current.y === p.y) return node;
    changed = true;
    return setPosition(node, p);
  });
  return changed ? { ...doc, nodes } : doc;
}

export function setPosition(node: GraphNode, p: { x: number; y: number }): GraphNode {
  return { ...node, ui: { ...(node.ui ?? {}), x: Math.round(p.x), y: Math.round(p.y) } };
}

/**
 * Positions for nodes that have none: all of dagre's when no node has a position; otherwise dagre's
 * placement for the missing ones, shifted to the right of the existing drawing so nothing overlaps.
 * Returns the document itself when every node already has a position.
 */
export function ensurePositions(doc: GraphDoc, dir: Direction = "TB", sizeOf?: SizeOf): GraphDoc {
  const missing = doc.nodes.filter((node) => !position(node));
  if (missing.length === 0) return doc;
  const laid = layoutPositions(doc, dir, sizeOf);
  const placed = doc.nodes.map(position).filter((p): p is { x: number; y: number } => p !== null);
  if (placed.length > 0) {
    const maxX = Math.max(...placed.map((p) => p.x)) + NODE_WIDTH + 80;
    const minY = Math.min(...placed.map((p) => p.y));
    const missingPositions = missing.map((n) => laid.get(n.id)!).filter(Boolean);
    const minLaidX = Math.min(...missingPositions.map((p) => p.x));
    const minLaidY = Math.min(...missingPositions.map((p) => p.y));
    for (const node of missing) {
      const p = laid.get(node.id);
      if (p) laid.set(node.id, { x: p.x - minLaidX + maxX, y: p.y - minLaidY + minY });
    }
  }
  const onlyMissing = new Map<string, { x: number; y: number }>();
  for (const node of missing) {
    const p = laid.get(node.id);
    if (p) onlyMissing.set(node.id, p);
  }
  return withPositions(doc, onlyMissing);
}

/**
 * A linear-time layered layout for big graphs (dagre needs ~0.5 s for 500 nodes): ranks by longest path
 * from the sources, each rank ordered by the mean position of its predecessors, nodes placed at that mean
 * where they fit and pushed aside where they do not.
 */
export function fastLayout(doc: GraphDoc, dir: Direction, sizeOf?: SizeOf): Map<string, { x: number; y: number }> {
  const edges = adjacency(doc);
  const { preds } = edges;
  const rank = new Map<string, number>();
  const order = forwardOrder(edges);
  for (const id of order) {
    let r = 0;
    for (const p of preds.get(id)!) if (rank.has(p)) r = Math.max(r, rank.get(p)! + 1);
    rank.set(id, r);
  }
  const ranks: string[][] = [];
  for (const id of order) (ranks[rank.get(id)!] ??= []).push(id);

  const size = (id: string) => sizeOf?.(id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
  const across = (id: string) => (dir === "TB" ? size(id).width : size(id).height);
  const along = (id: string) => (dir === "TB" ? size(id).height : size(id).width);
  const gap = dir === "TB" ? 40 : 30;
  const rankGap = dir === "TB" ? 56 : 80;
  const centre = new Map<string, number>(); // position across the ranks (centre of the node)
  const result = new Map<string, { x: number; y: number }>();
  let offset = 0;
  for (const row of ranks) {
    if (!row) continue;
    const wanted = row.map((id, i) => {
      const placed = preds.get(id)!.filter((p) => centre.has(p));
      const mean = placed.length ? placed.reduce((sum, p) => sum + centre.get(p)!, 0) / placed.length : i * (NODE_WIDTH + gap);
      return { id, mean };
    });
    wanted.sort((a, b) => a.mean - b.mean);
    const xs: number[] = [];
    wanted.forEach((w, i) => {
      const half = across(w.id) / 2;
      const min = i === 0 ? -Infinity : xs[i - 1] + across(wanted[i - 1].id) / 2 + gap + half;
      xs.push(Math.max(w.mean, min));
    });
    const drift = xs.reduce((sum, x, i) => sum + (x - wanted[i].mean), 0) / xs.length;
    const depth = Math.max(...row.map(along));
    wanted.forEach((w, i) => {
      const c = xs[i] - drift;
      centre.set(w.id, c);
      const a = Math.round(c - across(w.id) / 2);
      const b = Math.round(offset + (depth - along(w.id)) / 2);
      result.set(w.id, dir === "TB" ? { x: a, y: b } : { x: b, y: a });
    });
    offset += depth + rankGap;
  }
  return result;
}
