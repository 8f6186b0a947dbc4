// Graph JSON ↔ React Flow.
//
// toFlow: one React Flow node per document node (position from `ui`, laid out with dagre where missing),
// one edge per document edge, in document order (edge order is argument order for variadic nodes).
// Handles: target handles are the node's ports (`x`, `x1`/`x2` for Bilinear, a user block's input ids); variadic nodes (Concat,
// Add, Mul) get numbered handles `in0`, `in1`, … in argument order plus a free one to append; source
// handles are `out`, or `out0`, `out1`, … for multi-output nodes (edges from `"split:1"` use `out1`).
// fromFlow: the document back; every node and edge keeps its original JSON (unknown keys included), only
// `ui.x`/`ui.y` come from the flow. Document-level keys (metadata, composites, inputs, outputs, …) come
// from the base document.
import type { Edge, Node } from "@xyflow/react";
import type { GraphDoc, GraphEdge, GraphNode, ValidateResult } from "../graph";
import { argumentOrder, type EdgeRef, edgeRefs, formatSource, incomingByTarget, nodeIndex, parseSource, position } from "./graphutil";
import { type Direction, layoutPositions, NODE_HEIGHT, NODE_WIDTH, type SizeOf } from "./layout";
import { formatCount, nodeShapeText, outputShape } from "./format";
import { outputsByNode } from "./outputs";
import { type RecipeGroup, recipeGroup } from "./recipe";
import { outputCount, type SpecIndex, type TypeInfo } from "./specs";

export interface CanvasNodeData extends Record<string, unknown> {
  node: GraphNode;
  info: TypeInfo;
  /** Incoming edges (variadic nodes show one numbered handle per edge plus a free one). */
  inCount: number;
  outCount: number;
  shape: string;
  paramCount: string;
  errors: number;
  warnings: number;
  problem: string;
  /** The node itself is a model output (not only one of its outputs, see `portOutputs`). */
  isOutput: boolean;
  /** The names the model returns the node under (the object form of `outputs`). */
  outputNames: string[];
  /** Per output handle: the name it is returned under, "output" in the list form, "" when it is none. */
  portOutputs: string[];
  isInput: boolean;
  recipe: RecipeGroup;
  /** `trainable: false`: its parameters are frozen. */
  frozen: boolean;
  dir: Direction;
  /**
   * Handles on the far side: inputs fed from the node just below (TB; right of it in LR), outputs read by
   * the node just above. A U's decoder arm runs up the page; its edges then join nodes without a loop.
   */
  reverseIn: boolean;
  reverseOut: boolean;
  readOnly: boolean;
}

export interface CanvasEdgeData extends Record<string, unknown> {
  edge: GraphEdge;
  index: number;
  shape: string;
  severity: "" | "error" | "warning";
  /** Argument position for variadic targets ("0", "1", …), the port name for named ports, else "". */
  slot: string;
  dir: Direction;
}

export type CanvasNode = Node<CanvasNodeData, "layer">;
export type CanvasEdge = Edge<CanvasEdgeData, "shape">;

export interface FlowContext {
  specs: SpecIndex;
  validation?: ValidateResult | null;
  selectedNodes?: ReadonlySet<string>;
  selectedEdges?: ReadonlySet<string>;
  dir?: Direction;
  readOnly?: boolean;
  /** Measured node sizes (React Flow needs them on controlled nodes to keep handle bounds). */
  measured?: ReadonlyMap<string, { width: number; height: number }>;
  sizeOf?: SizeOf;
}

export function targetHandleIds(info: TypeInfo, inCount: number): string[] {
  if (info.variadic) return Array.from({ length: inCount + 1 }, (_, i) => `in${i}`);
  if (info.ports.length === 0) return inCount > 0 ? ["x"] : [];
  return info.ports;
}

export function sourceHandleIds(count: number): string[] {
  return count <= 1 ? ["out"] : Array.from({ length: count }, (_, i) => `out${i}`);
}

/**
 * The target handle of each incoming edge (by edge index): variadic nodes `in<argument position>`; named
 * ports their port when the edge names it, free ports in edge order otherwise (extra edges on the last).
 */
export function assignTargetHandles(info: TypeInfo, refs: EdgeRef[]): Map<number, string> {
  const result = new Map<number, string>();
  if (info.variadic) {
    argumentOrder(refs, info.ports, true).forEach((ref, i) => result.set(ref.index, `in${i}`));
    return result;
  }
  if (info.ports.length === 0) {
    for (const ref of refs) result.set(ref.index, "x");
    return result;
  }
  const used = new Set<string>();
  for (const ref of refs) {
    if (ref.port !== undefined && info.ports.includes(ref.port) && !used.has(ref.port)) {
      result.set(ref.index, ref.port);
      used.add(ref.port);
    }
  }
  for (const ref of refs) {
    if (result.has(ref.index)) continue;
    const free = info.ports.find((p) => !used.has(p)) ?? info.ports[info.ports.length - 1];
    used.add(free);
    result.set(ref.index, free);
  }
  return result;
}

export function edgeId(edge: GraphEdge, seen: Map<string, number>): string {
  const base = `${edge[0]}->${edge[1]}${edge.length === 3 ? `#${edge[2]}` : ""}`;
  const n = seen.get(base) ?? 0;
  seen.set(base, n + 1);
  return n === 0 ? base : `${base}~${n}`;
}

function diagnosticsByNode(result: ValidateResult | null | undefined) {
  const byNode = new Map<string, { errors: number; warnings: number; messages: string[] }>();
  const byEdge = new Map<string, "error" | "warning">();
  for (const d of result?.diagnostics ?? []) {
    if (d.node) {
      let entry = byNode.get(d.node);
      if (!entry) byNode.set(d.node, (entry = { errors: 0, warnings: 0, messages: [] }));
      if (d.severity === "error") entry.errors++;
      else entry.warnings++;
      if (entry.messages.length < 4) entry.messages.push(`${d.code}: ${d.message}`);
    }
    if (d.edge) {
      const key = `${d.edge[0]}->${d.edge[1]}`;
      if (d.severity === "error" || !byEdge.has(key)) byEdge.set(key, d.severity);
    }
  }
  return { byNode, byEdge };
}

/** Equal keys with identical values; lists of strings (output names) compare item by item. */
function shallowEqual(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    const [x, y] = [a[key], b[key]];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length || x.some((item, i) => typeof item !== "string" || item !== y[i])) return false;
  }
  return true;
}

/** Whether an edge from `from` to `to` runs against the flow within one column (row in LR): up the page in TB. */
function backwards(from: { x: number; y: number } | undefined, to: { x: number; y: number } | undefined, dir: Direction): boolean {
  if (!from || !to) return false;
  return dir === "TB" ? from.y - to.y > NODE_HEIGHT / 2 && Math.abs(from.x - to.x) < NODE_WIDTH : from.x - to.x > NODE_WIDTH / 2 && Math.abs(from.y - to.y) < NODE_HEIGHT;
}

/**
 * Builds React Flow nodes and edges from a document, reusing the previous objects where nothing changed
 * (memoised node components then skip rendering; one changed node costs one node render).
 */
export class FlowBuilder {
  private nodes = new Map<string, CanvasNode>();
  private edges = new Map<string, CanvasEdge>();
  private nodeList: CanvasNode[] = [];
  private edgeList: CanvasEdge[] = [];

  build(doc: GraphDoc, ctx: FlowContext): { nodes: CanvasNode[]; edges: CanvasEdge[] } {
    const dir = ctx.dir ?? "TB";
    const readOnly = ctx.readOnly ?? false;
    const ids = nodeIndex(doc);
    const incoming = incomingByTarget(doc);
    const { byNode, byEdge } = diagnosticsByNode(ctx.validation);
    const outputs = outputsByNode(doc);
    const inputs = new Set(doc.inputs);
    const laid = doc.nodes.some((n) => !position(n)) ? layoutPositions(doc, dir, ctx.sizeOf) : null;
    const at = (id: string) => (ids.has(id) ? (position(doc.nodes[ids.get(id)!]) ?? laid?.get(id)) : undefined);
    const firstReader = new Map<string, string>();
    for (const ref of edgeRefs(doc)) if (!firstReader.has(ref.source.node)) firstReader.set(ref.source.node, ref.target);

    // Output handle counts must cover every output an edge reads from.
    const maxOutput = new Map<string, number>();
    const handleOf = new Map<number, string>(); // edge index → target handle
    for (const [target, refs] of incoming) {
      const targetNode = ids.has(target) ? doc.nodes[ids.get(target)!] : undefined;
      if (targetNode) {
        const info = ctx.specs.info(targetNode.type, doc.composites);
        for (const [index, handle] of assignTargetHandles(info, refs)) handleOf.set(index, handle);
      }
      for (const ref of refs) {
        if (ref.source.output !== null) maxOutput.set(ref.source.node, Math.max(maxOutput.get(ref.source.node) ?? 0, ref.source.output));
      }
    }
    for (const [id, entries] of outputs) {
      for (const entry of entries) if (entry.output !== null) maxOutput.set(id, Math.max(maxOutput.get(id) ?? 0, entry.output));
    }

    const nextNodes = new Map<string, CanvasNode>();
    const nodeList: CanvasNode[] = [];
    const infoById = new Map<string, TypeInfo>();
    const outCountById = new Map<string, number>();
    for (const node of doc.nodes) {
      if (nextNodes.has(node.id)) continue; // duplicate id: the engine reports it; React Flow cannot show both
      const info = ctx.specs.info(node.type, doc.composites);
      infoById.set(node.id, info);
      const outCount = Math.max(outputCount(node, info), (maxOutput.get(node.id) ?? -1) + 1);
      outCountById.set(node.id, outCount);
      const diag = byNode.get(node.id);
      const returned = outputs.get(node.id) ?? [];
      const whole = returned.filter((e) => e.output === null);
      const portOutputs = Array.from({ length: outCount }, (_, k) => {
        const names = returned.filter((e) => e.output === k).map((e) => e.name ?? "output");
        return [...new Set(names)].join(", ");
      });
      const data: CanvasNodeData = {
        node,
        info,
        inCount: incoming.get(node.id)?.length ?? 0,
        outCount,
        shape: nodeShapeText(ctx.validation ?? null, node.id),
        paramCount: formatCount((ctx.validation?.params as Record<string, number> | undefined)?.[node.id]),
        errors: diag?.errors ?? 0,
        warnings: diag?.warnings ?? 0,
        problem: diag ? diag.messages.join("\n") : "",
        isOutput: whole.length > 0,
        outputNames: whole.flatMap((e) => (e.name === null ? [] : [e.name])),
        portOutputs: portOutputs.some(Boolean) ? portOutputs : [],
        isInput: inputs.has(node.id),
        recipe: recipeGroup(node, info),
        frozen: node.trainable === false,
        dir,
        reverseIn: false,
        reverseOut: false,
        readOnly,
      };
      const pos = at(node.id) ?? { x: 0, y: 0 };
      const feeder = incoming.get(node.id)?.[0]?.source.node;
      const reader = firstReader.get(node.id);
      data.reverseIn = feeder !== undefined && backwards(at(feeder), pos, dir);
      data.reverseOut = reader !== undefined && backwards(pos, at(reader), dir);
      const selected = ctx.selectedNodes?.has(node.id) ?? false;
      const measured = ctx.measured?.get(node.id);
      const prev = this.nodes.get(node.id);
      let rf: CanvasNode;
      if (
        prev &&
        prev.position.x === pos.x &&
        prev.position.y === pos.y &&
        (prev.selected ?? false) === selected &&
        prev.measured?.width === measured?.width &&
        prev.measured?.height === measured?.height &&
        shallowEqual(prev.data, data)
      ) {
        rf = prev;
      } else {
        rf = {
          id: node.id,
          type: "layer",
          position: { x: pos.x, y: pos.y },
          data: prev && shallowEqual(prev.data, data) ? prev.data : data,
          selected,
          // A size estimate until React Flow measures the node: the minimap and viewport culling of
          // big graphs then know every node, rendered or not.
          initialWidth: NODE_WIDTH,
          initialHeight: NODE_HEIGHT,
          ...(measured ? { measured: { width: measured.width, height: measured.height } } : {}),
        };
      }
      nextNodes.set(node.id, rf);
      nodeList.push(rf);
    }

    const nextEdges = new Map<string, CanvasEdge>();
    const edgeList: CanvasEdge[] = [];
    const seen = new Map<string, number>();
    doc.edges.forEach((edge, index) => {
      const id = edgeId(edge, seen);
      const source = parseSource(edge[0], ids);
      const target = edge[1];
      const targetInfo = infoById.get(target);
      const sourceKnown = ids.has(source.node);
      const hidden = !sourceKnown || !targetInfo; // dangling edges stay in the document, not on the canvas
      const outCount = outCountById.get(source.node) ?? 1;
      const sourceHandle = outCount <= 1 ? "out" : `out${Math.min(source.output ?? 0, outCount - 1)}`;
      const targetHandle = handleOf.get(index) ?? "x";
      const data: CanvasEdgeData = {
        edge,
        index,
        shape: sourceKnown ? outputShape(ctx.validation ?? null, source.node, source.output) : "",
        severity: byEdge.get(`${source.node}->${target}`) ?? "",
        slot: targetInfo?.variadic ? targetHandle.slice(2) : targetInfo && targetInfo.ports.length > 1 ? targetHandle : "",
        dir,
      };
      const selected = ctx.selectedEdges?.has(id) ?? false;
      const prev = this.edges.get(id);
      let rf: CanvasEdge;
      if (
        prev &&
        prev.source === source.node &&
        prev.target === target &&
        prev.sourceHandle === sourceHandle &&
        prev.targetHandle === targetHandle &&
        (prev.selected ?? false) === selected &&
        (prev.hidden ?? false) === hidden &&
        shallowEqual(prev.data!, data)
      ) {
        rf = prev;
      } else {
        rf = {
          id,
          type: "shape",
          source: source.node,
          target,
          sourceHandle,
          targetHandle,
          data,
          selected,
          hidden,
        };
      }
      nextEdges.set(id, rf);
      edgeList.push(rf);
    });

    this.nodes = nextNodes;
    this.edges = nextEdges;
    // The previous list when it holds the same objects: React Flow rebuilds its lookup of every edge (and
    // re-adopts every node) for each new list it is given, as when nodes are measured, moved or selected.
    if (!sameItems(nodeList, this.nodeList)) this.nodeList = nodeList;
    if (!sameItems(edgeList, this.edgeList)) this.edgeList = edgeList;
    return { nodes: this.nodeList, edges: this.edgeList };
  }
}

function sameItems<T>(a: T[], b: T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** The React Flow view of a document (see the top of this file). */
export function toFlow(doc: GraphDoc, ctx: FlowContext): { nodes: CanvasNode[]; edges: CanvasEdge[] } {
  return new FlowBuilder().build(doc, ctx);
}

/** The edge a React Flow edge stands for: its original JSON, or one built from its handles. */
export function flowEdgeToGraphEdge(edge: Pick<CanvasEdge, "source" | "target" | "sourceHandle" | "targetHandle" | "data">, targetInfo?: TypeInfo): GraphEdge {
  if (edge.data?.edge) return edge.data.edge;
  const out = edge.sourceHandle && /^out\d+$/.test(edge.sourceHandle) ? Number(edge.sourceHandle.slice(3)) : null;
  const source = formatSource(edge.source, out);
  const handle = edge.targetHandle ?? undefined;
  if (targetInfo && !targetInfo.variadic && targetInfo.ports.length > 1 && handle && targetInfo.ports.includes(handle)) {
    return [source, edge.target, handle];
  }
  return [source, edge.target];
}

/** The document back from React Flow nodes and edges (see the top of this file). */
export function fromFlow(nodes: CanvasNode[], edges: CanvasEdge[], base: GraphDoc): GraphDoc {
  const graphNodes: GraphNode[] = nodes.map((rf) => {
    const original = rf.data.node;
    const p = position(original);
    if (p && p.x === rf.position.x && p.y === rf.position.y) return original;
    return { ...original, ui: { ...(original.ui ?? {}), x: Math.round(rf.position.x), y: Math.round(rf.position.y) } };
  });
  const infoById = new Map(nodes.map((n) => [n.id, n.data.info]));
  const graphEdges: GraphEdge[] = edges.map((e) => flowEdgeToGraphEdge(e, infoById.get(e.target)));
  return { ...base, nodes: graphNodes, edges: graphEdges };
}
