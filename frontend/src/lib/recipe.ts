// The training recipe on the canvas (issue 15): which "recipe stage" a node belongs to (Model, Loss,
// Metrics; Targets belong to none), and the weight inits a layer can ask for. Not the module-path stages
// of lib/stages.ts: those group a model's own nodes by their place in the generated code.
import type { GraphDoc, GraphNode, NodeInit, ParamSpec, ParamValue, RecipeStage } from "../graph";
import type { SpecIndex, TypeInfo } from "./specs";

/** A node's group on the canvas: its recipe stage, or "target" for the Target nodes that feed losses and metrics. */
export type RecipeGroup = RecipeStage | "target";

export const RECIPE_STAGES: RecipeStage[] = ["model", "loss", "metrics"];

export const RECIPE_LABELS: Record<RecipeGroup, string> = { model: "Model", loss: "Loss", metrics: "Metrics", target: "Target" };

export function isTarget(node: GraphNode, info: Pick<TypeInfo, "type">): boolean {
  return node.type === "Target" || info.type === "Target";
}

/** The stage a node of this type has when the document does not say: by its registry category. */
export function defaultStage(info: Pick<TypeInfo, "category">): RecipeStage {
  if (info.category === "loss") return "loss";
  if (info.category === "metric") return "metrics";
  return "model";
}

export function recipeGroup(node: GraphNode, info: Pick<TypeInfo, "type" | "category">): RecipeGroup {
  if (isTarget(node, info)) return "target";
  return node.stage && RECIPE_STAGES.includes(node.stage) ? node.stage : defaultStage(info);
}

/** The init types of docs/engine.md; `std` applies to the normal ones, `nonlinearity` to Kaiming's, `value` to constant. */
export const INIT_TYPES = [
  "kaiming_uniform",
  "kaiming_normal",
  "xavier_uniform",
  "xavier_normal",
  "normal",
  "uniform",
  "trunc_normal",
  "zeros",
  "ones",
  "constant",
  "orthogonal",
] as const;

/** The init choice as a param field (lib/params.ts and ParamField read it like a registry param). */
export const INIT_SPEC: ParamSpec = {
  name: "init",
  type: "choice",
  choices: [...INIT_TYPES],
  default: "the layer's own",
  doc: "How the layer's weights start (torch.nn.init).",
};

type InitSetting = "std" | "nonlinearity" | "value" | "bias";

/** The settings of an init type, as param fields; `bias` applies to every type. */
export const INIT_SETTING_SPECS: Record<InitSetting, ParamSpec> = {
  std: { name: "init.std", type: "float", min: 0, doc: "Standard deviation." },
  nonlinearity: { name: "init.nonlinearity", type: "choice", choices: ["relu", "leaky_relu", "tanh", "sigmoid", "linear"], default: "torch's", doc: "The activation that follows (sets the gain)." },
  value: { name: "init.value", type: "float", doc: "The value every weight starts at." },
  bias: { name: "init.bias", type: "choice", choices: ["zeros", "keep"], default: "the engine's", doc: "zeros: the bias starts at 0; keep: the layer's own bias init." },
};

/** The settings an init type takes. */
export function initSettings(type: string): InitSetting[] {
  if (type === "normal" || type === "trunc_normal") return ["std", "bias"];
  if (type.startsWith("kaiming_")) return ["nonlinearity", "bias"];
  if (type === "constant") return ["value", "bias"];
  return ["bias"];
}

/** An init's type and settings, whichever form the document has it in. */
export function initParts(init: NodeInit | undefined): { type: string | undefined; settings: Record<string, ParamValue> } {
  if (init === undefined) return { type: undefined, settings: {} };
  if (typeof init === "string") return { type: init, settings: {} };
  const { type, ...settings } = init;
  return { type, settings: settings as Record<string, ParamValue> };
}

/**
 * The init to store: a bare type name when it has no settings, else an object. Settings this editor knows
 * that the type does not take drop (std when switching to xavier); others stay as the document had them.
 */
export function composeInit(type: string | undefined, settings: Record<string, ParamValue | undefined>): NodeInit | undefined {
  if (!type) return undefined;
  const applies = (key: string) => !(key in INIT_SETTING_SPECS) || (initSettings(type) as string[]).includes(key);
  const kept = Object.entries(settings).filter(([key, value]) => value !== undefined && applies(key));
  return kept.length ? { type, ...Object.fromEntries(kept) } : type;
}

/** How many nodes each group has (Model, Loss, Metrics, Target), for the canvas's legend. */
export function recipeCounts(doc: GraphDoc, specs: SpecIndex): Record<RecipeGroup, number> {
  const counts: Record<RecipeGroup, number> = { model: 0, loss: 0, metrics: 0, target: 0 };
  for (const node of doc.nodes) counts[recipeGroup(node, specs.info(node.type, doc.composites))]++;
  return counts;
}
