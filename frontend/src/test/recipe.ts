// Test fixtures of issue 15: the registry with its node types (a Target, losses, a metric) as DESIGN15.md
// describes them, and a recipe document. The engine's registry.json gains these types when the engine side
// lands; these specs then replace the generated ones of the same names, and the tests keep their meaning.
import type { GraphDoc, NodeTypeSpec, Registry } from "../graph";
import recipeDoc from "./recipe.json";
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

/**
 * A recipe (recipe.json, which the browser test tests/e2e/test_e2e_recipe_canvas.py opens too): a frozen,
 * initialised body, named outputs (one of them a port), a Target, a loss, a metric and a training block.
 */
export const RECIPE_DOC = recipeDoc as unknown as GraphDoc;
