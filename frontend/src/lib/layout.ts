// Automatic layout (dagre, or a linear layered layout for big graphs) of whole graphs (the Layout button)
// and of nodes that have no position yet: main path straight, long graphs wrapped, encoder–decoders as a U.
import dagre from "@dagrejs/dagre";
import type { GraphDoc, GraphEdge, GraphNode } from "../graph";
import { edgeRefs, nodeIndex, position, stageKeyOf } from "./graphutil";

export type Direction = "TB" | "LR";

export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 120;

export type SizeOf = (id: string) => { width: number; height: number } | undefined;

/** Above this many nodes, positions are computed by the linear-time layered layout instead of dagre. */
export const DAGRE_LIMIT = 150;

/** A graph this long whose nodes sit in module stages (`layer1.0`, `layer2.3`) is laid out a stage per column. */
export const STAGED_MIN_NODES = 40;
const STAGE_GAP = 140;
/** Room between a U's arms for the skips that run across (and their shape labels); narrow enough that both arms of a U-Net fit a laptop screen at a readable zoom. */
const ARM_GAP = NODE_WIDTH;

/** Wrapping aims at this width:height for the whole drawing, a landscape screen's. */
const TARGET_ASPECT = 1.45;
/** A drawing at most this many ranks long stays one strip: at the card size it fits a laptop screen at a readable zoom. */
export const WRAP_MIN_RANKS = 4;
/** Merge nodes whose long, nested input edges make a model an encoder–decoder drawn as a U. */
const MERGE_TYPES = new Set(["Concat", "Add"]);

/** Space between ranks (along the flow) and between nodes of one rank (across it). */
const RANK_GAP = { TB: 56, LR: 80 };
const NODE_GAP = { TB: 40, LR: 30 };

type Point = { x: number; y: number };
type Size = { width: number; height: number };

/** Each node's box: its measured size where `sizeOf` knows it, else the card's default. */
export function sizeWith(sizeOf?: SizeOf): (id: string) => Size {
  return (id) => sizeOf?.(id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
}

/** The box around `boxes`: its top-left corner and its size. */
export function bounds(boxes: readonly (Point & Size)[]): { minX: number; minY: number; width: number; height: number } {
  const minX = Math.min(...boxes.map((b) => b.x));
  const minY = Math.min(...boxes.map((b) => b.y));
  return { minX, minY, width: Math.max(...boxes.map((b) => b.x + b.width)) - minX, height: Math.max(...boxes.map((b) => b.y + b.height)) - minY };
}

/**
 * Top-left positions for every node: dagre for graphs up to `dagreLimit` nodes, the fast layered layout
 * above, each with its main path (the longest source-to-sink path) straight. An encoder–decoder (long
 * skips into merge nodes, nested) is drawn as a U. A graph much longer than wide is cut into columns
 * (rows, left to right) placed side by side, so the whole drawing is about a landscape screen's shape;
 * a long graph with module stages (an imported ResNet: stem, layer1…layer4, head) gets at least one
 * column per stage. Columns are cut where a single edge crosses, so no skip spans two of them.
 */
export function layoutPositions(doc: GraphDoc, dir: Direction, sizeOf?: SizeOf, dagreLimit = DAGRE_LIMIT): Map<string, Point> {
  const size = sizeWith(sizeOf);
  // Chosen by the whole graph's size: its columns, each small enough for dagre, would together cost as much.
  const layered = (d: GraphDoc) => (doc.nodes.length > dagreLimit ? fastLayout(d, dir, sizeOf) : dagreLayout(d, dir, sizeOf));
  const u = encoderDecoder(doc);
  if (u) return uLayout(doc, u, dir, size);
  const columns = wrappedColumns(doc, dir, size);
  if (columns.length === 1) return layered(doc);
  const columnOf = new Map<string, number>();
  columns.forEach((ids, i) => ids.forEach((id) => columnOf.set(id, i)));
  const parts = columns.map((): GraphDoc => ({ ...doc, nodes: [], edges: [] }));
  for (const node of doc.nodes) if (columnOf.has(node.id)) parts[columnOf.get(node.id)!].nodes.push(node);
  for (const ref of edgeRefs(doc)) if (columnOf.get(ref.source.node) === columnOf.get(ref.target) && columnOf.has(ref.target)) parts[columnOf.get(ref.target)!].edges.push(ref.edge);
  const result = new Map<string, Point>();
  let offset = 0;
  for (const part of parts) {
    const laid = layered(part);
    const { minX, minY, width, height } = bounds([...laid].map(([id, p]) => ({ ...p, ...size(id) })));
    for (const [id, p] of laid) result.set(id, dir === "TB" ? { x: p.x - minX + offset, y: p.y - minY } : { x: p.x - minX, y: p.y - minY + offset });
    offset += (dir === "TB" ? width : height) + STAGE_GAP;
  }
  return result;
}

/**
 * The node ids of each column, in order: the module stages of a long graph (or the whole graph), each cut
 * into pieces about as long as the column length that gives the whole drawing a landscape shape, at
 * ranks where a single edge crosses (module-stage boundaries preferred); then a short piece merged into
 * its neighbour where together they are not much longer than a column (VGG's lone input).
 */
function wrappedColumns(doc: GraphDoc, dir: Direction, size: (id: string) => Size): string[][] {
  const whole = layers(doc, dir, size);
  const stages = moduleStages(doc);
  const units = doc.nodes.length >= STAGED_MIN_NODES && stages ? stages : [whole.order];
  if (whole.ranks.length <= WRAP_MIN_RANKS && units.length === 1) return units;
  // The wrapped drawing: k columns of about length/k, each about as wide as the widest rank.
  const length = whole.length;
  const gap = NODE_GAP[dir];
  const width = Math.max(...whole.ranks.map((row) => row.reduce((sum, id) => sum + (dir === "TB" ? size(id).width : size(id).height) + gap, -gap)));
  const aspectOf = (k: number) => {
    const across = k * width + (k - 1) * STAGE_GAP;
    return dir === "TB" ? across / (length / k) : length / k / across;
  };
  let k = 1;
  while (k < whole.ranks.length && Math.abs(Math.log(aspectOf(k + 1) / TARGET_ASPECT)) < Math.abs(Math.log(aspectOf(k) / TARGET_ASPECT))) k++;
  const column = whole.ranks.length <= WRAP_MIN_RANKS ? Infinity : length / k;
  const stageOf = new Map<string, number>();
  stages?.forEach((members, i) => members.forEach((id) => stageOf.set(id, i)));
  const pieces: { ids: string[]; length: number }[] = [];
  for (const members of units) {
    const inside = new Set(members);
    const part = units.length === 1 ? whole : layers({ ...doc, nodes: doc.nodes.filter((n) => inside.has(n.id)) }, dir, size);
    pieces.push(...cutAtSingleEdges(part, column, stageOf));
  }
  const merged = [pieces[0]];
  for (const piece of pieces.slice(1)) {
    const last = merged[merged.length - 1];
    const length = last.length + whole.rankGap + piece.length;
    if (length <= column * 1.25 && Math.min(last.length, piece.length) <= column / 3) merged[merged.length - 1] = { ids: [...last.ids, ...piece.ids], length };
    else merged.push(piece);
  }
  return merged.map((p) => p.ids);
}

/**
 * A layered drawing cut into pieces about `column` long: each cut is the boundary between two ranks that
 * one edge crosses nearest to its ideal place (within a third of a piece; a module-stage boundary counts
 * as a quarter piece nearer), else one that only edges out of one node cross (a flattened ResNet has no
 * other: its skips cross every boundary); with too few such boundaries, into fewer pieces, or none.
 */
function cutAtSingleEdges(l: Layers, column: number, stageOf: Map<string, number>): { ids: string[]; length: number }[] {
  const count = Math.max(1, Math.round(l.length / column));
  if (count === 1 || l.length <= column * 1.3) return [{ ids: l.order, length: l.length }];
  // crossing[r], sources[r]: edges that cross the boundary after rank r, and nodes they come from.
  const crossing = new Array<number>(l.ranks.length).fill(0);
  const sources = new Array<number>(l.ranks.length).fill(0);
  for (const id of l.order) {
    const from = l.rank.get(id)!;
    let reach = from;
    for (const next of l.graph.succs.get(id)!) {
      const to = l.rank.get(next)!;
      reach = Math.max(reach, to);
      const [lo, hi] = [Math.min(from, to), Math.max(from, to)];
      if (lo < hi) [crossing[lo], crossing[hi]] = [crossing[lo] + 1, crossing[hi] - 1];
      if (to < from) [sources[to], sources[from]] = [sources[to] + 1, sources[from] - 1];
    }
    if (reach > from) [sources[from], sources[reach]] = [sources[from] + 1, sources[reach] - 1];
  }
  for (let r = 1; r < crossing.length; r++) [crossing[r], sources[r]] = [crossing[r] + crossing[r - 1], sources[r] + sources[r - 1]];
  // A stage boundary: every node up to rank r is in an earlier stage than every node after it.
  const stageMax: number[] = [];
  const stageMin: number[] = [];
  l.ranks.forEach((row, r) => {
    const stages = row.map((id) => stageOf.get(id) ?? -1);
    stageMax[r] = Math.max(r > 0 ? stageMax[r - 1] : -Infinity, ...stages);
  });
  for (let r = l.ranks.length - 1; r >= 0; r--) stageMin[r] = Math.min(r + 1 < l.ranks.length ? stageMin[r + 1] : Infinity, ...l.ranks[r].map((id) => stageOf.get(id) ?? -1));
  // Fewer, longer pieces when there are not enough single-edge cuts for as many as wanted.
  let cuts: number[] = []; // ranks after which a new piece starts
  for (let pieces = count; pieces > 1; pieces--) {
    const pieceLength = l.length / pieces;
    cuts = [];
    for (let j = 1; j < pieces; j++) {
      let [best, bestScore] = [-1, Infinity];
      for (let r = (cuts[cuts.length - 1] ?? -1) + 1; r < l.ranks.length - 1; r++) {
        if (l.end[r] > pieceLength * (j + 1 / 3)) break;
        const distance = Math.abs(l.end[r] - pieceLength * j);
        if (sources[r] > 1 || distance > pieceLength / 3) continue;
        // Edges fanning out of one node (a residual block's output and its skip) only where no single edge will do.
        const score = distance - (stageMax[r] < stageMin[r + 1] ? pieceLength / 4 : 0) + (crossing[r] > 1 ? pieceLength : 0);
        if (score < bestScore) [best, bestScore] = [r, score];
      }
      if (best < 0) break;
      cuts.push(best);
    }
    if (cuts.length === pieces - 1) break;
    cuts = [];
  }
  const pieces: { ids: string[]; length: number }[] = [];
  let first = 0;
  for (const cut of [...cuts, l.ranks.length - 1]) {
    pieces.push({ ids: l.ranks.slice(first, cut + 1).flat(), length: l.end[cut] - (first > 0 ? l.end[first - 1] + l.rankGap : 0) });
    first = cut + 1;
  }
  return pieces;
}

interface EncoderDecoder {
  path: string[];
  /** Main-path positions of the nested skips' sources and merges, outermost first. */
  skips: { from: number; to: number }[];
}

/**
 * The main path and its nested long skips when the graph is an encoder–decoder (a U-Net): at least two
 * edges from the main path into merge nodes on it, each strictly inside the one before, the outermost
 * spanning half the path, and no other such edge crossing them. Sequential skips (a ResNet) and crossing
 * ones (a DenseNet block) are not nested.
 */
export function encoderDecoder(doc: GraphDoc): EncoderDecoder | null {
  const graph = adjacency(doc);
  const path = longestPath(graph);
  const at = new Map(path.map((id, i) => [id, i]));
  const types = new Map(doc.nodes.map((n) => [n.id, n.type]));
  const all: { from: number; to: number }[] = [];
  for (const [i, id] of path.entries()) {
    for (const next of graph.succs.get(id)!) {
      const j = at.get(next);
      if (j !== undefined && j > i + 1 && MERGE_TYPES.has(types.get(next)!)) all.push({ from: i, to: j });
    }
  }
  all.sort((a, b) => b.to - b.from - (a.to - a.from));
  const skips: { from: number; to: number }[] = [];
  for (const s of all) {
    const inner = skips[skips.length - 1];
    if (!inner || (s.from > inner.from && s.to < inner.to)) skips.push(s);
  }
  const crosses = (a: { from: number; to: number }, b: { from: number; to: number }) => (a.from < b.from && b.from < a.to && a.to < b.to) || (b.from < a.from && a.from < b.to && b.to < a.to);
  if (skips.length < 2 || (skips[0].to - skips[0].from) * 2 < path.length) return null;
  if (all.some((s) => skips.some((k) => crosses(s, k)))) return null;
  return { path, skips };
}

/**
 * An encoder–decoder drawn as a U: the encoder down the left, the bottleneck split over the two arms'
 * lowest rows, the decoder up the right, each merge level with its skip's source so every skip runs
 * straight across; between two levels the arm with fewer nodes is spread evenly. Nodes off the main path
 * go in a column outside their arm, a row below their input.
 */
function uLayout(doc: GraphDoc, { path, skips }: EncoderDecoder, dir: Direction, size: (id: string) => Size): Map<string, Point> {
  const row = new Map<string, number>();
  const column = new Map<string, number>(); // 0 the encoder, 1 the decoder, -1 and 2 outside them
  const place = (ids: string[], col: number, top: number, bottom: number) =>
    ids.forEach((id, i) => {
      row.set(id, ids.length === 1 ? bottom : top + ((bottom - top) * i) / (ids.length - 1));
      column.set(id, col);
    });
  let level = 0;
  let [left, right] = [0, path.length - 1]; // the next encoder node down, the next decoder node up
  for (const skip of skips) {
    const down = path.slice(left, skip.from + 1);
    const up = path.slice(skip.to, right + 1).reverse();
    // The first level starts at row 0 with both arms' first nodes; later ones start a row below the last.
    const first = level === 0 ? 1 : 0;
    const rows = Math.max(down.length, up.length) - first;
    place(down, 0, first ? 0 : level + rows / down.length, level + rows);
    place(up, 1, first ? 0 : level + rows / up.length, level + rows);
    level += rows;
    [left, right] = [skip.from + 1, skip.to - 1];
  }
  const bottom = path.slice(left, right + 1);
  const half = Math.ceil(bottom.length / 2);
  place(bottom.slice(0, half), 0, level + 1, level + half);
  if (bottom.length > half) place(bottom.slice(half).reverse(), 1, level + 1 + (half - (bottom.length - half)), level + half);
  // Off the path: beside the arm of the first placed input (or output), one row lower (higher), below any already there.
  const graph = adjacency(doc);
  const taken = new Set<string>();
  for (const id of forwardOrder(graph)) {
    if (row.has(id)) continue;
    const input = graph.preds.get(id)!.find((p) => row.has(p));
    const output = input ? undefined : graph.succs.get(id)!.find((s) => row.has(s));
    const near = input ?? output;
    const col = near === undefined ? -1 : column.get(near)! <= 0 ? -1 : 2;
    let r = near === undefined ? 0 : Math.round(row.get(near)!) + (input ? 1 : -1);
    while (taken.has(`${col}:${r}`)) r++;
    taken.add(`${col}:${r}`);
    row.set(id, r);
    column.set(id, col);
  }
  const across = Math.max(...doc.nodes.map((n) => (dir === "TB" ? size(n.id).width : size(n.id).height)));
  const along = Math.max(...doc.nodes.map((n) => (dir === "TB" ? size(n.id).height : size(n.id).width)));
  const step = along + RANK_GAP[dir];
  const spread = across + ARM_GAP;
  const minRow = Math.min(...row.values());
  const minCol = Math.min(...column.values());
  const result = new Map<string, Point>();
  for (const [id, r] of row) {
    const a = Math.round((column.get(id)! - minCol) * spread);
    const b = Math.round((r - minRow) * step);
    result.set(id, dir === "TB" ? { x: a, y: b } : { x: b, y: a });
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
  const stageKey = stageKeyOf(doc.nodes);
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

const adjacencyCache = new WeakMap<GraphEdge[], { nodes: GraphNode[]; graph: Adjacency }>();

/**
 * Each node's predecessors and successors along the edges, self-loops and edges to unknown nodes left
 * out; cached per edges and nodes array, as the layout asks for it several times.
 */
function adjacency(doc: GraphDoc): Adjacency {
  const cached = adjacencyCache.get(doc.edges);
  if (cached?.nodes === doc.nodes) return cached.graph;
  const graph = buildAdjacency(doc);
  adjacencyCache.set(doc.edges, { nodes: doc.nodes, graph });
  return graph;
}

function buildAdjacency(doc: GraphDoc): Adjacency {
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

const orderCache = new WeakMap<Adjacency, string[]>();

/** Node ids in a topological order (Kahn's, ties in document order); nodes on cycles come last, in document order. */
function forwardOrder(graph: Adjacency): string[] {
  if (!orderCache.has(graph)) orderCache.set(graph, kahn(graph));
  return orderCache.get(graph)!;
}

function kahn({ ids, preds, succs }: Adjacency): string[] {
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

/**
 * Top-left positions for every node, laid out by dagre (network simplex ranks, crossing minimisation),
 * then each rank shifted across so the main path runs straight with its side branches beside it.
 */
export function dagreLayout(doc: GraphDoc, dir: Direction, sizeOf?: SizeOf): Map<string, Point> {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: dir, nodesep: NODE_GAP[dir], ranksep: RANK_GAP[dir], marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const graph = adjacency(doc);
  const sizes = new Map<string, Size>();
  const sizeOfNode = sizeWith(sizeOf);
  for (const id of graph.ids) {
    const size = sizeOfNode(id);
    sizes.set(id, size);
    g.setNode(id, { width: size.width, height: size.height });
  }
  for (const id of graph.ids) for (const next of graph.succs.get(id)!) g.setEdge(id, next);
  dagre.layout(g);
  // dagre gives node centres; a rank's nodes share the coordinate along the flow.
  const centres = new Map<string, Point>();
  for (const id of graph.ids) {
    const n = g.node(id) as Point | undefined;
    if (n) centres.set(id, dir === "TB" ? { x: n.x, y: n.y } : { x: n.y, y: n.x }); // x across, y along
  }
  const shiftOf = new Map<number, number>();
  const path = longestPath(graph).filter((id) => centres.has(id));
  for (const id of path) shiftOf.set(centres.get(id)!.y, centres.get(path[0])!.x - centres.get(id)!.x);
  let shift = 0;
  for (const along of [...new Set([...centres.values()].map((c) => c.y))].sort((a, b) => a - b)) {
    shift = shiftOf.get(along) ?? shift; // a rank without a main-path node keeps the one above's shift
    shiftOf.set(along, shift);
  }
  const result = new Map<string, Point>();
  for (const [id, c] of centres) {
    const size = sizes.get(id)!;
    const across = c.x + shiftOf.get(c.y)!;
    result.set(id, dir === "TB" ? { x: Math.round(across - size.width / 2), y: Math.round(c.y - size.height / 2) } : { x: Math.round(c.y - size.width / 2), y: Math.round(across - size.height / 2) });
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

interface Layers {
  graph: Adjacency;
  order: string[];
  rank: Map<string, number>;
  ranks: string[][];
  /** Where each rank ends along the flow (rank r spans end[r] - its depth … end[r]), and the whole length. */
  end: number[];
  length: number;
  rankGap: number;
}

/** Ranks by longest path from the sources (in forward order) and how far along the flow each one reaches. */
function layers(doc: GraphDoc, dir: Direction, size: (id: string) => Size): Layers {
  const graph = adjacency(doc);
  const order = forwardOrder(graph);
  const rank = new Map<string, number>();
  for (const id of order) {
    let r = 0;
    for (const p of graph.preds.get(id)!) if (rank.has(p)) r = Math.max(r, rank.get(p)! + 1);
    rank.set(id, r);
  }
  const ranks: string[][] = [];
  for (const id of order) (ranks[rank.get(id)!] ??= []).push(id);
  const rankGap = RANK_GAP[dir];
  const end: number[] = [];
  let offset = 0;
  for (const row of ranks) {
    offset += Math.max(...row.map((id) => (dir === "TB" ? size(id).height : size(id).width)));
    end.push(offset);
    offset += rankGap;
  }
  return { graph, order, rank, ranks, end, length: Math.max(0, offset - rankGap), rankGap };
}

const pathCache = new WeakMap<Adjacency, string[]>();

/** The longest path from a source to a sink (edges against the forward order left out); first successors win ties. */
function longestPath(graph: Adjacency): string[] {
  if (!pathCache.has(graph)) pathCache.set(graph, farthest(graph, forwardOrder(graph)));
  return pathCache.get(graph)!;
}

function farthest({ succs }: Adjacency, order: string[]): string[] {
  const index = new Map(order.map((id, i) => [id, i]));
  const reach = new Map<string, number>(); // edges from the node to the farthest sink
  const next = new Map<string, string>();
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i];
    let best = 0;
    for (const s of succs.get(id)!) {
      if (index.get(s)! > i && reach.get(s)! + 1 > best) {
        best = reach.get(s)! + 1;
        next.set(id, s);
      }
    }
    reach.set(id, best);
  }
  if (order.length === 0) return [];
  let start = order[0];
  for (const id of order) if (reach.get(id)! > reach.get(start)!) start = id;
  const path = [start];
  for (let id = next.get(start); id !== undefined; id = next.get(id)) path.push(id);
  return path;
}

/**
 * A linear-time layered layout for big graphs (dagre needs ~0.5 s for 500 nodes): ranks by longest path
 * from the sources, each rank ordered by the mean position of its predecessors, nodes placed at that mean
 * where they fit and pushed aside where they do not, and each rank shifted so the main path is straight.
 */
export function fastLayout(doc: GraphDoc, dir: Direction, sizeOf?: SizeOf): Map<string, Point> {
  const size = sizeWith(sizeOf);
  const { graph, ranks, rankGap } = layers(doc, dir, size);
  const { preds } = graph;
  const main = new Set(longestPath(graph));
  const across = (id: string) => (dir === "TB" ? size(id).width : size(id).height);
  const along = (id: string) => (dir === "TB" ? size(id).height : size(id).width);
  const gap = NODE_GAP[dir];
  const centre = new Map<string, number>(); // position across the ranks (centre of the node)
  const result = new Map<string, Point>();
  let offset = 0;
  for (const row of ranks) {
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
    // Every rank has one main-path node (ranks are longest paths): it goes to 0, its rank around it.
    const onPath = wanted.findIndex((w) => main.has(w.id));
    const drift = onPath >= 0 ? xs[onPath] : xs.reduce((sum, x, i) => sum + (x - wanted[i].mean), 0) / xs.length;
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
