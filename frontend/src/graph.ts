// The graph JSON contract (v0.2, ../shared/ARCHITECTURE.md and docs/engine.md) and the engine's answers,
// as TypeScript types shared by every part of the canvas.

export type ParamValue = number | string | boolean | null | ParamValue[] | { [key: string]: ParamValue };

/** Where a node belongs in the training recipe (issue 15); absent: by its type (see lib/recipe.ts). */
export type RecipeStage = "model" | "loss" | "metrics";

/** A layer's weight init: a type name, or an object with the type and its settings. */
export type NodeInit = string | { type: string; std?: number; nonlinearity?: string; value?: number; bias?: "zeros" | "keep"; [key: string]: unknown };

export interface GraphNode {
  id: string;
  type: string;
  params?: Record<string, ParamValue>;
  label?: string;
  disabled?: boolean;
  /** Dotted module path in the generated model ("layer1.0.conv1"); absent: a flat attribute named after the id. */
  path?: string;
  /** The recipe stage: `"loss"` / `"metrics"` nodes compute the training objective and what is reported. */
  stage?: RecipeStage;
  /** false: frozen (no gradients, skipped by the optimizer, eval mode); absent means true. */
  trainable?: boolean;
  init?: NodeInit;
  /** Canvas-only data (position); codegen ignores it. */
  ui?: { x?: number; y?: number; [key: string]: unknown };
}

/** `[src, dst]` or `[src, dst, port]`; `src` may be `"split:1"` for a node's second output. */
export type GraphEdge = [string, string] | [string, string, string];

export interface CompositeParam {
  name: string;
  type: string;
  default?: ParamValue;
  min?: number;
  max?: number;
  doc?: string;
}

export interface CompositeDefinition {
  doc?: string;
  params?: CompositeParam[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  inputs: string[];
  outputs: string[];
}

/**
 * What the model returns: a list (a tensor, or a tuple) or an object mapping names to refs (a dict). A ref
 * is a node id or `"node:k"` for output k of a multi-output node (lib/outputs.ts reads both forms).
 */
export type GraphOutputs = string[] | Record<string, string>;

/** The document's `training` block: the optimizer and scheduler of a run. */
export interface TrainingConfig {
  optimizer?: { type: string; [key: string]: unknown };
  scheduler?: { type: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface GraphDoc {
  version: "0.2";
  metadata?: Record<string, unknown>;
  nodes: GraphNode[];
  edges: GraphEdge[];
  inputs: string[];
  outputs: GraphOutputs;
  composites?: Record<string, CompositeDefinition>;
  training?: TrainingConfig;
}

export type Severity = "error" | "warning";

export interface Suggestion {
  action:
    | "insert_node"
    | "set_param"
    | "set_type"
    | "rename_param"
    | "remove_edge"
    | "remove_node"
    | "add_input"
    | "set_outputs"
    | "set_stage"
    | string;
  [key: string]: unknown;
}

export interface Diagnostic {
  severity: Severity;
  code: string;
  message: string;
  node?: string;
  edge?: GraphEdge;
  path?: string;
  suggestion?: Suggestion;
}

/** A node's or the model's figures at batch 1 (codegen/summary.py); null where a size is unknown. */
export interface SummaryFigures {
  params: number | null;
  params_trainable: number | null;
  params_frozen: number | null;
  /** What torch's FlopCounterMode counts: 2 × MACs. */
  flops: number | null;
  macs: number | null;
  /** fp32 bytes of the node's outputs, per sample. */
  activation_bytes: number | null;
}

export interface NodeSummary extends SummaryFigures {
  id: string;
  type: string;
  output_shapes: ((number | string | null)[] | null)[];
  /** A user block's own nodes. */
  children?: NodeSummary[];
}

export interface ModelSummary {
  name: string;
  batch_size: 1;
  activation_memory: string;
  nodes: NodeSummary[];
  totals: SummaryFigures;
}

/** POST /api/validate/ answer (see graphs/engine_views.py for every field). */
export interface ValidateResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  shapes: Record<string, (number | string)[] | (number | string)[][] | null>;
  params_total?: number | null;
  summary?: ModelSummary;
  [key: string]: unknown;
}

export interface ParamSpec {
  name: string;
  type: "int" | "float" | "bool" | "choice" | "ints" | "padding" | "int_list" | "kwargs" | "class_path" | "str" | string;
  doc?: string;
  required?: boolean;
  default?: ParamValue;
  min?: number;
  max?: number;
  /** `max` itself is out of range (e.g. dropout p < 1). */
  max_exclusive?: boolean;
  choices?: string[];
  nullable?: boolean;
  length?: number;
  min_length?: number;
  max_length?: number;
}

export interface NodeTypeSpec {
  type: string;
  category: string;
  doc: string;
  params: ParamSpec[];
  ports: string[];
  variadic: boolean;
  min_inputs: number;
  max_inputs: number | null;
  /** A fixed count, or "param" when the params decide it (Chunk `chunks`, Split `sections`). */
  outputs: number | "param";
  aliases: string[];
  summary: string[];
  color: string;
  composite: boolean;
  /** The paper a built-in block comes from. */
  paper?: string;
  /** false: not offered in the palette (an import placeholder: documents have it, nobody adds one). */
  palette?: boolean;
}

/** GET /api/registry/ answer. */
export interface Registry {
  engine_version: string;
  graph_version: string;
  categories: { name: string; color: string }[];
  nodes: NodeTypeSpec[];
  diagnostic_codes: Record<string, string> | unknown;
}

export function emptyGraph(): GraphDoc {
  return {
    version: "0.2",
    nodes: [{ id: "input", type: "Input", params: {}, ui: { x: 0, y: 0 } }],
    edges: [],
    inputs: ["input"],
    outputs: [],
  };
}
