import { describe, expect, it } from "vitest";
import type { GraphDoc, ValidateResult } from "../graph";
import { REGISTRY } from "../test/registry";
import { FlowBuilder, fromFlow, toFlow } from "./convert";
import { SpecIndex } from "./specs";

const specs = new SpecIndex(REGISTRY);

function sample(): GraphDoc {
  return {
    version: "0.2",
    metadata: { name: "demo", tags: ["x"], library: { MyBlock: { block: 3, version: 1 } } },
    nodes: [
      { id: "inp", type: "Input", params: { shape: [9, 256] }, ui: { x: 0, y: 0, collapsed: true } },
      { id: "conv", type: "Conv1d", params: { out_channels: 64, kernel_size: 5, padding: "same" }, label: "First conv", ui: { x: 0, y: 150 } },
      { id: "ch", type: "Chunk", params: { chunks: 3 }, ui: { x: 0, y: 300 } },
      { id: "cat", type: "Concat", params: { dim: 1 }, disabled: true, ui: { x: 0, y: 450 } },
      { id: "bil", type: "Bilinear", params: { out_features: 8 }, ui: { x: 200, y: 450 } },
      { id: "blk", type: "MyBlock", params: { c: 4 }, ui: { x: 400, y: 450 } },
    ],
    edges: [
      ["inp", "conv"],
      ["conv", "ch"],
      ["ch:2", "cat"],
      ["ch:0", "cat"],
      ["ch:1", "cat", "0"],
      ["ch:0", "bil", "x2"],
      ["ch:1", "bil"],
      ["conv", "blk"],
    ],
    inputs: ["inp"],
    outputs: ["cat", "bil", "blk"],
    composites: {
      MyBlock: {
        params: [{ name: "c", type: "int", default: 16 }],
        nodes: [{ id: "in", type: "Input" }, { id: "r", type: "ReLU" }],
        edges: [["in", "r"]],
        inputs: ["in"],
        outputs: ["r"],
      },
    },
  };
}

describe("toFlow / fromFlow", () => {
  it("round-trips the document exactly when every node has a position", () => {
    const doc = sample();
    const copy = structuredClone(doc);
    const flow = toFlow(doc, { specs });
    expect(fromFlow(flow.nodes, flow.edges, doc)).toEqual(copy);
  });

  it("keeps module paths through the canvas, on nodes and inside block definitions", () => {
    const doc = sample();
    doc.nodes[1].path = "features.0";
    doc.nodes[5].path = "layer1.0";
    doc.composites!.MyBlock.nodes[1].path = "relu";
    const copy = structuredClone(doc);
    const flow = toFlow(doc, { specs });
    expect(flow.nodes[1].data.node.path).toBe("features.0");
    // A drag rewrites `ui` only; the path stays.
    const moved = flow.nodes.map((n) => (n.id === "conv" ? { ...n, position: { x: 10, y: 20 } } : n));
    const back = fromFlow(moved, flow.edges, doc);
    expect(back.nodes[1]).toEqual({ ...copy.nodes[1], ui: { x: 10, y: 20 } });
    expect(back.nodes[5].path).toBe("layer1.0");
    expect(back.composites).toEqual(copy.composites);
  });

  it("keeps unknown keys at every level", () => {
    const doc = sample() as GraphDoc & { extra?: unknown };
    (doc as unknown as Record<string, unknown>).extra = { keep: 1 };
    (doc.nodes[1] as unknown as Record<string, unknown>).note = "kept";
    const flow = toFlow(doc, { specs });
    const back = fromFlow(flow.nodes, flow.edges, doc) as unknown as Record<string, unknown>;
    expect(back.extra).toEqual({ keep: 1 });
    expect((back.nodes as Record<string, unknown>[])[1].note).toBe("kept");
    expect((back.metadata as Record<string, unknown>).library).toEqual({ MyBlock: { block: 3, version: 1 } });
  });

  it("maps split outputs to numbered source handles", () => {
    const flow = toFlow(sample(), { specs });
    const fromChunk = flow.edges.filter((e) => e.source === "ch");
    expect(fromChunk.map((e) => e.sourceHandle)).toEqual(["out2", "out0", "out1", "out0", "out1"]);
    const conv = flow.edges.find((e) => e.source === "conv" && e.target === "ch")!;
    expect(conv.sourceHandle).toBe("out");
    expect(flow.nodes.find((n) => n.id === "ch")!.data.outCount).toBe(3);
  });

  it("numbers variadic inputs in argument order (numeric ports first, then edge order)", () => {
    const flow = toFlow(sample(), { specs });
    const intoCat = flow.edges.filter((e) => e.target === "cat");
    // ch:1 carries port "0", so it is argument 0; then ch:2 and ch:0 in edge order.
    expect(intoCat.map((e) => [e.data!.edge[0], e.targetHandle])).toEqual([
      ["ch:2", "in1"],
      ["ch:0", "in2"],
      ["ch:1", "in0"],
    ]);
    expect(intoCat.map((e) => e.data!.slot)).toEqual(["1", "2", "0"]);
    expect(flow.nodes.find((n) => n.id === "cat")!.data.inCount).toBe(3);
  });

  it("puts named ports on their handle and fills free ports in edge order", () => {
    const flow = toFlow(sample(), { specs });
    const intoBil = flow.edges.filter((e) => e.target === "bil");
    expect(intoBil.map((e) => e.targetHandle)).toEqual(["x2", "x1"]);
  });

  it("treats the document's composites as one-in one-out nodes", () => {
    const flow = toFlow(sample(), { specs });
    const blk = flow.nodes.find((n) => n.id === "blk")!;
    expect(blk.data.info.userComposite).toBe(true);
    expect(blk.data.info.unknown).toBe(false);
    expect(flow.edges.find((e) => e.target === "blk")!.targetHandle).toBe("x");
  });

  it("lays out nodes without positions and only adds ui positions on the way back", () => {
    const doc = sample();
    for (const node of doc.nodes) delete node.ui;
    const flow = toFlow(doc, { specs });
    const ys = flow.nodes.map((n) => n.position.y);
    expect(new Set(ys).size).toBeGreaterThan(2); // dagre ranks them top to bottom
    expect(flow.nodes.find((n) => n.id === "inp")!.position.y).toBeLessThan(flow.nodes.find((n) => n.id === "conv")!.position.y);
    const back = fromFlow(flow.nodes, flow.edges, doc);
    const stripped = { ...back, nodes: back.nodes.map(({ ui, ...rest }) => (void ui, rest)) };
    expect(stripped).toEqual(doc);
    expect(back.nodes.every((n) => typeof n.ui?.x === "number")).toBe(true);
  });

  it("writes moved positions into ui and keeps other ui keys", () => {
    const doc = sample();
    const flow = toFlow(doc, { specs });
    flow.nodes[0] = { ...flow.nodes[0], position: { x: 40.4, y: -12 } };
    const back = fromFlow(flow.nodes, flow.edges, doc);
    expect(back.nodes[0].ui).toEqual({ x: 40, y: -12, collapsed: true });
    expect(back.nodes[1]).toBe(doc.nodes[1]);
  });

  it("keeps dangling edges (hidden on the canvas, kept in the document)", () => {
    const doc = sample();
    doc.edges.push(["ghost", "conv"]);
    const flow = toFlow(doc, { specs });
    expect(flow.edges.at(-1)!.hidden).toBe(true);
    expect(fromFlow(flow.nodes, flow.edges, doc).edges).toEqual(doc.edges);
  });

  it("builds new edges from handles: output index and named port", () => {
    const doc = sample();
    const flow = toFlow(doc, { specs });
    const extra = { id: "new", source: "ch", sourceHandle: "out2", target: "bil", targetHandle: "x1" } as (typeof flow.edges)[number];
    const back = fromFlow(flow.nodes, [...flow.edges, extra], doc);
    expect(back.edges.at(-1)).toEqual(["ch:2", "bil", "x1"]);
  });

  it("labels edges with the source output's shape and marks nodes with diagnostics", () => {
    const doc = sample();
    const validation: ValidateResult = {
      ok: false,
      diagnostics: [
        { severity: "error", code: "SHAPE", message: "bad", node: "bil", edge: ["ch", "bil"] },
        { severity: "warning", code: "DEAD_NODE", message: "dead", node: "bil" },
      ],
      shapes: { conv: ["B", 64, 256], ch: [["B", 22, 256], ["B", 21, 256], ["B", 21, 256]] },
      params: { conv: 2944 },
    };
    const flow = toFlow(doc, { specs, validation });
    expect(flow.edges.find((e) => e.source === "conv" && e.target === "ch")!.data!.shape).toBe("(B, 64, 256)");
    expect(flow.edges.find((e) => e.data!.edge[0] === "ch:2")!.data!.shape).toBe("(B, 21, 256)");
    expect(flow.edges.find((e) => e.data!.edge[0] === "ch:0" && e.target === "bil")!.data!.severity).toBe("error");
    const bil = flow.nodes.find((n) => n.id === "bil")!.data;
    expect([bil.errors, bil.warnings]).toEqual([1, 1]);
    expect(flow.nodes.find((n) => n.id === "conv")!.data.paramCount).toBe("2.9k");
  });

  it("reuses node objects that did not change (memoised rendering)", () => {
    const builder = new FlowBuilder();
    const doc = sample();
    const first = builder.build(doc, { specs });
    const moved = { ...doc, nodes: doc.nodes.map((n) => (n.id === "conv" ? { ...n, ui: { x: 5, y: 5 } } : n)) };
    const second = builder.build(moved, { specs });
    expect(second.nodes[0]).toBe(first.nodes[0]);
    expect(second.nodes[1]).not.toBe(first.nodes[1]);
    const selected = builder.build(moved, { specs, selectedNodes: new Set(["inp"]) });
    expect(selected.nodes[0]).not.toBe(second.nodes[0]);
    expect(selected.nodes[0].data).toBe(second.nodes[0].data);
    expect(selected.nodes[2]).toBe(second.nodes[2]);
  });

  it("gives the same lists again when no object in them changed (React Flow then keeps its lookups)", () => {
    const builder = new FlowBuilder();
    const doc = sample();
    const first = builder.build(doc, { specs });
    const again = builder.build({ ...doc }, { specs });
    expect(again.nodes).toBe(first.nodes);
    expect(again.edges).toBe(first.edges);
    const selected = builder.build(doc, { specs, selectedNodes: new Set(["inp"]) });
    expect(selected.nodes).not.toBe(first.nodes);
    expect(selected.edges).toBe(first.edges); // selecting a node changes no edge
  });
});

describe("handles of edges that run against the flow", () => {
  // input → down → up: `up` sits above `down` in the same column (a U's decoder arm); `side` starts a new
  // column to the right (a wrapped drawing), which is not against the flow.
  const doc: GraphDoc = {
    version: "0.2",
    nodes: [
      { id: "input", type: "Input", params: { shape: [4] }, ui: { x: 0, y: 0 } },
      { id: "down", type: "ReLU", ui: { x: 0, y: 400 } },
      { id: "up", type: "ReLU", ui: { x: 0, y: 200 } },
      { id: "side", type: "ReLU", ui: { x: 600, y: 0 } },
    ],
    edges: [
      ["input", "down"],
      ["down", "up"],
      ["up", "side"],
    ],
    inputs: ["input"],
    outputs: ["side"],
  };

  it("puts them on the far side of both nodes, in either direction", () => {
    const byId = (dir: "TB" | "LR", d: GraphDoc) => new Map(toFlow(d, { specs, dir }).nodes.map((n) => [n.id, n.data]));
    const tb = byId("TB", doc);
    expect([tb.get("down")!.reverseIn, tb.get("down")!.reverseOut]).toEqual([false, true]);
    expect([tb.get("up")!.reverseIn, tb.get("up")!.reverseOut]).toEqual([true, false]);
    expect([tb.get("side")!.reverseIn, tb.get("side")!.reverseOut]).toEqual([false, false]);
    const transposed = { ...doc, nodes: doc.nodes.map((n) => ({ ...n, ui: { x: n.ui!.y as number, y: n.ui!.x as number } })) };
    const lr = byId("LR", transposed);
    expect([lr.get("up")!.reverseIn, lr.get("down")!.reverseOut, lr.get("side")!.reverseIn]).toEqual([true, true, false]);
  });
});
