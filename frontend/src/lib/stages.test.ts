/// <reference types="node" />
// @vitest-environment node
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { GraphDoc, ValidateResult } from "../graph";
import { REGISTRY } from "../test/registry";
import { toFlow } from "./convert";
import { SpecIndex } from "./specs";
import { stageKeyOf } from "./graphutil";
import { collapsedView, collapseFlow, collapsibleStages, expandInstances, stageCardId } from "./stages";

const TEMPLATES = new URL("../../../codegen/templates/", import.meta.url);
const template = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, TEMPLATES), "utf-8")) as GraphDoc;

/** input → stem → a.0 → a.1 → b.0 → b.1 (b.1 also gets a skip from a.0) → head */
function staged(): GraphDoc {
  const node = (id: string, path?: string) => ({ id, type: "ReLU", ...(path ? { path } : {}), ui: { x: 0, y: 0 } });
  return {
    version: "0.2",
    nodes: [{ id: "input", type: "Input", ui: { x: 0, y: 0 } }, node("stem", "stem"), node("a0", "a.0"), node("a1", "a.1"), node("b0", "b.0"), { ...node("b1", "b.1"), type: "Add" }, node("head", "head")],
    edges: [
      ["input", "stem"],
      ["stem", "a0"],
      ["a0", "a1"],
      ["a1", "b0"],
      ["b0", "b1"],
      ["a0", "b1"],
      ["b1", "head"],
    ],
    inputs: ["input"],
    outputs: ["head"],
  };
}

describe("module stages", () => {
  it("are the containers one level below the ones every path shares", () => {
    const keyOf = stageKeyOf(template("densenet121").nodes);
    expect(keyOf("features.denseblock1.denselayer3")).toBe("features.denseblock1");
    expect(keyOf("features.conv0")).toBeNull();
    expect(keyOf(undefined)).toBeNull();
    expect(collapsibleStages(template("resnet50")).map((s) => [s.key, s.members.length])).toEqual([
      ["layer1", 3],
      ["layer2", 4],
      ["layer3", 6],
      ["layer4", 3],
    ]);
    expect(collapsibleStages(template("unet_small")).map((s) => s.key)).toEqual(["enc1", "enc2", "bottleneck", "dec2", "dec1"]);
  });

  it("need two nodes to be worth collapsing, and a graph without paths has none", () => {
    const doc = staged();
    doc.nodes = doc.nodes.filter((n) => n.id !== "a1");
    expect(collapsibleStages(doc).map((s) => s.key)).toEqual(["b"]);
    expect(collapsibleStages({ ...doc, nodes: doc.nodes.map((n) => ({ ...n, path: undefined })) })).toEqual([]);
  });
});

describe("the collapsed view", () => {
  it("draws each collapsed stage as one card, laid out with the rest", () => {
    const doc = staged();
    const view = collapsedView(doc, collapsibleStages(doc), new Set(["a"]), "TB");
    expect(view.drawnAs.get("a0")).toBe(stageCardId("a"));
    expect(view.drawnAs.get("b0")).toBe("b0");
    expect([...view.positions.keys()].sort()).toEqual(["@a", "b0", "b1", "head", "input", "stem"]);
    // the card has a place of its own in the drawing
    const card = view.positions.get("@a")!;
    for (const [id, p] of view.positions) if (id !== "@a") expect(Math.abs(p.x - card.x) >= 240 || Math.abs(p.y - card.y) >= 120, id).toBe(true);
  });

  it("draws edges into and out of a stage to its card, once per pair of ends, and leaves out its inner edges", () => {
    const doc = staged();
    const specs = new SpecIndex(REGISTRY);
    const validation = {
      valid: true,
      diagnostics: [],
      shapes: { a1: [2, 8] },
      params: { a0: 10, a1: 5 },
    } as unknown as ValidateResult;
    const flow = toFlow(doc, { specs, validation });
    const view = collapsedView(doc, collapsibleStages(doc), new Set(["a"]), "TB");
    const drawn = collapseFlow(flow, doc, view, validation, "TB");
    expect(drawn.nodes.map((n) => n.id).sort()).toEqual(["@a", "b0", "b1", "head", "input", "stem"]);
    const ends = drawn.edges.map((e) => `${e.source}->${e.target}`);
    expect(ends).toEqual(["input->stem", "stem->@a", "@a->b0", "b0->b1", "@a->b1", "b1->head"]);
    const card = drawn.nodes.find((n) => n.id === "@a")!;
    expect(card.type).toBe("stage");
    expect(card.data).toMatchObject({ key: "a", count: 2, paramCount: "15", shape: "(2, 8)" });
    expect(drawn.edges.find((e) => e.source === "@a" && e.target === "b0")!.sourceHandle).toBe("out");
  });
});

describe("a block expanded in place", () => {
  const golden = JSON.parse(readFileSync(new URL("../../../tests/codegen/golden/composite_ports/graph.json", import.meta.url), "utf-8")) as GraphDoc;

  it("is drawn as its own nodes, wired as the instance was (inputs by port, outputs by index)", () => {
    const { doc, inner } = expandInstances(golden, new Set(["up1", "heads"]));
    // the blocks' Input nodes are not drawn: what fed the instance feeds what they fed
    expect(doc.nodes.map((n) => n.id)).toEqual(["image", "enc", "down", "bottom", "up1/up", "up1/cat", "up1/conv", "up1/bn", "up1/act", "heads/halves", "heads/left", "heads/right", "heads/right_act", "merge", "classifier"]);
    expect(inner.get("up1/cat")).toBe("up1");
    expect(inner.has("enc")).toBe(false);
    const edges = doc.edges.map((e) => e.join(" "));
    expect(edges).toEqual(
      expect.arrayContaining([
        "bottom up1/up", // port x
        "enc up1/cat", // port skip
        "up1/up up1/cat",
        "up1/act heads/halves", // up1's output feeds heads' input
        "heads/left merge", // heads:0
        "heads/right_act merge", // heads:1
        "heads/halves:1 heads/right",
        "heads/right:1 heads/right_act",
      ]),
    );
    // the 6 outer edges that do not end in an instance, and every edge of the two blocks (6 + 4), re-aimed
    expect(edges).toHaveLength(6 + 6 + 4);
    expect(doc.nodes.find((n) => n.id === "up1/conv")!.label).toBe("conv");
  });

  it("leaves the document alone when nothing (or no block) is expanded", () => {
    expect(expandInstances(golden, new Set()).doc).toBe(golden);
    expect(expandInstances(golden, new Set(["enc"])).doc).toBe(golden);
  });

  it("copes with a malformed block and with blocks that pass their input straight out in a cycle", () => {
    const pass = { nodes: [{ id: "x", type: "Input" }], edges: [], inputs: ["x"], outputs: ["x"] };
    const doc: GraphDoc = {
      version: "0.2",
      nodes: [
        { id: "a", type: "Pass" },
        { id: "b", type: "Pass" },
        { id: "c", type: "Broken" },
      ],
      edges: [
        ["a", "b"],
        ["b", "a"],
        ["b", "c"],
      ],
      inputs: [],
      outputs: [],
      composites: { Pass: pass, Broken: { nodes: [{ id: "y", type: "ReLU" }], edges: [["ghost", "y"]], inputs: [], outputs: [] } },
    };
    // blocks with nothing to draw stay instances; a broken one draws what it has
    const { doc: drawn } = expandInstances(doc, new Set(["a", "b", "c"]));
    expect(drawn.nodes.map((n) => n.id)).toEqual(["a", "b", "c/y"]);
    expect(drawn.edges).toEqual([["a", "b"], ["b", "a"], ["c/ghost", "c/y"]]); // dangling, as in the block: not drawn
    // identity blocks in a cycle, once they have something to draw, do not send the walk round for ever
    const loop = { ...doc, composites: { ...doc.composites, Pass: { ...pass, nodes: [...pass.nodes, { id: "z", type: "ReLU" }] } } };
    expect(() => expandInstances(loop, new Set(["a", "b"]))).not.toThrow();
  });
});
