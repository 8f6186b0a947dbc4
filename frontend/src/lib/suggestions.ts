// Applies the engine's machine-readable suggestions (docs/engine.md "Diagnostics") to a document.
// Each application returns one new document (one undo step) and, where it makes sense, the node to select.
import type { GraphDoc, GraphEdge, ParamValue, Suggestion } from "../graph";
import { addNode, removeItems, setParam, setStage, setType } from "./docops";
import { edgeRefs, getNode, nodeIndex, position } from "./graphutil";
import { NODE_HEIGHT } from "./layout";
import { formatOutputs, isOutputs, keepNames, outputRefs } from "./outputs";

export interface Applied {
  doc: GraphDoc;
  select?: string;
}

function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function pair(value: unknown): [string, string] | null {
  if (Array.isArray(value) && value.length >= 2 && typeof value[0] === "string" && typeof value[1] === "string") {
    return [value[0], value[1]];
  }
  return null;
}

/** Indexes of the edges from node (or output of node) `a` into `b`; literal sources match too (dangling edges). */
function edgesBetween(doc: GraphDoc, a: string, b: string): number[] {
  return edgeRefs(doc)
    .filter((ref) => ref.target === b && (ref.source.node === a || ref.edge[0] === a))
    .map((ref) => ref.index);
}

/** A one-line description for the suggestion's button. */
export function describeSuggestion(s: Suggestion): string {
  switch (s.action) {
    case "insert_node": {
      const between = pair(s.between);
      return between ? `Insert ${String(s.type)} between ${between[0]} and ${between[1]}` : `Insert ${String(s.type)}`;
    }
    case "set_param":
      return `Set ${String(s.param)} = ${JSON.stringify(s.value)} on ${String(s.node)}`;
    case "set_type":
      return `Change ${String(s.node)} to ${String(s.type)}`;
    case "rename_param":
      return `Rename ${String(s.param)} to ${String(s.to)}`;
    case "remove_edge": {
      const edge = pair(s.edge);
      return edge ? `Remove edge ${edge[0]} → ${edge[1]}` : "Remove the edge";
    }
    case "remove_node":
      return `Remove ${String(s.node)}`;
    case "add_input":
      return `Declare ${String(s.node)} as a graph input`;
    case "set_outputs":
      return isOutputs(s.outputs) && outputRefs(s.outputs).length
        ? `Make ${formatOutputs(s.outputs)} the output${outputRefs(s.outputs).length > 1 ? "s" : ""}`
        : "Set the outputs";
    case "add_node":
      return `Add a ${String(s.type)} node`;
    case "set_stage":
      return `Move ${String(s.node)} to the ${String(s.stage)} stage`;
    default:
      return `Apply ${s.action}`;
  }
}

export function canApply(s: Suggestion): boolean {
  return ["insert_node", "set_param", "set_type", "rename_param", "remove_edge", "remove_node", "add_input", "set_outputs", "add_node", "set_stage"].includes(s.action);
}

/** Applies a suggestion; null when it does not fit the document (any more). */
export function applySuggestion(doc: GraphDoc, s: Suggestion): Applied | null {
  switch (s.action) {
    case "insert_node":
      return insertNode(doc, s);
    case "set_param": {
      const node = str(s.node);
      const param = str(s.param);
      if (!node || !param || !getNode(doc, node) || s.value === undefined) return null;
      return { doc: setParam(doc, node, param, s.value as ParamValue), select: node };
    }
    case "set_type": {
      const node = str(s.node);
      const type = str(s.type);
      if (!node || !type || !getNode(doc, node)) return null;
      return { doc: setType(doc, node, type), select: node };
    }
    case "rename_param":
      return renameParam(doc, s);
    case "remove_edge": {
      const edge = pair(s.edge);
      if (!edge) return null;
      const indexes = edgesBetween(doc, edge[0], edge[1]);
      if (indexes.length === 0) return null;
      return { doc: removeItems(doc, [], indexes) };
    }
    case "remove_node": {
      const node = str(s.node);
      if (!node || !getNode(doc, node)) return null;
      return { doc: removeItems(doc, [node]) };
    }
    case "add_input": {
      const node = str(s.node);
      if (!node || !getNode(doc, node)) return null;
      if (doc.inputs.includes(node)) return { doc, select: node };
      return { doc: { ...doc, inputs: [...doc.inputs, node] }, select: node };
    }
    case "set_outputs": {
      if (!isOutputs(s.outputs)) return null;
      return { doc: { ...doc, outputs: keepNames(doc.outputs, s.outputs) } };
    }
    case "set_stage": {
      const node = str(s.node);
      const stage = str(s.stage);
      if (!node || !getNode(doc, node) || (stage !== "model" && stage !== "loss" && stage !== "metrics")) return null;
      // Model is the default stage, which the document does not spell out.
      return { doc: setStage(doc, node, stage === "model" ? undefined : stage), select: node };
    }
    case "add_node": {
      const type = str(s.type);
      if (!type) return null;
      const ys = doc.nodes.map(position).filter((p): p is { x: number; y: number } => p !== null);
      const at = ys.length ? { x: Math.min(...ys.map((p) => p.x)), y: Math.min(...ys.map((p) => p.y)) - NODE_HEIGHT - 60 } : { x: 0, y: 0 };
      const added = addNode(doc, { type, position: at, params: (s.params as Record<string, ParamValue>) ?? {} });
      return { doc: added.doc, select: added.id };
    }
    default:
      return null;
  }
}

function renameParam(doc: GraphDoc, s: Suggestion): Applied | null {
  const id = str(s.node);
  const from = str(s.param);
  const to = str(s.to);
  const node = id ? getNode(doc, id) : undefined;
  if (!id || !from || !to || !node || !node.params || !(from in node.params)) return null;
  const params: Record<string, ParamValue> = {};
  for (const [key, value] of Object.entries(node.params)) {
    if (key === from) params[to] = value;
    else if (key !== to) params[key] = value;
  }
  const i = nodeIndex(doc).get(id)!;
  const nodes = doc.nodes.slice();
  nodes[i] = { ...node, params };
  return { doc: { ...doc, nodes }, select: id };
}

/**
 * `insert_node` {type, between: [a, b], params?}: a new node on the edge a → b, placed halfway between the
 * two; the edge becomes a → new → b (b keeps its port and its argument position).
 */
function insertNode(doc: GraphDoc, s: Suggestion): Applied | null {
  const type = str(s.type);
  const between = pair(s.between);
  if (!type || !between) return null;
  const [a, b] = between;
  const indexes = edgesBetween(doc, a, b);
  if (indexes.length === 0) return null;
  const pa = position(getNode(doc, a));
  const pb = position(getNode(doc, b));
  // When the two are too close to fit a node in between, the target and what follows it move down.
  const tight = !!(pa && pb && pb.y >= pa.y && pb.y - pa.y < 2 * NODE_HEIGHT + 40 && Math.abs(pb.x - pa.x) < 220);
  const at =
    pa && pb
      ? tight
        ? { x: pb.x, y: pa.y + NODE_HEIGHT + 40 }
        : { x: Math.round((pa.x + pb.x) / 2), y: Math.round((pa.y + pb.y) / 2) }
      : pa
        ? { x: pa.x, y: pa.y + NODE_HEIGHT + 40 }
        : { x: 0, y: 0 };
  const params = s.params && typeof s.params === "object" && !Array.isArray(s.params) ? (s.params as Record<string, ParamValue>) : {};
  const added = addNode(doc, { type, position: at, params });
  const id = added.id;
  const index = indexes[0];
  const old = doc.edges[index];
  const into: GraphEdge = old.length === 3 ? [id, old[1], old[2]] : [id, old[1]];
  const edges = added.doc.edges.slice();
  edges.splice(index, 1, [old[0], id], into);
  let next: GraphDoc = { ...added.doc, edges };
  if (tight) next = shiftDownstream(next, b, NODE_HEIGHT + 40);
  return { doc: next, select: id };
}

/** Moves `start` and everything downstream of it by `dy`, making room for an inserted node. */
function shiftDownstream(doc: GraphDoc, start: string, dy: number): GraphDoc {
  if (!dy) return doc;
  const down = new Set<string>([start]);
  const refs = edgeRefs(doc);
  let grew = true;
  while (grew) {
    grew = false;
    for (const ref of refs) {
      if (down.has(ref.source.node) && !down.has(ref.target)) {
        down.add(ref.target);
        grew = true;
      }
    }
  }
  return {
    ...doc,
    nodes: doc.nodes.map((n) => {
      const p = position(n);
      return down.has(n.id) && p ? { ...n, ui: { ...(n.ui ?? {}), x: p.x, y: p.y + dy } } : n;
    }),
  };
}
