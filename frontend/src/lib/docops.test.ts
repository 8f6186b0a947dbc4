import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { REGISTRY } from "../test/registry";
import {
  addNode,
  connect,
  connectionProblem,
  copyNodes,
  orderedInputs,
  pasteClip,
  removeItems,
  renameNode,
  reorderInputs,
  setDisabled,
  setInit,
  setLabel,
  setOutput,
  setParam,
  setPath,
  setStage,
  setTrainable,
} from "./docops";
import { SpecIndex } from "./specs";

const specs = new SpecIndex(REGISTRY);

function doc(): GraphDoc {
  return {
    version: "0.2",
    metadata: { name: "t" },
    nodes: [
      { id: "inp", type: "Input", params: {}, ui: { x: 0, y: 0 } },
      { id: "conv", type: "Conv1d", params: { out_channels: 8 }, ui: { x: 0, y: 100 } },
      { id: "ch", type: "Chunk", params: {}, ui: { x: 0, y: 200 } },
      { id: "cat", type: "Concat", params: {}, ui: { x: 0, y: 300 } },
      { id: "bil", type: "Bilinear", params: { out_features: 4 }, ui: { x: 200, y: 300 } },
      { id: "fc", type: "Linear", params: { out_features: 2 }, ui: { x: 0, y: 400 } },
    ],
    edges: [
      ["inp", "conv"],
      ["conv", "ch"],
      ["ch:0", "cat"],
      ["ch:1", "cat"],
      ["cat", "fc"],
    ],
    inputs: ["inp"],
    outputs: ["fc"],
  };
}

describe("connections", () => {
  it("refuses what is knowable client-side: Input targets, full ports, self loops, cycles", () => {
    const d = doc();
    expect(connectionProblem(d, specs, { source: "conv", target: "inp", targetHandle: "x" })).toMatch(/no inputs/);
    expect(connectionProblem(d, specs, { source: "inp", target: "conv", targetHandle: "x" })).toMatch(/one input/);
    expect(connectionProblem(d, specs, { source: "fc", target: "fc", targetHandle: "x" })).toMatch(/itself/);
    expect(connectionProblem(d, specs, { source: "fc", target: "bil", targetHandle: "x1" })).toBeNull();
    const withBil = connect(d, specs, { source: "fc", target: "bil", targetHandle: "x1" });
    expect(connectionProblem(withBil, specs, { source: "bil", target: "conv", targetHandle: "x" })).toMatch(/one input/);
    expect(connectionProblem(withBil, specs, { source: "conv", target: "bil", targetHandle: "x1" })).toMatch(/already connected/);
    const open = removeItems(withBil, [], [0]); // conv has no input now
    expect(connectionProblem(open, specs, { source: "bil", target: "conv", targetHandle: "x" })).toMatch(/cycle/);
    expect(connectionProblem(d, specs, { source: "conv", target: "cat", targetHandle: "in2" })).toBeNull(); // variadic: any number
  });

  it("builds edges with split outputs and named ports", () => {
    let d = connect(doc(), specs, { source: "ch", sourceHandle: "out1", target: "bil", targetHandle: "x2" });
    expect(d.edges.at(-1)).toEqual(["ch:1", "bil", "x2"]);
    d = connect(d, specs, { source: "conv", sourceHandle: "out", target: "bil", targetHandle: "x1" });
    expect(d.edges.at(-1)).toEqual(["conv", "bil", "x1"]);
  });

  it("inserts a variadic input at the slot it was dropped on, appends on the free slot", () => {
    const d = doc();
    const appended = connect(d, specs, { source: "conv", target: "cat", targetHandle: "in2" });
    expect(orderedInputs(appended, specs, "cat").map((e) => e[0])).toEqual(["ch:0", "ch:1", "conv"]);
    const first = connect(d, specs, { source: "conv", target: "cat", targetHandle: "in0" });
    expect(orderedInputs(first, specs, "cat").map((e) => e[0])).toEqual(["conv", "ch:0", "ch:1"]);
    expect(first.edges.filter((e) => e[1] !== "cat")).toEqual(d.edges.filter((e) => e[1] !== "cat"));
  });

  it("reorders variadic inputs, dropping numeric ports so edge order is the order", () => {
    const d = doc();
    d.edges[3] = ["ch:1", "cat", "0"];
    expect(orderedInputs(d, specs, "cat").map((e) => e[0])).toEqual(["ch:1", "ch:0"]);
    const swapped = reorderInputs(d, specs, "cat", 0, 1);
    expect(orderedInputs(swapped, specs, "cat")).toEqual([
      ["ch:0", "cat"],
      ["ch:1", "cat"],
    ]);
  });
});

describe("node edits", () => {
  it("marks outputs, replacing a new graph's placeholder Input output once the Input feeds a layer", () => {
    const starter = { ...doc(), outputs: ["inp"] };
    expect(setOutput(starter, "fc", true).outputs).toEqual(["fc"]);
    expect(setOutput(setOutput(starter, "fc", true), "conv", true).outputs).toEqual(["fc", "conv"]);
    expect(setOutput(doc(), "fc", false).outputs).toEqual([]);
    const lone = { ...doc(), edges: [], outputs: ["inp"] }; // an Input that feeds nothing is a real output
    expect(setOutput(lone, "fc", true).outputs).toEqual(["inp", "fc"]);
  });

  it("adds nodes with readable unique ids and declares Inputs", () => {
    const a = addNode(doc(), { type: "Conv1d", position: { x: 10.4, y: 20 } });
    expect(a.id).toBe("conv1d");
    expect(a.doc.nodes.at(-1)).toEqual({ id: "conv1d", type: "Conv1d", params: {}, ui: { x: 10, y: 20 } });
    const b = addNode(a.doc, { type: "Conv1d", position: { x: 0, y: 0 } });
    expect(b.id).toBe("conv1d_2");
    const c = addNode(b.doc, { type: "Input", position: { x: 0, y: 0 } });
    expect(c.doc.inputs).toEqual(["inp", "input"]);
  });

  it("removes nodes with their edges and interface entries", () => {
    const d = removeItems(doc(), ["cat"]);
    expect(d.edges).toEqual([
      ["inp", "conv"],
      ["conv", "ch"],
    ]);
    const e = removeItems(doc(), ["fc"], [0]);
    expect(e.outputs).toEqual([]);
    expect(e.edges[0]).toEqual(["conv", "ch"]);
  });

  it("renames a node everywhere, split sources included", () => {
    const d = renameNode(doc(), "ch", "split");
    expect(d.edges).toContainEqual(["split:0", "cat"]);
    expect(d.edges).toContainEqual(["conv", "split"]);
    const e = renameNode(doc(), "fc", "head");
    expect(e.outputs).toEqual(["head"]);
    expect(renameNode(doc(), "fc", "conv")).toEqual(doc()); // taken: unchanged
  });

  it("sets and unsets params, labels and the ablation flag without touching other nodes", () => {
    const base = doc();
    let d = setParam(base, "conv", "kernel_size", [3]);
    expect(d.nodes[1].params).toEqual({ out_channels: 8, kernel_size: [3] });
    expect(d.nodes[0]).toBe(base.nodes[0]);
    d = setParam(d, "conv", "kernel_size", undefined);
    expect(d.nodes[1].params).toEqual({ out_channels: 8 });
    expect(setParam(d, "conv", "out_channels", 8)).toBe(d);
    d = setLabel(setDisabled(d, "conv", true), "conv", "Stem");
    expect(d.nodes[1]).toMatchObject({ disabled: true, label: "Stem" });
    d = setLabel(setDisabled(d, "conv", false), "conv", "");
    expect("disabled" in d.nodes[1] || "label" in d.nodes[1]).toBe(false);
  });
});

describe("module paths", () => {
  it("sets a path, keeps it through a rename and removes the key when cleared", () => {
    const base = doc();
    let d = setPath(base, "conv", "features.0");
    expect(d.nodes[1]).toEqual({ ...base.nodes[1], path: "features.0" });
    expect(d.nodes[0]).toBe(base.nodes[0]);
    expect(setPath(d, "conv", "features.0")).toBe(d);
    d = renameNode(d, "conv", "stem");
    expect(d.nodes[1].path).toBe("features.0");
    d = setPath(d, "stem", "");
    expect("path" in d.nodes[1]).toBe(false);
  });

  it("pastes copies without the path: two nodes cannot share one", () => {
    const d = setPath(setPath(doc(), "conv", "features.0"), "ch", "features.1");
    const clip = copyNodes(d, ["conv", "ch"])!;
    expect(clip.nodes.map((n) => n.path)).toEqual(["features.0", "features.1"]);
    const pasted = pasteClip(d, clip, { x: 40, y: 40 });
    const copies = pasted.doc.nodes.filter((n) => pasted.ids.includes(n.id));
    expect(copies.map((n) => "path" in n)).toEqual([false, false]);
    expect(copies[0]).toMatchObject({ type: "Conv1d", params: { out_channels: 8 } });
    // The originals keep theirs, and so does the clip (pasting again still gives path-less copies).
    expect(pasted.doc.nodes.slice(0, 3).map((n) => n.path)).toEqual([undefined, "features.0", "features.1"]);
    expect(clip.nodes[0].path).toBe("features.0");
  });

  it("keeps paths inside the block definitions a clip carries", () => {
    const d = doc();
    d.nodes.push({ id: "blk", type: "Blk", params: {}, path: "layer1.0" });
    d.composites = { Blk: { nodes: [{ id: "i", type: "Input" }, { id: "c", type: "ReLU", path: "relu" }], edges: [["i", "c"]], inputs: ["i"], outputs: ["c"] } };
    const pasted = pasteClip(doc(), copyNodes(d, ["blk"])!, { x: 0, y: 0 });
    expect(pasted.doc.composites).toEqual(d.composites);
    expect("path" in pasted.doc.nodes[pasted.doc.nodes.length - 1]).toBe(false);
  });
});

describe("copy and paste", () => {
  it("pastes fresh ids, keeps edges among the copied nodes, offsets positions", () => {
    const d = doc();
    const clip = copyNodes(d, ["conv", "ch", "cat"])!;
    expect(clip.edges).toEqual([
      ["conv", "ch"],
      ["ch:0", "cat"],
      ["ch:1", "cat"],
    ]);
    const pasted = pasteClip(d, clip, { x: 50, y: 10 });
    expect(pasted.ids).toEqual(["conv1d", "chunk", "concat"]);
    expect(pasted.doc.edges.slice(-3)).toEqual([
      ["conv1d", "chunk"],
      ["chunk:0", "concat"],
      ["chunk:1", "concat"],
    ]);
    expect(pasted.doc.nodes.find((n) => n.id === "chunk")!.ui).toEqual({ x: 50, y: 210 });
    const again = pasteClip(pasted.doc, clip, { x: 0, y: 0 });
    expect(again.ids).toEqual(["conv1d_2", "chunk_2", "concat_2"]);
    expect(new Set(again.doc.nodes.map((n) => n.id)).size).toBe(again.doc.nodes.length);
  });

  it("carries block definitions into documents that lack them", () => {
    const d = doc();
    d.nodes.push({ id: "blk", type: "Blk", params: {}, ui: { x: 0, y: 0 } });
    d.composites = { Blk: { nodes: [{ id: "i", type: "Input" }], edges: [], inputs: ["i"], outputs: ["i"] } };
    const clip = copyNodes(d, ["blk"])!;
    const target = doc();
    const pasted = pasteClip(target, clip, { x: 0, y: 0 });
    expect(pasted.doc.composites).toEqual(d.composites);
  });
});

describe("the training recipe's node fields and named outputs", () => {
  function named(): GraphDoc {
    return { ...doc(), outputs: { logits: "fc", second: "ch:1" } };
  }

  it("freezes with trainable: false and removes the key when trained again", () => {
    const frozen = setTrainable(doc(), "conv", false);
    expect(frozen.nodes[1]).toEqual({ id: "conv", type: "Conv1d", params: { out_channels: 8 }, ui: { x: 0, y: 100 }, trainable: false });
    const again = setTrainable(frozen, "conv", true);
    expect("trainable" in again.nodes[1]).toBe(false);
    expect(setTrainable(again, "conv", true)).toBe(again);
  });

  it("sets the stage and the init, and removes them with undefined", () => {
    const staged = setStage(doc(), "fc", "metrics");
    expect(staged.nodes[5].stage).toBe("metrics");
    expect("stage" in setStage(staged, "fc", undefined).nodes[5]).toBe(false);
    const init = setInit(doc(), "conv", { type: "normal", std: 0.01 });
    expect(init.nodes[1].init).toEqual({ type: "normal", std: 0.01 });
    expect(setInit(init, "conv", { type: "normal", std: 0.01 })).toBe(init);
  });

  it("renames and removes through named outputs and port refs, keeping the names", () => {
    expect(renameNode(named(), "ch", "halves").outputs).toEqual({ logits: "fc", second: "halves:1" });
    expect(renameNode(named(), "fc", "head").outputs).toEqual({ logits: "head", second: "ch:1" });
    expect(removeItems(named(), ["ch"]).outputs).toEqual({ logits: "fc" });
    expect(removeItems(doc(), ["fc"]).outputs).toEqual([]);
  });

  it("ticks and unticks a model output in the named form", () => {
    const ticked = setOutput(named(), "conv", true);
    expect(ticked.outputs).toEqual({ logits: "fc", second: "ch:1", conv: "conv" });
    expect(setOutput(ticked, "fc", false).outputs).toEqual({ second: "ch:1", conv: "conv" });
  });

  it("copies and pastes a frozen node with its stage and init", () => {
    const source = setInit(setStage(setTrainable(doc(), "conv", false), "conv", "model"), "conv", "xavier_uniform");
    const pasted = pasteClip(doc(), copyNodes(source, ["conv"])!, { x: 10, y: 10 });
    const copy = pasted.doc.nodes.find((n) => n.id === pasted.ids[0])!;
    expect({ trainable: copy.trainable, stage: copy.stage, init: copy.init }).toEqual({ trainable: false, stage: "model", init: "xavier_uniform" });
  });
});
