// Small, pure helpers over a GraphDoc: node lookup, edge source parsing ("split:1"), argument order.
import type { GraphDoc, GraphEdge, GraphNode } from "../graph";

const indexCache = new WeakMap<GraphNode[], Map<string, number>>();

/** id → index in doc.nodes (the first node wins on duplicate ids, as in the engine); cached per nodes array. */
export function nodeIndex(doc: GraphDoc): Map<string, number> {
  let index = indexCache.get(doc.nodes);
  if (!index) {
    index = new Map();
    doc.nodes.forEach((node, i) => {
      if (!index!.has(node.id)) index!.set(node.id, i);
    });
    indexCache.set(doc.nodes, index);
  }
  return index;
}

export function getNode(doc: GraphDoc, id: string): GraphNode | undefined {
  const i = nodeIndex(doc).get(id);
  return i === undefined ? undefined : doc.nodes[i];
}

export interface SourceRef {
  node: string;
  /** Output index for multi-output nodes ("split:1" → 1); null when the edge names the node alone. */
  output: number | null;
}

/** Parses an edge source the way the engine does: `a:1` is output 1 of `a` unless `a:1` is itself a node id. */
export function parseSource(source: string, ids: { has(id: string): boolean }): SourceRef {
  if (!ids.has(source)) {
    const colon = source.lastIndexOf(":");
    if (colon > 0) {
      const head = source.slice(0, colon);
      const tail = source.slice(colon + 1);
      if (ids.has(head) && /^[0-9]{1,3}$/.test(tail)) return { node: head, output: Number(tail) };
    }
  }
  return { node: source, output: null };
}

export function formatSource(node: string, output: number | null): string {
  return output === null ? node : `${node}:${output}`;
}

export function edgePort(edge: GraphEdge): string | undefined {
  return edge.length === 3 ? edge[2] : undefined;
}

/** Every edge as {index, source ref, target, port}; cached per edges array + nodes array. */
export interface EdgeRef {
  index: number;
  edge: GraphEdge;
  source: SourceRef;
  target: string;
  port: string | undefined;
}

const edgeRefCache = new WeakMap<GraphEdge[], { nodes: GraphNode[]; refs: EdgeRef[] }>();

export function edgeRefs(doc: GraphDoc): EdgeRef[] {
  const cached = edgeRefCache.get(doc.edges);
  if (cached && cached.nodes === doc.nodes) return cached.refs;
  const ids = nodeIndex(doc);
  const refs = doc.edges.map((edge, index) => ({
    index,
    edge,
    source: parseSource(edge[0], ids),
    target: edge[1],
    port: edgePort(edge),
  }));
  edgeRefCache.set(doc.edges, { nodes: doc.nodes, refs });
  return refs;
}

/** Incoming edges per target node id, in document order. */
export function incomingByTarget(doc: GraphDoc): Map<string, EdgeRef[]> {
  const result = new Map<string, EdgeRef[]>();
  for (const ref of edgeRefs(doc)) {
    const list = result.get(ref.target);
    if (list) list.push(ref);
    else result.set(ref.target, [ref]);
  }
  return result;
}

/**
 * Argument order of a node's incoming edges, mirroring the engine (codegen/analysis.py order_ports):
 * variadic nodes sort by a numeric port ("0", "1") and keep edge order otherwise; nodes with named ports
 * put named edges in their port's slot and fill the free slots with unnamed edges in edge order.
 * Returns the edges in argument order plus, for each, its slot (port name or position).
 */
export function argumentOrder(incoming: EdgeRef[], ports: string[], variadic: boolean): EdgeRef[] {
  if (variadic) {
    const keyed = incoming.map((ref, i) => ({ ref, i, key: ref.port !== undefined && /^\d+$/.test(ref.port) ? Number(ref.port) : 1_000_000 }));
    keyed.sort((a, b) => a.key - b.key || a.i - b.i);
    return keyed.map((k) => k.ref);
  }
  const named = incoming.filter((ref) => ref.port !== undefined && ports.includes(ref.port));
  const slots: (EdgeRef | undefined)[] = ports.map((port) => named.find((ref) => ref.port === port));
  const rest = incoming.filter((ref) => !named.includes(ref));
  let r = 0;
  const ordered: EdgeRef[] = [];
  for (const slot of slots) {
    if (slot) ordered.push(slot);
    else if (r < rest.length) ordered.push(rest[r++]);
  }
  return ordered.concat(rest.slice(r));
}

/** Successor lists (node id → target node ids), for reachability checks. */
export function successors(doc: GraphDoc): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const ref of edgeRefs(doc)) {
    const list = result.get(ref.source.node);
    if (list) list.push(ref.target);
    else result.set(ref.source.node, [ref.target]);
  }
  return result;
}

/** True when `to` can be reached from `from` following edges (used to refuse connections that close a cycle). */
export function reaches(doc: GraphDoc, from: string, to: string): boolean {
  if (from === to) return true;
  const next = successors(doc);
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    for (const succ of next.get(id) ?? []) {
      if (succ === to) return true;
      if (!seen.has(succ)) {
        seen.add(succ);
        stack.push(succ);
      }
    }
  }
  return false;
}

export function position(node: GraphNode | undefined): { x: number; y: number } | null {
  const ui = node?.ui;
  if (ui && typeof ui.x === "number" && typeof ui.y === "number" && Number.isFinite(ui.x) && Number.isFinite(ui.y)) {
    return { x: ui.x, y: ui.y };
  }
  return null;
}

/**
 * The module stage of a path, for the paths of `nodes`: its containers down to one level below those every
 * path shares (`layer1` of `layer1.0.conv1`; `features.denseblock1` when every path is under `features`), or
 * null for a path outside any stage (`fc`, or none).
 */
export function stageKeyOf(nodes: readonly GraphNode[]): (path: string | undefined) => string | null {
  // Containers every path shares (DenseNet's `features`) say nothing: the stages are one level below.
  const containers = nodes.flatMap((n) => (n.path?.includes(".") ? [n.path.split(".").slice(0, -1)] : []));
  let depth = 0;
  while (containers.length && containers.every((c) => c.length > depth && c[depth] === containers[0][depth])) depth++;
  return (path) => {
    const segments = path?.split(".") ?? [];
    return segments.length > depth + 1 ? segments.slice(0, depth + 1).join(".") : null;
  };
}
