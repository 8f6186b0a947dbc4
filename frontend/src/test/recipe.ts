// Test fixtures of issue 15: the registry with its node types (a Target, losses, a metric) as DESIGN15.md
// describes them, and a recipe document. The engine's registry.json gains these types when the engine side
// lands; these specs then replace the generated ones of the same names, and the tests keep their meaning.
import type { GraphDoc, NodeTypeSpec, Registry } from "../graph";
import { REGISTRY } from "./registry";

function spec(type: string, category: string, ports: string[], params: NodeTypeSpec["params"]): NodeTypeSpec {
  return { type, category, doc: `${type} (issue 15).`, params, ports, variadic: false, min_inputs: ports.length, max_inputs: ports.length, outputs: 1, aliases: [], summary: [], color: "", composite: false };
}

export const RECIPE_SPECS: NodeTypeSpec[] = [
  spec("Target", "io", [], [{ name: "shape", type: "int_list" }, { name: "dtype", type: "choice", choices: ["int64", "float32"] }, { name: "num_classes", type: "int" }]),
  spec("CrossEntropyLoss", "loss", ["input", "target"], [{ name: "weight", type: "float", default: 1 }]),
  spec("MSELoss", "loss", ["input", "target"], [{ name: "weight", type: "float", default: 1 }]),
  spec("Accuracy", "metric", ["input", "target"], []),
];

const added = new Set(RECIPE_SPECS.map((s) => s.type));

export const RECIPE_REGISTRY: Registry = {
  ...REGISTRY,
  categories: [...REGISTRY.categories.filter((c) => c.name !== "loss" && c.name !== "metric"), { name: "loss", color: "#dc2626" }, { name: "metric", color: "#0d9488" }],
  nodes: [...REGISTRY.nodes.filter((n) => !added.has(n.type)), ...RECIPE_SPECS],
};

/** A recipe: a frozen, initialised body, named outputs (one of them a port), a Target, a loss, a metric, training. */
export const RECIPE_DOC: GraphDoc = {
  version: "0.2",
  metadata: { name: "recipe" },
  nodes: [
    { id: "x", type: "Input", params: { shape: [4] }, ui: { x: 0, y: 0 } },
    { id: "y", type: "Target", params: { shape: [], dtype: "int64", num_classes: 3 }, ui: { x: 300, y: 0 } },
    { id: "body", type: "Linear", params: { out_features: 8 }, trainable: false, init: { type: "normal", std: 0.01 }, ui: { x: 0, y: 120 } },
    { id: "fork", type: "Chunk", params: { chunks: 2 }, ui: { x: 0, y: 240 } },
    { id: "fc", type: "Linear", params: { out_features: 3 }, init: "kaiming_uniform", stage: "model", ui: { x: 0, y: 360 } },
    { id: "ce", type: "CrossEntropyLoss", params: { weight: 1 }, ui: { x: 0, y: 480 } },
    { id: "acc", type: "Accuracy", stage: "metrics", ui: { x: 300, y: 480 } },
  ],
  edges: [
    ["x", "body"],
    ["body", "fork"],
    ["fork:0", "fc"],
    ["fc", "ce", "input"],
    ["y", "ce", "target"],
    ["fc", "acc", "input"],
    ["y", "acc", "target"],
  ],
  inputs: ["x"],
  outputs: { logits: "fc", aux: "fork:1" },
  training: { optimizer: { type: "SGD", lr: 0.05, momentum: 0.9, weight_decay: 5e-4 }, scheduler: { type: "StepLR", step_size: 10, gamma: 0.1 } },
};
