import { describe, expect, it } from "vitest";
import type { GraphDoc, GraphEdge, GraphNode } from "../graph";
import { blockNameProblem, evaluateReference, groupSelection, paramNameProblem, snakeCase, ungroupNode } from "./grouping";
import { outputRefs } from "./outputs";

function chain(): GraphDoc {
  return {
    version: "0.2",
    metadata: { name: "demo" },
    nodes: [
      { id: "inp", type: "Input", params: { shape: [3, 32, 32] }, ui: { x: 0, y: 0 } },
      { id: "conv", type: "Conv2d", params: { out_channels: 16, kernel_size: 3, padding: 1 }, ui: { x: 0, y: 100 } },
      { id: "bn", type: "BatchNorm2d", params: {}, ui: { x: 0, y: 200 } },
      { id: "act", type: "ReLU", params: {}, ui: { x: 0, y: 300 }, label: "relu" },
      { id: "pool", type: "AdaptiveAvgPool2d", params: { output_size: 1 }, ui: { x: 0, y: 400 } },
    ],
    edges: [
      ["inp", "conv"],
      ["conv", "bn"],
      ["bn", "act"],
      ["act", "pool"],
    ],
    inputs: ["inp"],
    outputs: ["pool"],
  };
}

/** A residual: x → conv → bn → add(x, bn) → relu, with a named port and a graph output inside. */
function residual(): GraphDoc {
  return {
    version: "0.2",
    nodes: [
      { id: "inp", type: "Input", params: {} },
      { id: "stem", type: "Conv2d", params: { out_channels: 8, kernel_size: 3 } },
      { id: "conv", type: "Conv2d", params: { out_channels: 8, kernel_size: 3, padding: 1 } },
      { id: "bn", type: "BatchNorm2d", params: {} },
      { id: "add", type: "Add", params: {} },
      { id: "relu", type: "ReLU", params: {} },
      { id: "head", type: "Bilinear", params: { out_features: 4 } },
    ],
    edges: [
      ["inp", "stem"],
      ["stem", "conv"],
      ["conv", "bn"],
      ["stem", "add", "0"],
      ["bn", "add", "1"],
      ["add", "relu"],
      ["relu", "head", "x2"],
      ["stem", "head", "x1"],
    ],
    inputs: ["inp"],
    outputs: ["relu", "head"],
  };
}

/** Nodes and edges with ids mapped back through `rename`, positions dropped, for comparisons. */
function normalise(graph: GraphDoc, rename: (id: string) => string = (id) => id) {
  const nodes = graph.nodes
    .map((n: GraphNode) => ({ id: rename(n.id), type: n.type, params: n.params ?? {}, label: n.label, disabled: n.disabled, path: n.path }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const edges = graph.edges.map((e: GraphEdge) => [rename(e[0]), rename(e[1]), ...e.slice(2)]).map((e) => e.join("|")).sort();
  return { nodes, edges, inputs: graph.inputs.map(rename), outputs: outputRefs(graph.outputs).map(rename), composites: graph.composites };
}

describe("groupSelection", () => {
  it("builds a definition with an inner input and replaces the selection by one node at its centroid", () => {
    const grouped = groupSelection(chain(), ["conv", "bn", "act"], "ConvBNReLU");
    const definition = grouped.composites!.ConvBNReLU;
    expect(definition.inputs).toEqual(["in"]);
    expect(definition.outputs).toEqual(["act"]);
    expect(definition.nodes.map((n) => [n.id, n.type])).toEqual([
      ["in", "Input"],
      ["conv", "Conv2d"],
      ["bn", "BatchNorm2d"],
      ["act", "ReLU"],
    ]);
    expect(definition.nodes[1].params).toEqual({ out_channels: 16, kernel_size: 3, padding: 1 });
    expect(definition.nodes[3].label).toBe("relu");
    expect(definition.edges).toEqual([
      ["in", "conv"],
      ["conv", "bn"],
      ["bn", "act"],
    ]);
    expect(definition.params).toEqual([]);
    expect(grouped.nodes.map((n) => n.id)).toEqual(["inp", "conv_bn_relu", "pool"]);
    const block = grouped.nodes[1];
    expect(block).toEqual({ id: "conv_bn_relu", type: "ConvBNReLU", params: {}, ui: { x: 0, y: 200 } });
    expect(grouped.edges).toEqual([
      ["inp", "conv_bn_relu"],
      ["conv_bn_relu", "pool"],
    ]);
    expect(grouped.outputs).toEqual(["pool"]);
    expect(grouped.metadata).toEqual({ name: "demo" });
  });

  it("leaves the input document untouched", () => {
    const graph = chain();
    const before = JSON.stringify(graph);
    groupSelection(graph, ["conv", "bn"], "Pair");
    expect(JSON.stringify(graph)).toBe(before);
  });

  it("accepts one outside source feeding several inner nodes and keeps ports on both sides", () => {
    const grouped = groupSelection(residual(), ["conv", "bn", "add", "relu"], "Residual");
    const definition = grouped.composites!.Residual;
    expect(definition.edges).toEqual([
      ["in", "conv"],
      ["conv", "bn"],
      ["in", "add", "0"],
      ["bn", "add", "1"],
      ["add", "relu"],
    ]);
    expect(definition.outputs).toEqual(["relu"]);
    expect(grouped.edges).toEqual([
      ["inp", "stem"],
      ["stem", "residual"],
      ["residual", "head", "x2"],
      ["stem", "head", "x1"],
    ]);
    expect(grouped.outputs).toEqual(["residual", "head"]);
  });

  it("refuses a selection with two inputs from outside, naming them", () => {
    expect(() => groupSelection(residual(), ["add", "relu"], "AddReLU")).toThrow(
      /The selection has 2 inputs from outside: stem → add; bn → add\. A block takes exactly one input/,
    );
  });

  it("refuses a selection with two outputs used outside", () => {
    expect(() => groupSelection(residual(), ["stem", "conv", "bn"], "Stem")).toThrow(/The selection has 2 outputs used outside: stem → .*; bn → `add`/);
  });

  it("counts a graph output inside the selection as an output", () => {
    expect(() => groupSelection(residual(), ["add", "relu", "head", "bn", "conv"], "X")).toThrow(/2 outputs used outside/);
  });

  it("keeps named outputs named: the block is returned under the name its last node had", () => {
    const grouped = groupSelection({ ...chain(), outputs: { features: "pool" } }, ["conv", "bn", "act", "pool"], "Body");
    expect(grouped.outputs).toEqual({ features: "body" });
    expect(ungroupNode(grouped, "body").outputs).toEqual({ features: "body_pool" });
  });

  it("refuses Input nodes, unknown ids and an empty selection", () => {
    expect(() => groupSelection(chain(), ["inp", "conv"], "A")).toThrow(/graph input `inp`/);
    expect(() => groupSelection(chain(), ["nope"], "A")).toThrow(/not in the graph: `nope`/);
    expect(() => groupSelection(chain(), [], "A")).toThrow(/Select the nodes/);
  });

  it("refuses the second output of a multi-output node as the block's output", () => {
    const graph: GraphDoc = {
      version: "0.2",
      nodes: [
        { id: "inp", type: "Input" },
        { id: "split", type: "Chunk", params: { chunks: 2 } },
        { id: "cat", type: "Concat" },
      ],
      edges: [
        ["inp", "split"],
        ["split:0", "cat"],
        ["split:1", "cat"],
      ],
      inputs: ["inp"],
      outputs: ["cat"],
    };
    expect(() => groupSelection(graph, ["split"], "S")).toThrow(/2 outputs used outside/);
    const one: GraphDoc = { ...graph, edges: [["inp", "split"], ["split:1", "cat"]] };
    expect(() => groupSelection(one, ["split"], "S")).toThrow(/output 1 of `split`/);
    // Both outputs inside: fine, and the "split:1" source is kept inside the definition.
    const grouped = groupSelection(graph, ["split", "cat"], "SplitCat");
    expect(grouped.composites!.SplitCat.edges).toContainEqual(["split:1", "cat"]);
    // A port listed among the (named) graph outputs leaves the selection too.
    const half: GraphDoc = { ...graph, edges: [["inp", "split"], ["split:0", "cat"]], outputs: { joined: "cat", half: "split:1" } };
    expect(() => groupSelection(half, ["split", "cat"], "S")).toThrow(/2 outputs used outside: cat → the graph outputs; split:1 → the graph outputs/);
  });

  it("groups a selection nothing uses yet, from its single start to its single end", () => {
    const graph: GraphDoc = { ...chain(), edges: [["inp", "conv"]], outputs: [] };
    graph.edges.push(["bn", "act"]);
    const grouped = groupSelection(graph, ["bn", "act"], "Tail");
    expect(grouped.composites!.Tail.edges).toEqual([
      ["in", "bn"],
      ["bn", "act"],
    ]);
    expect(grouped.composites!.Tail.outputs).toEqual(["act"]);
    expect(() => groupSelection(graph, ["pool", "act", "bn"], "T")).toThrow(/no input from outside and 2 nodes where it starts \(`bn`, `pool`\)/);
    const fork: GraphDoc = { ...chain(), edges: [["inp", "conv"], ["conv", "bn"], ["conv", "act"]], outputs: [] };
    expect(() => groupSelection(fork, ["conv", "bn", "act"], "T")).toThrow(/Nothing outside uses the selection and it ends in 2 nodes \(`bn`, `act`\)/);
  });

  it("checks block names", () => {
    expect(() => groupSelection(chain(), ["conv"], "convBlock")).toThrow(/starting with a capital letter/);
    expect(() => groupSelection(chain(), ["conv"], "Conv2d", { registryTypes: ["Conv2d", "ReLU"] })).toThrow(/built-in node type/);
    expect(() => groupSelection(chain(), ["conv"], "None")).toThrow(/keyword or builtin/);
    const once = groupSelection(chain(), ["conv"], "Once");
    expect(() => groupSelection(once, ["bn"], "Once")).toThrow(/already has a block named "Once"/);
    expect(blockNameProblem("My Block", chain())).toMatch(/not a valid block name/);
    expect(blockNameProblem("", chain())).toMatch(/Give the block a name/);
    expect(blockNameProblem("SEPlus", chain(), ["SEBlock"])).toBeNull();
  });

  it("names the node after the block, uniquely", () => {
    const graph = chain();
    graph.nodes.push({ id: "pair", type: "ReLU" });
    const grouped = groupSelection(graph, ["conv", "bn"], "Pair");
    expect(grouped.nodes.map((n) => n.id)).toContain("pair_2");
    expect(snakeCase("SEBlock")).toBe("se_block");
    expect(snakeCase("ConvBNReLU")).toBe("conv_bn_relu");
  });

  it("exposes chosen params as block params with $ references", () => {
    const grouped = groupSelection(chain(), ["conv", "bn", "act"], "ConvBNReLU", {
      exposed: [
        { node: "conv", param: "out_channels", name: "c" },
        { node: "conv", param: "kernel_size", name: "k" },
        { node: "conv", param: "padding" },
      ],
      doc: "Conv, BatchNorm, ReLU.",
    });
    const definition = grouped.composites!.ConvBNReLU;
    expect(definition.doc).toBe("Conv, BatchNorm, ReLU.");
    expect(definition.params).toEqual([
      { name: "c", type: "int", default: 16 },
      { name: "k", type: "int", default: 3 },
      { name: "padding", type: "int", default: 1 },
    ]);
    expect(definition.nodes[1].params).toEqual({ out_channels: "$c", kernel_size: "$k", padding: "$padding" });
    expect(grouped.nodes[1].params).toEqual({ c: 16, k: 3, padding: 1 });
  });

  it("types exposed params from their values, takes registry defaults, and shares names only for equal values", () => {
    const graph = chain();
    graph.nodes[2].params = { eps: 0.001, affine: true };
    graph.nodes[1].params = { out_channels: 16, kernel_size: 3, padding: "same" };
    const grouped = groupSelection(graph, ["conv", "bn"], "CB", {
      exposed: [
        { node: "bn", param: "eps" },
        { node: "bn", param: "affine" },
        { node: "conv", param: "padding", choices: ["same", "valid"] },
        { node: "bn", param: "momentum", value: 0.1, type: "float" },
      ],
    });
    expect(grouped.composites!.CB.params).toEqual([
      { name: "eps", type: "float", default: 0.001 },
      { name: "affine", type: "bool", default: true },
      { name: "padding", type: "choice", default: "same", choices: ["same", "valid"] },
      { name: "momentum", type: "float", default: 0.1 },
    ]);
    const two = chain();
    two.nodes[3] = { id: "conv2", type: "Conv2d", params: { out_channels: 16, kernel_size: 5 } };
    two.edges = [["inp", "conv"], ["conv", "bn"], ["bn", "conv2"], ["conv2", "pool"]];
    const shared = groupSelection(two, ["conv", "bn", "conv2"], "Double", {
      exposed: [
        { node: "conv", param: "out_channels", name: "c" },
        { node: "conv2", param: "out_channels", name: "c" },
      ],
    });
    expect(shared.composites!.Double.params).toEqual([{ name: "c", type: "int", default: 16 }]);
    expect(() =>
      groupSelection(two, ["conv", "bn", "conv2"], "Double", {
        exposed: [
          { node: "conv", param: "kernel_size", name: "k" },
          { node: "conv2", param: "kernel_size", name: "k" },
        ],
      }),
    ).toThrow(/"k" is used for two different values \(3 and 5\)/);
  });

  it("refuses exposing lists, missing values and reserved names", () => {
    const graph = chain();
    graph.nodes[1].params = { out_channels: 16, kernel_size: [3, 3] };
    expect(() => groupSelection(graph, ["conv"], "C", { exposed: [{ node: "conv", param: "kernel_size" }] })).toThrow(/it is a list/);
    expect(() => groupSelection(graph, ["conv"], "C", { exposed: [{ node: "conv", param: "stride" }] })).toThrow(/has no value/);
    expect(() => groupSelection(graph, ["conv"], "C", { exposed: [{ node: "conv", param: "out_channels", name: "in_channels" }] })).toThrow(
      /passed to the block automatically/,
    );
    expect(() => groupSelection(graph, ["conv"], "C", { exposed: [{ node: "bn", param: "eps" }] })).toThrow(/not in the selection/);
    expect(paramNameProblem("class")).toMatch(/keyword/);
    expect(paramNameProblem("2c")).toMatch(/not a valid parameter name/);
    expect(paramNameProblem("channels")).toBeNull();
    expect(paramNameProblem("__class__")).toMatch(/two underscores/);
    expect(paramNameProblem("__c")).toMatch(/two underscores/);
    expect(paramNameProblem("_c")).toBeNull();
  });
});

/** The residual with torchvision-style paths on its layers: stem at the top, the block at "layer1.0". */
function residualWithPaths(): GraphDoc {
  const graph = residual();
  const paths: Record<string, string> = { stem: "conv1", conv: "layer1.0.conv1", bn: "layer1.0.bn1" };
  graph.nodes = graph.nodes.map((n) => (paths[n.id] ? { ...n, path: paths[n.id] } : n));
  return graph;
}

describe("grouping and module paths", () => {
  it("moves the members' shared prefix onto the block node, so state_dict keys stay the same", () => {
    const grouped = groupSelection(residualWithPaths(), ["conv", "bn", "add", "relu"], "BasicBlock");
    const block = grouped.nodes.find((n) => n.type === "BasicBlock")!;
    expect(block.path).toBe("layer1.0");
    const inner = grouped.composites!.BasicBlock.nodes;
    expect(inner.map((n) => [n.id, n.path])).toEqual([
      ["in", undefined],
      ["conv", "conv1"],
      ["bn", "bn1"],
      ["add", undefined],
      ["relu", undefined],
    ]);
    expect(grouped.nodes.find((n) => n.id === "stem")!.path).toBe("conv1");
  });

  it("keeps the paths as they are inside the block when they share no prefix", () => {
    const graph = residualWithPaths();
    graph.nodes.find((n) => n.id === "bn")!.path = "norm";
    const grouped = groupSelection(graph, ["conv", "bn", "add", "relu"], "BasicBlock");
    expect(grouped.nodes.find((n) => n.type === "BasicBlock")!.path).toBeUndefined();
    expect(grouped.composites!.BasicBlock.nodes.map((n) => n.path)).toEqual([undefined, "layer1.0.conv1", "norm", undefined, undefined]);
  });

  it("does not take a prefix that a node left outside sits under", () => {
    const graph = residualWithPaths();
    graph.nodes.find((n) => n.id === "stem")!.path = "layer1.0.downsample";
    const grouped = groupSelection(graph, ["conv", "bn", "add", "relu"], "BasicBlock");
    expect(grouped.nodes.find((n) => n.type === "BasicBlock")!.path).toBeUndefined();
    expect(grouped.composites!.BasicBlock.nodes.find((n) => n.id === "conv")!.path).toBe("layer1.0.conv1");
  });

  it("ungrouping puts inner paths back under the block's path: group then ungroup restores them", () => {
    const original = residualWithPaths();
    const back = ungroupNode(groupSelection(original, ["conv", "bn", "add", "relu"], "BasicBlock"), "basic_block");
    expect(normalise(back, (id) => id.replace(/^basic_block_/, ""))).toEqual(normalise(original));
    expect(back.nodes.find((n) => n.id === "basic_block_conv")!.path).toBe("layer1.0.conv1");
  });

  it("ungrouping a block without a path puts inner paths under the attribute named after its id", () => {
    const graph: GraphDoc = {
      version: "0.2",
      nodes: [
        { id: "inp", type: "Input" },
        { id: "Stage-2", type: "Pair" },
        { id: "pass", type: "Pair" },
      ],
      edges: [
        ["inp", "Stage-2"],
        ["Stage-2", "pass"],
      ],
      inputs: ["inp"],
      outputs: ["pass"],
      composites: {
        Pair: {
          nodes: [
            { id: "in", type: "Input" },
            { id: "a", type: "ReLU", path: "0" },
            { id: "b", type: "ReLU" },
          ],
          edges: [
            ["in", "a"],
            ["a", "b"],
          ],
          inputs: ["in"],
          outputs: ["b"],
        },
      },
    };
    const once = ungroupNode(graph, "Stage-2");
    expect(once.nodes.map((n) => [n.id, n.path])).toEqual([
      ["inp", undefined],
      ["Stage-2_a", "stage_2.0"],
      ["Stage-2_b", undefined],
      ["pass", undefined],
    ]);
    // "pass" is a keyword, so no path can start with it: the inlined node gets none.
    expect(ungroupNode(once, "pass").nodes.find((n) => n.id === "pass_a")!.path).toBeUndefined();
  });
});

describe("ungroupNode", () => {
  it("round-trips a chain: same nodes, params, edges and outputs modulo ids and positions", () => {
    const original = chain();
    const grouped = groupSelection(original, ["conv", "bn", "act"], "ConvBNReLU", {
      exposed: [{ node: "conv", param: "out_channels", name: "c" }],
    });
    const back = ungroupNode(grouped, "conv_bn_relu");
    expect(back.nodes.map((n) => n.id)).toEqual(["inp", "conv_bn_relu_conv", "conv_bn_relu_bn", "conv_bn_relu_act", "pool"]);
    const strip = (id: string) => id.replace(/^conv_bn_relu_/, "");
    expect(normalise(back, strip)).toEqual(normalise(original));
    expect(back.composites).toBeUndefined();
    // Positions come back where they were (offsets from the centroid are kept in the definition).
    expect(back.nodes.find((n) => n.id === "conv_bn_relu_act")!.ui).toEqual({ x: 0, y: 300 });
  });

  it("round-trips a residual with ports, a shared outside source and a graph output", () => {
    const original = residual();
    const grouped = groupSelection(original, ["conv", "bn", "add", "relu"], "Residual");
    const back = ungroupNode(grouped, "residual");
    const strip = (id: string) => id.replace(/^residual_/, "");
    expect(normalise(back, strip)).toEqual(normalise(original));
    // Argument order into multi-input nodes is kept.
    expect(back.edges.filter((e) => e[1] === "residual_add")).toEqual([
      ["stem", "residual_add", "0"],
      ["residual_bn", "residual_add", "1"],
    ]);
    expect(back.outputs).toEqual(["residual_relu", "head"]);
  });

  it("substitutes $params and integer expressions with the instance's values or the defaults", () => {
    const graph: GraphDoc = {
      version: "0.2",
      nodes: [
        { id: "inp", type: "Input" },
        { id: "se1", type: "SE", params: { c: 64 } },
      ],
      edges: [["inp", "se1"]],
      inputs: ["inp"],
      outputs: ["se1"],
      composites: {
        SE: {
          params: [
            { name: "c", type: "int", default: 16 },
            { name: "r", type: "int", default: 4 },
            { name: "act", type: "choice", default: "relu" },
          ],
          nodes: [
            { id: "in", type: "Input" },
            { id: "pool", type: "AdaptiveAvgPool2d", params: { output_size: 1 } },
            { id: "fc1", type: "Linear", params: { out_features: "$c // $r" } },
            { id: "fc2", type: "Linear", params: { out_features: "$c * 2 - ($r + 1)" } },
            { id: "gate", type: "Activation", params: { kind: "$act", size: ["$c", 2] } },
            { id: "mul", type: "Mul" },
          ],
          edges: [
            ["in", "pool"],
            ["pool", "fc1"],
            ["fc1", "fc2"],
            ["fc2", "gate"],
            ["in", "mul"],
            ["gate", "mul"],
          ],
          inputs: ["in"],
          outputs: ["mul"],
        },
      },
    };
    const flat = ungroupNode(graph, "se1");
    const byId = Object.fromEntries(flat.nodes.map((n) => [n.id, n]));
    expect(byId.se1_fc1.params).toEqual({ out_features: 16 });
    expect(byId.se1_fc2.params).toEqual({ out_features: 123 });
    expect(byId.se1_gate.params).toEqual({ kind: "relu", size: [64, 2] });
    expect(flat.edges).toEqual([
      ["inp", "se1_pool"],
      ["se1_pool", "se1_fc1"],
      ["se1_fc1", "se1_fc2"],
      ["se1_fc2", "se1_gate"],
      ["inp", "se1_mul"],
      ["se1_gate", "se1_mul"],
    ]);
    expect(flat.outputs).toEqual(["se1_mul"]);
    expect(flat.composites).toBeUndefined();
  });

  it("keeps the definition while another node (or block) still uses it, and drops its library reference otherwise", () => {
    const grouped = groupSelection(chain(), ["conv", "bn"], "CB");
    grouped.nodes.push({ id: "cb2", type: "CB", params: {} });
    const once = ungroupNode(grouped, "cb");
    expect(once.composites?.CB).toBeDefined();
    const nested = groupSelection(chain(), ["conv", "bn"], "CB");
    nested.composites!.Outer = { nodes: [{ id: "in", type: "Input" }, { id: "b", type: "CB" }], edges: [["in", "b"]], inputs: ["in"], outputs: ["b"] };
    expect(ungroupNode(nested, "cb").composites?.CB).toBeDefined();
    const linked = groupSelection(chain(), ["conv", "bn"], "CB");
    linked.metadata = { name: "demo", library: { CB: { block: 3, version: 1 }, Other: { block: 4, version: 2 } } };
    const flat = ungroupNode(linked, "cb");
    expect(flat.metadata).toEqual({ name: "demo", library: { Other: { block: 4, version: 2 } } });
  });

  it("avoids id clashes and explains what cannot be ungrouped", () => {
    const grouped = groupSelection(chain(), ["conv", "bn"], "CB");
    grouped.nodes.push({ id: "cb_conv", type: "ReLU" });
    const flat = ungroupNode(grouped, "cb");
    expect(flat.nodes.map((n) => n.id)).toContain("cb_conv_2");
    expect(() => ungroupNode(chain(), "conv")).toThrow(/not a block defined in this graph/);
    expect(() => ungroupNode(chain(), "zzz")).toThrow(/no node `zzz`/);
    const needy = groupSelection(chain(), ["conv"], "Needy");
    needy.composites!.Needy.params = [{ name: "c", type: "int" }];
    expect(() => ungroupNode(needy, "needy")).toThrow(/no value for the block parameter "c"/);
  });

  it("lays out inner nodes without positions in rows below each other", () => {
    const grouped = groupSelection(chain(), ["conv", "bn", "act"], "ConvBNReLU");
    for (const node of grouped.composites!.ConvBNReLU.nodes) delete node.ui;
    const flat = ungroupNode(grouped, "conv_bn_relu");
    const ys = ["conv", "bn", "act"].map((id) => flat.nodes.find((n) => n.id === `conv_bn_relu_${id}`)!.ui!.y as number);
    expect(ys[0]).toBeLessThan(ys[1]);
    expect(ys[1]).toBeLessThan(ys[2]);
  });
});

describe("evaluateReference", () => {
  it("evaluates the engine's expressions", () => {
    expect(evaluateReference("$c", { c: 8 })).toBe(8);
    expect(evaluateReference("$flag", { flag: true })).toBe(true);
    expect(evaluateReference("$c // $r", { c: 10, r: 3 })).toBe(3);
    expect(evaluateReference("$c * 2 + 1", { c: 10 })).toBe(21);
    expect(evaluateReference("($c + 1) * 2", { c: 1 })).toBe(4);
    expect(evaluateReference(" $c - 3 ", { c: 1 })).toBe(-2);
    expect(evaluateReference("$c // 2", { c: -7 })).toBe(-4); // floor division, as in Python
  });

  it("refuses unknown names, other operators and non-numbers", () => {
    expect(() => evaluateReference("$d", { c: 1 })).toThrow(/unknown parameter "d" \(declared: c\)/);
    expect(() => evaluateReference("$c / 2", { c: 1 })).toThrow(/only use parameter names, integers and \+ - \* \/\//);
    expect(() => evaluateReference("$c ** 2", { c: 1 })).toThrow(/only use/);
    expect(() => evaluateReference("$a * 2", { a: "x" })).toThrow(/not a number/);
    expect(() => evaluateReference("$c // 0", { c: 1 })).toThrow(/divides by zero/);
  });
});
