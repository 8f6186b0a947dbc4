import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { applySuggestion, describeSuggestion } from "./suggestions";

function doc(): GraphDoc {
  return {
    version: "0.2",
    nodes: [
      { id: "inp", type: "Input", params: { shape: [9, 256] }, ui: { x: 0, y: 0 } },
      { id: "relu", type: "ReLU", params: {}, ui: { x: 0, y: 400 } },
      { id: "gru", type: "GRU", params: { hidden_size: 32, hiden: 3 }, ui: { x: 0, y: 800 } },
      { id: "fc", type: "Linaer", params: { out_features: 2 }, ui: { x: 0, y: 1200 } },
      { id: "cat", type: "Concat", params: {}, ui: { x: 300, y: 1200 } },
    ],
    edges: [
      ["inp", "relu"],
      ["relu", "gru"],
      ["gru", "fc"],
      ["relu", "cat"],
      ["gru", "cat"],
      ["fc", "fc"],
    ],
    inputs: [],
    outputs: [],
  };
}

describe("applySuggestion", () => {
  it("insert_node puts the new node between a and b, halfway, rewiring the edge in place", () => {
    const d = doc();
    const applied = applySuggestion(d, { action: "insert_node", type: "Permute_BCT_to_BTH", between: ["relu", "gru"] })!;
    expect(applied.select).toBe("permute_bct_to_bth");
    const next = applied.doc;
    expect(next.edges.slice(0, 4)).toEqual([
      ["inp", "relu"],
      ["relu", "permute_bct_to_bth"],
      ["permute_bct_to_bth", "gru"],
      ["gru", "fc"],
    ]);
    const inserted = next.nodes.find((n) => n.id === "permute_bct_to_bth")!;
    expect(inserted.ui).toEqual({ x: 0, y: 600 });
    expect(inserted.params).toEqual({});
    expect(d.edges).toHaveLength(6); // input untouched
  });

  it("insert_node keeps the target's port and carries params; makes room when the nodes are close", () => {
    const d = doc();
    d.edges[4] = ["gru", "cat", "1"];
    d.nodes[4].ui = { x: 300, y: 900 };
    d.nodes[2].ui = { x: 300, y: 800 };
    const next = applySuggestion(d, { action: "insert_node", type: "Flatten", between: ["gru", "cat"], params: { start_dim: 2 } })!.doc;
    expect(next.edges).toContainEqual(["gru", "flatten"]);
    expect(next.edges).toContainEqual(["flatten", "cat", "1"]);
    expect(next.nodes.find((n) => n.id === "flatten")!.params).toEqual({ start_dim: 2 });
    const cat = next.nodes.find((n) => n.id === "cat")!;
    expect(cat.ui!.y).toBeGreaterThan(900);
  });

  it("insert_node finds edges from a split output", () => {
    const d = doc();
    d.edges[1] = ["relu:1", "gru"];
    const next = applySuggestion(d, { action: "insert_node", type: "ReLU", between: ["relu", "gru"] })!.doc;
    expect(next.edges).toContainEqual(["relu:1", "relu_2"]);
    expect(next.edges).toContainEqual(["relu_2", "gru"]);
  });

  it("set_param, set_type and rename_param change the node", () => {
    let d = applySuggestion(doc(), { action: "set_param", node: "gru", param: "hidden_size", value: 64 })!.doc;
    expect(d.nodes[2].params!.hidden_size).toBe(64);
    d = applySuggestion(d, { action: "set_type", node: "fc", type: "Linear" })!.doc;
    expect(d.nodes[3].type).toBe("Linear");
    d = applySuggestion(d, { action: "rename_param", node: "gru", param: "hiden", to: "num_layers" })!.doc;
    expect(d.nodes[2].params).toEqual({ hidden_size: 64, num_layers: 3 });
    expect(Object.keys(d.nodes[2].params!)).toEqual(["hidden_size", "num_layers"]);
  });

  it("set_stage moves a node to a recipe stage; back to the model, the field goes", () => {
    let d = applySuggestion(doc(), { action: "set_stage", node: "relu", stage: "metrics" })!.doc;
    expect(d.nodes[1].stage).toBe("metrics");
    d = applySuggestion(d, { action: "set_stage", node: "relu", stage: "model" })!.doc;
    expect("stage" in d.nodes[1]).toBe(false);
    expect(applySuggestion(d, { action: "set_stage", node: "relu", stage: "elsewhere" })).toBeNull();
    expect(describeSuggestion({ action: "set_stage", node: "extra", stage: "model" })).toBe("Move extra to the model stage");
  });

  it("remove_edge removes the a → b edges, remove_node the node and its edges and interface entries", () => {
    let d = applySuggestion(doc(), { action: "remove_edge", edge: ["fc", "fc"] })!.doc;
    expect(d.edges).not.toContainEqual(["fc", "fc"]);
    expect(d.edges).toHaveLength(5);
    d = { ...d, outputs: ["gru", "cat"] };
    d = applySuggestion(d, { action: "remove_node", node: "gru" })!.doc;
    expect(d.nodes.map((n) => n.id)).toEqual(["inp", "relu", "fc", "cat"]);
    expect(d.edges).toEqual([
      ["inp", "relu"],
      ["relu", "cat"],
    ]);
    expect(d.outputs).toEqual(["cat"]);
  });

  it("add_input and set_outputs change the interface", () => {
    let d = applySuggestion(doc(), { action: "add_input", node: "inp" })!.doc;
    expect(d.inputs).toEqual(["inp"]);
    d = applySuggestion(d, { action: "set_outputs", outputs: ["fc", "cat"] })!.doc;
    expect(d.outputs).toEqual(["fc", "cat"]);
  });

  it("set_outputs keeps named outputs named, under the names they had", () => {
    const named = { ...doc(), outputs: { logits: "fc" } };
    expect(applySuggestion(named, { action: "set_outputs", outputs: ["cat", "fc"] })!.doc.outputs).toEqual({ cat: "cat", logits: "fc" });
    expect(applySuggestion(named, { action: "set_outputs", outputs: { out: "cat" } })!.doc.outputs).toEqual({ out: "cat" });
    expect(applySuggestion(named, { action: "set_outputs", outputs: { out: 3 } })).toBeNull();
    expect(describeSuggestion({ action: "set_outputs", outputs: { mean: "fork:0", std: "fork:1" } })).toBe("Make mean → fork:0, std → fork:1 the outputs");
  });

  it("add_node adds an Input above the drawing and declares it", () => {
    const base = doc();
    base.nodes = base.nodes.filter((n) => n.id !== "inp");
    const applied = applySuggestion(base, { action: "add_node", type: "Input" })!;
    expect(applied.select).toBe("input");
    expect(applied.doc.inputs).toEqual(["input"]);
    expect(applied.doc.nodes.at(-1)!.ui!.y).toBeLessThan(400);
  });

  it("returns null for suggestions that no longer fit", () => {
    expect(applySuggestion(doc(), { action: "remove_node", node: "nope" })).toBeNull();
    expect(applySuggestion(doc(), { action: "insert_node", type: "ReLU", between: ["inp", "fc"] })).toBeNull();
    expect(applySuggestion(doc(), { action: "rename_param", node: "gru", param: "missing", to: "x" })).toBeNull();
    expect(applySuggestion(doc(), { action: "teleport" })).toBeNull();
  });

  it("describes suggestions for their buttons", () => {
    expect(describeSuggestion({ action: "insert_node", type: "Flatten", between: ["a", "b"] })).toBe("Insert Flatten between a and b");
    expect(describeSuggestion({ action: "set_outputs", outputs: ["fc"] })).toBe("Make fc the output");
  });
});
