// Editing operations on a GraphDoc. Every function is pure: it returns a new document (sharing what did
// not change) and never mutates its input, so each result can be one undo step.
import type { CompositeDefinition, GraphDoc, GraphEdge, GraphNode, NodeInit, ParamValue, RecipeStage } from "../graph";
import { assignTargetHandles } from "./convert";
import { edgePort, edgeRefs, formatSource, getNode, incomingByTarget, nodeIndex, parseSource, position, reaches } from "./graphutil";
import { newIdForType } from "./ids";
import { setPosition, withPositions } from "./layout";
import { addOutput, mapOutputs, outputRefs } from "./outputs";
import type { SpecIndex } from "./specs";

export interface NewNode {
  type: string;
  position: { x: number; y: number };
  params?: Record<string, ParamValue>;
  label?: string;
}

export function addNode(doc: GraphDoc, node: NewNode): { doc: GraphDoc; id: string } {
  const id = newIdForType(node.type, nodeIndex(doc));
  const graphNode: GraphNode = { id, type: node.type, params: { ...(node.params ?? {}) } };
  if (node.label) graphNode.label = node.label;
  const placed = setPosition(graphNode, node.position);
  const next: GraphDoc = { ...doc, nodes: [...doc.nodes, placed] };
  if (node.type === "Input" && !doc.inputs.includes(id)) next.inputs = [...doc.inputs, id];
  return { doc: next, id };
}

/** Removes nodes (with their edges and their place in inputs/outputs) and edges (by index). */
export function removeItems(doc: GraphDoc, nodeIds: Iterable<string>, edgeIndexes: Iterable<number> = []): GraphDoc {
  const nodes = new Set(nodeIds);
  const edges = new Set(edgeIndexes);
  if (nodes.size === 0 && edges.size === 0) return doc;
  const refs = edgeRefs(doc);
  return {
    ...doc,
    nodes: nodes.size ? doc.nodes.filter((n) => !nodes.has(n.id)) : doc.nodes,
    edges: doc.edges.filter((_, i) => !edges.has(i) && !nodes.has(refs[i].source.node) && !nodes.has(refs[i].target)),
    inputs: nodes.size ? doc.inputs.filter((id) => !nodes.has(id)) : doc.inputs,
    outputs: nodes.size ? mapOutputs(doc.outputs, (ref) => (nodes.has(parseSource(ref, nodeIndex(doc)).node) ? null : ref)) : doc.outputs,
  };
}

export interface Connection {
  source: string;
  sourceHandle?: string | null;
  target: string;
  targetHandle?: string | null;
}

function outputOf(handle: string | null | undefined): number | null {
  return handle && /^out\d+$/.test(handle) ? Number(handle.slice(3)) : null;
}

/** Why a connection cannot be made (null when it can). Checks what is knowable without the server. */
export function connectionProblem(doc: GraphDoc, specs: SpecIndex, conn: Connection): string | null {
  const source = getNode(doc, conn.source);
  const target = getNode(doc, conn.target);
  if (!source || !target) return "Both ends must be nodes.";
  if (conn.source === conn.target) return "A node cannot feed itself.";
  const info = specs.info(target.type, doc.composites);
  if (info.ports.length === 0 && !info.variadic) return `${target.type} nodes take no inputs.`;
  const incoming = incomingByTarget(doc).get(target.id) ?? [];
  if (!info.variadic) {
    if (info.maxInputs !== null && incoming.length >= info.maxInputs) {
      return `${target.id} takes ${info.maxInputs === 1 ? "one input" : `${info.maxInputs} inputs`}; remove the existing edge first.`;
    }
    const handles = assignTargetHandles(info, incoming);
    if (conn.targetHandle && [...handles.values()].includes(conn.targetHandle)) {
      return `Port ${conn.targetHandle} of ${target.id} is already connected.`;
    }
  } else if (info.maxInputs !== null && incoming.length >= info.maxInputs) {
    return `${target.id} takes at most ${info.maxInputs} inputs.`;
  }
  if (reaches(doc, conn.target, conn.source)) return "That edge would close a cycle.";
  return null;
}

/** Adds the edge for a connection (assumes connectionProblem said yes). Variadic: inserted at the slot. */
export function connect(doc: GraphDoc, specs: SpecIndex, conn: Connection): GraphDoc {
  const target = getNode(doc, conn.target);
  if (!target) return doc;
  const info = specs.info(target.type, doc.composites);
  const source = formatSource(conn.source, outputOf(conn.sourceHandle));
  if (info.variadic) {
    const incoming = incomingByTarget(doc).get(target.id) ?? [];
    const handles = assignTargetHandles(info, incoming);
    const ordered = [...incoming].sort((a, b) => Number(handles.get(a.index)!.slice(2)) - Number(handles.get(b.index)!.slice(2)));
    const slot = conn.targetHandle && /^in\d+$/.test(conn.targetHandle) ? Number(conn.targetHandle.slice(2)) : ordered.length;
    if (slot >= ordered.length) return { ...doc, edges: [...doc.edges, [source, target.id]] };
    const edges: GraphEdge[] = ordered.map((ref) => stripPosition(ref.edge));
    edges.splice(slot, 0, [source, target.id]);
    return rewriteIncoming(doc, target.id, edges);
  }
  const port = info.ports.length > 1 && conn.targetHandle && info.ports.includes(conn.targetHandle) ? conn.targetHandle : undefined;
  return { ...doc, edges: [...doc.edges, port ? [source, target.id, port] : [source, target.id]] };
}

function stripPosition(edge: GraphEdge): GraphEdge {
  const port = edgePort(edge);
  return port !== undefined && /^\d+$/.test(port) ? [edge[0], edge[1]] : edge;
}

/** Replaces every edge into `target` by `ordered` (placed where the first of them was). */
function rewriteIncoming(doc: GraphDoc, target: string, ordered: GraphEdge[]): GraphDoc {
  const first = doc.edges.findIndex((e) => e[1] === target);
  const rest = doc.edges.filter((e) => e[1] !== target);
  const at = first < 0 ? rest.length : doc.edges.slice(0, first).filter((e) => e[1] !== target).length;
  return { ...doc, edges: [...rest.slice(0, at), ...ordered, ...rest.slice(at)] };
}

/** Moves the input in argument position `from` of a variadic node to position `to`. */
export function reorderInputs(doc: GraphDoc, specs: SpecIndex, target: string, from: number, to: number): GraphDoc {
  const ordered = orderedInputs(doc, specs, target);
  if (from < 0 || from >= ordered.length || to < 0 || to >= ordered.length || from === to) return doc;
  const edges = ordered.map(stripPosition);
  const [moved] = edges.splice(from, 1);
  edges.splice(to, 0, moved);
  return rewriteIncoming(doc, target, edges);
}

/** The incoming edges of a node in argument order (for the properties panel). */
export function orderedInputs(doc: GraphDoc, specs: SpecIndex, target: string): GraphEdge[] {
  const node = getNode(doc, target);
  if (!node) return [];
  const info = specs.info(node.type, doc.composites);
  const incoming = incomingByTarget(doc).get(target) ?? [];
  if (!info.variadic) return incoming.map((r) => r.edge);
  const handles = assignTargetHandles(info, incoming);
  return [...incoming].sort((a, b) => Number(handles.get(a.index)!.slice(2)) - Number(handles.get(b.index)!.slice(2))).map((r) => r.edge);
}

/** Positions from a drag (fractional canvas coordinates), stored as whole pixels. */
export function moveNodes(doc: GraphDoc, positions: Map<string, { x: number; y: number }>): GraphDoc {
  const rounded = new Map([...positions].map(([id, p]) => [id, { x: Math.round(p.x), y: Math.round(p.y) }]));
  return withPositions(doc, rounded);
}

function mapNode(doc: GraphDoc, id: string, fn: (node: GraphNode) => GraphNode): GraphDoc {
  const i = nodeIndex(doc).get(id);
  if (i === undefined) return doc;
  const updated = fn(doc.nodes[i]);
  if (updated === doc.nodes[i]) return doc;
  const nodes = doc.nodes.slice();
  nodes[i] = updated;
  return { ...doc, nodes };
}

/** Sets a param (`undefined` removes it, so the engine's default applies). */
export function setParam(doc: GraphDoc, id: string, name: string, value: ParamValue | undefined): GraphDoc {
  return mapNode(doc, id, (node) => {
    const params = { ...(node.params ?? {}) };
    if (value === undefined) {
      if (!(name in params)) return node;
      delete params[name];
    } else {
      if (JSON.stringify(params[name]) === JSON.stringify(value) && name in params) return node;
      params[name] = value;
    }
    return { ...node, params };
  });
}

type OptionalKey = "label" | "path" | "disabled" | "stage" | "trainable" | "init";

/** Sets an optional field of a node; `undefined` removes the key (its default applies). */
function setOptional<K extends OptionalKey>(doc: GraphDoc, id: string, key: K, value: GraphNode[K] | undefined): GraphDoc {
  return mapNode(doc, id, (node) => {
    if (JSON.stringify(node[key]) === JSON.stringify(value)) return node;
    const next = { ...node };
    if (value === undefined) delete next[key];
    else next[key] = value;
    return next;
  });
}

export function setLabel(doc: GraphDoc, id: string, label: string): GraphDoc {
  return setOptional(doc, id, "label", label || undefined);
}

/** Sets the module path (`""` removes the key: the node is a flat attribute again). */
export function setPath(doc: GraphDoc, id: string, path: string): GraphDoc {
  return setOptional(doc, id, "path", path || undefined);
}

export function setDisabled(doc: GraphDoc, id: string, disabled: boolean): GraphDoc {
  return setOptional(doc, id, "disabled", disabled || undefined);
}

/** Sets the recipe stage; `undefined` removes it (the node's type decides, lib/recipe.ts). */
export function setStage(doc: GraphDoc, id: string, stage: RecipeStage | undefined): GraphDoc {
  return setOptional(doc, id, "stage", stage);
}

/** Freezes a node (`trainable: false`) or trains it again (the key goes: true is the default). */
export function setTrainable(doc: GraphDoc, id: string, trainable: boolean): GraphDoc {
  return setOptional(doc, id, "trainable", trainable ? undefined : false);
}

/** Sets the weight init; `undefined` removes it (the layer's own init). */
export function setInit(doc: GraphDoc, id: string, init: NodeInit | undefined): GraphDoc {
  return setOptional(doc, id, "init", init);
}

export function setType(doc: GraphDoc, id: string, type: string): GraphDoc {
  return mapNode(doc, id, (node) => (node.type === type ? node : { ...node, type }));
}

/** Renames a node and every reference to it (edges, including `"old:1"` sources, inputs, outputs). */
export function renameNode(doc: GraphDoc, from: string, to: string): GraphDoc {
  if (from === to || !getNode(doc, from) || getNode(doc, to)) return doc;
  const ids = nodeIndex(doc);
  const edges = doc.edges.map((edge): GraphEdge => {
    const src = parseSource(edge[0], ids);
    const source = src.node === from ? formatSource(to, src.output) : edge[0];
    const target = edge[1] === from ? to : edge[1];
    if (source === edge[0] && target === edge[1]) return edge;
    return edge.length === 3 ? [source, target, edge[2]] : [source, target];
  });
  return {
    ...doc,
    nodes: doc.nodes.map((n) => (n.id === from ? { ...n, id: to } : n)),
    edges,
    inputs: doc.inputs.map((id) => (id === from ? to : id)),
    outputs: mapOutputs(doc.outputs, (ref) => {
      const src = parseSource(ref, ids);
      return src.node === from ? formatSource(to, src.output) : ref;
    }),
  };
}

/**
 * Mark or unmark a model output. Marking one drops outputs that are mere placeholders: an Input that
 * already feeds other nodes (a new graph starts as "Input → output" so that v1 is valid; once the person
 * builds on it and ticks the real output, the model should not also return its input).
 */
export function setOutput(doc: GraphDoc, id: string, on: boolean): GraphDoc {
  const has = outputRefs(doc.outputs).includes(id);
  if (has === on) return doc;
  if (!on) return { ...doc, outputs: mapOutputs(doc.outputs, (o) => (o === id ? null : o)) };
  const placeholder = (o: string) =>
    doc.nodes.some((n) => n.id === o && n.type === "Input") && doc.edges.some((e) => e[0] === o || e[0].startsWith(`${o}:`));
  return { ...doc, outputs: addOutput(mapOutputs(doc.outputs, (o) => (placeholder(o) ? null : o)), id) };
}

export function setInput(doc: GraphDoc, id: string, on: boolean): GraphDoc {
  const has = doc.inputs.includes(id);
  if (has === on) return doc;
  return { ...doc, inputs: on ? [...doc.inputs, id] : doc.inputs.filter((o) => o !== id) };
}

// --- clipboard -----------------------------------------------------------------------------------

export interface Clip {
  kind: "torchcanvas/clip";
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Block definitions the copied nodes use (pasted into documents that lack them). */
  composites?: Record<string, CompositeDefinition>;
  outputs?: string[];
}

/** The selected nodes and the edges among them. */
export function copyNodes(doc: GraphDoc, ids: Iterable<string>): Clip | null {
  const chosen = new Set(ids);
  const nodes = doc.nodes.filter((n) => chosen.has(n.id));
  if (nodes.length === 0) return null;
  const edges = edgeRefs(doc)
    .filter((ref) => chosen.has(ref.source.node) && chosen.has(ref.target))
    .map((ref) => ref.edge);
  const composites: Record<string, CompositeDefinition> = {};
  for (const node of nodes) {
    const def = doc.composites?.[node.type];
    if (def) composites[node.type] = def;
  }
  const clip: Clip = { kind: "torchcanvas/clip", nodes, edges };
  if (Object.keys(composites).length) clip.composites = composites;
  return clip;
}

/** Pastes a clip with fresh ids, shifted by `offset`; returns the new ids (for selecting them). */
export function pasteClip(doc: GraphDoc, clip: Clip, offset: { x: number; y: number }): { doc: GraphDoc; ids: string[] } {
  const taken = new Set(nodeIndex(doc).keys());
  const mapping = new Map<string, string>();
  const nodes: GraphNode[] = [];
  for (const node of clip.nodes) {
    if (mapping.has(node.id)) continue;
    const id = newIdForType(node.type, taken);
    taken.add(id);
    mapping.set(node.id, id);
    const p = position(node) ?? { x: 0, y: 0 };
    // A copy never keeps the module path: two nodes cannot share one, and a copy pasted into another graph
    // would claim a place in a hierarchy it was not drawn for. The person sets the copy's path anew.
    const copy: GraphNode = { ...node, id };
    delete copy.path;
    nodes.push(setPosition(copy, { x: p.x + offset.x, y: p.y + offset.y }));
  }
  const clipIds = new Set(clip.nodes.map((n) => n.id));
  const edges: GraphEdge[] = [];
  for (const edge of clip.edges) {
    const src = parseSource(edge[0], clipIds);
    const source = mapping.get(src.node);
    const target = mapping.get(edge[1]);
    if (!source || !target) continue;
    const s = formatSource(source, src.output);
    edges.push(edge.length === 3 ? [s, target, edge[2]] : [s, target]);
  }
  const next: GraphDoc = { ...doc, nodes: [...doc.nodes, ...nodes], edges: [...doc.edges, ...edges] };
  const newInputs = nodes.filter((n) => n.type === "Input").map((n) => n.id);
  if (newInputs.length) next.inputs = [...doc.inputs, ...newInputs];
  if (clip.composites) {
    const composites = { ...(doc.composites ?? {}) };
    let added = false;
    for (const [name, def] of Object.entries(clip.composites)) {
      if (!(name in composites)) {
        composites[name] = def;
        added = true;
      }
    }
    if (added) next.composites = composites;
  }
  return { doc: next, ids: nodes.map((n) => n.id) };
}

export function isClip(value: unknown): value is Clip {
  return !!value && typeof value === "object" && (value as Clip).kind === "torchcanvas/clip" && Array.isArray((value as Clip).nodes) && Array.isArray((value as Clip).edges);
}
