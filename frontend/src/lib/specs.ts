// What the canvas needs to know about a node type: registry specs, aliases, and the document's own
// composite blocks (`composites`), whose ports are the block's `inputs` (its Input node ids; one input
// keeps the plain handle `x`) and whose outputs are read by position, like Split's.
import type { CompositeDefinition, GraphDoc, GraphNode, NodeTypeSpec, ParamSpec, Registry } from "../graph";

export interface TypeInfo {
  type: string;
  category: string;
  color: string;
  doc: string;
  params: ParamSpec[];
  ports: string[];
  variadic: boolean;
  minInputs: number;
  maxInputs: number | null;
  /** A fixed count, or "param" when the count comes from the params (Chunk `chunks`, Split `sections`). */
  outputs: number | "param";
  /** Names shown on the output handles (a user block's `outputs`); numbers where absent. */
  outputNames?: string[];
  summary: string[];
  /** A built-in block (SEBlock, …) or a user block. */
  composite: boolean;
  /** Defined in the document's `composites` (can be ungrouped and looked into). */
  userComposite: boolean;
  /** Neither in the registry nor in `composites`. */
  unknown: boolean;
}

export const FALLBACK_COLOR = "#64748b";

export class SpecIndex {
  readonly byType = new Map<string, NodeTypeSpec>();
  readonly categoryColor = new Map<string, string>();
  private readonly cache = new Map<string, TypeInfo>();
  private compositesRef: GraphDoc["composites"] | undefined = undefined;

  constructor(readonly registry: Registry | null) {
    if (!registry) return;
    for (const c of registry.categories) this.categoryColor.set(c.name, c.color);
    for (const spec of registry.nodes) this.byType.set(spec.type, spec);
    for (const spec of registry.nodes) {
      for (const alias of spec.aliases ?? []) if (!this.byType.has(alias)) this.byType.set(alias, spec);
    }
  }

  /** Type info for a node type, given the document's composites (cached until `composites` changes). */
  info(type: string, composites: GraphDoc["composites"]): TypeInfo {
    if (composites !== this.compositesRef) {
      this.cache.clear();
      this.compositesRef = composites;
    }
    let info = this.cache.get(type);
    if (!info) {
      info = this.compute(type, composites);
      this.cache.set(type, info);
    }
    return info;
  }

  private compute(type: string, composites: GraphDoc["composites"]): TypeInfo {
    const definition = composites && Object.prototype.hasOwnProperty.call(composites, type) ? composites[type] : undefined;
    if (definition) return compositeInfo(type, definition, this.categoryColor);
    const spec = this.byType.get(type);
    if (spec) {
      return {
        type: spec.type,
        category: spec.category,
        color: spec.color || this.categoryColor.get(spec.category) || FALLBACK_COLOR,
        doc: spec.doc,
        params: spec.params,
        ports: spec.ports,
        variadic: spec.variadic,
        minInputs: spec.min_inputs,
        maxInputs: spec.max_inputs,
        outputs: spec.outputs,
        summary: spec.summary,
        composite: spec.composite,
        userComposite: false,
        unknown: false,
      };
    }
    return {
      type,
      category: "unknown",
      color: FALLBACK_COLOR,
      doc: "Unknown node type.",
      params: [],
      ports: ["x"],
      variadic: false,
      minInputs: 1,
      maxInputs: 1,
      outputs: 1,
      summary: [],
      composite: false,
      userComposite: false,
      unknown: true,
    };
  }
}

function compositeInfo(type: string, definition: CompositeDefinition, colors: Map<string, string>): TypeInfo {
  const declared = (definition as unknown as { category?: unknown }).category;
  const category = typeof declared === "string" ? declared : "block";
  const params: ParamSpec[] = (definition.params ?? []).map((p) => ({
    name: p.name,
    type: p.type ?? "int",
    doc: p.doc,
    required: p.default === undefined,
    default: p.default,
    min: p.min,
    max: p.max,
    choices: (p as { choices?: string[] }).choices,
  }));
  // A port listed twice is the engine's error to report; the canvas shows it once.
  const inputs = Array.isArray(definition.inputs) ? [...new Set(definition.inputs.filter((i) => typeof i === "string"))] : [];
  const outputs = Array.isArray(definition.outputs) ? definition.outputs.filter((o) => typeof o === "string") : [];
  const ports = inputs.length > 1 ? inputs : ["x"];
  return {
    type,
    category,
    color: colors.get(category) ?? colors.get("block") ?? "#f97316",
    doc: definition.doc ?? "A block defined in this graph.",
    params,
    ports,
    variadic: false,
    minInputs: ports.length,
    maxInputs: ports.length,
    outputs: Math.max(1, outputs.length),
    outputNames: outputs.length > 1 ? outputs : undefined,
    summary: params.slice(0, 3).map((p) => p.name),
    composite: true,
    userComposite: true,
    unknown: false,
  };
}

/** How many outputs a node has right now (Chunk: `chunks`; Split: the length of `sections`). */
export function outputCount(node: GraphNode, info: TypeInfo): number {
  if (info.outputs !== "param") return Math.max(1, info.outputs);
  const params = node.params ?? {};
  if (typeof params.chunks === "number" && Number.isInteger(params.chunks)) return clamp(params.chunks, 1, 64);
  if (Array.isArray(params.sections)) return clamp(params.sections.length, 1, 64);
  const chunks = info.params.find((p) => p.name === "chunks");
  if (chunks && typeof chunks.default === "number") return clamp(chunks.default, 1, 64);
  return 2;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
