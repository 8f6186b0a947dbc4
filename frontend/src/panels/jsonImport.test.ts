/// <reference types="node" />
// @vitest-environment node
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkGraph, isYaml, parseGraphJson } from "./jsonImport";

/** A seed document as the engine's golden tests keep it (tests/codegen/golden/<name>/graph.json); no "version". */
function seedDocument(name: string): string {
  return readFileSync(new URL(`../../../tests/codegen/golden/${name}/graph.json`, import.meta.url), "utf-8");
}

const SEED_1D = seedDocument("seed_1d_demo");
const SEED_VGG = seedDocument("seed_vgg16_brief");

describe("parseGraphJson", () => {
  it("loads the seed's documents unchanged (version 0.2 is the default)", () => {
    const doc = parseGraphJson(SEED_1D);
    const { version, ...rest } = doc;
    expect(version).toBe("0.2");
    expect(rest).toEqual(JSON.parse(SEED_1D));
    const vgg = parseGraphJson(SEED_VGG);
    expect(vgg.nodes[1].params).toEqual({ c1: 64, c2: 64, k: 3, pool: true });
  });

  it("keeps the compatible extensions: shapes, ports, split outputs, labels, ui, composites, metadata", () => {
    const doc = {
      version: "0.2",
      metadata: { name: "x", tags: ["a"] },
      nodes: [
        { id: "inp", type: "Input", params: { shape: [3, 32, 32] }, ui: { x: 1, y: 2 } },
        { id: "split", type: "Chunk", params: { chunks: 2 }, label: "Split", disabled: false },
        { id: "bil", type: "Bilinear", params: { out_features: 4 } },
        { id: "blk", type: "MyBlock" },
      ],
      edges: [
        ["inp", "split"],
        ["split:0", "bil", "x1"],
        ["split:1", "bil", "x2"],
        ["bil", "blk"],
      ],
      inputs: ["inp"],
      outputs: ["blk"],
      composites: {
        MyBlock: { params: [{ name: "c", type: "int", default: 4 }], nodes: [{ id: "in", type: "Input" }, { id: "fc", type: "Linear", params: { out_features: "$c" } }], edges: [["in", "fc"]], inputs: ["in"], outputs: ["fc"] },
      },
    };
    expect(checkGraph(doc)).toEqual(doc);
  });

  it("keeps module paths on nodes and inside blocks, drops a null one and refuses one that is not text", () => {
    const doc = {
      version: "0.2",
      nodes: [
        { id: "inp", type: "Input" },
        { id: "conv", type: "Conv2d", params: { out_channels: 64, kernel_size: 3 }, path: "features.0" },
        { id: "blk", type: "Stage", path: "layer1.0" },
      ],
      edges: [
        ["inp", "conv"],
        ["conv", "blk"],
      ],
      inputs: ["inp"],
      outputs: ["blk"],
      composites: {
        Stage: { nodes: [{ id: "in", type: "Input" }, { id: "c1", type: "ReLU", path: "conv1" }], edges: [["in", "c1"]], inputs: ["in"], outputs: ["c1"] },
      },
    };
    expect(checkGraph(doc)).toEqual(doc);
    // A malformed path still loads: the engine's PATH diagnostic names the node and the properties panel fixes it.
    expect(parseGraphJson('{"nodes": [{"id": "a", "type": "ReLU", "path": "a..b"}]}').nodes[0].path).toBe("a..b");
    expect("path" in parseGraphJson('{"nodes": [{"id": "a", "type": "ReLU", "path": null}]}').nodes[0]).toBe(false);
    expect(() => parseGraphJson('{"nodes": [{"id": "a", "type": "ReLU", "path": ["features", 0]}]}')).toThrow(
      'nodes[0].path must be a dotted module path (text), e.g. "features.0".',
    );
  });

  it("fills in missing edges, inputs and outputs, and drops null params", () => {
    const doc = parseGraphJson('{"nodes": [{"id": "a", "type": "Input", "params": null}]}');
    expect(doc).toEqual({ version: "0.2", nodes: [{ id: "a", type: "Input" }], edges: [], inputs: [], outputs: [] });
  });

  it("explains what is wrong, with the path", () => {
    const bad = (text: string) => () => parseGraphJson(text);
    expect(bad("")).toThrow("Paste a graph document (JSON) or choose a file first.");
    expect(bad("{nodes: []}")).toThrow(/^This is not valid JSON: /);
    expect(bad("[1, 2]")).toThrow("The document must be a JSON object with nodes, edges, inputs and outputs, not a list.");
    expect(bad('{"version": "0.3", "nodes": []}')).toThrow('version: expected "0.2", got "0.3".');
    expect(bad('{"version": 0.2, "nodes": []}')).toThrow('version: expected "0.2", got 0.2.');
    expect(bad('{"edges": []}')).toThrow("nodes is missing: a graph lists its nodes.");
    expect(bad('{"nodes": {}}')).toThrow("nodes must be a list of nodes, not an object.");
    expect(bad('{"nodes": [{"id": "a", "type": "Input"}, {"id": "b", "type": "ReLU"}, {"type": "ReLU"}]}')).toThrow("nodes[2] has no id.");
    expect(bad('{"nodes": [{"id": "a"}]}')).toThrow("nodes[0] (a) has no type.");
    expect(bad('{"nodes": [{"id": 7, "type": "ReLU"}]}')).toThrow("nodes[0].id must be a non-empty string, not 7.");
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU", "params": [1]}]}')).toThrow("nodes[0].params must be an object, not a list.");
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU", "parms": {}}]}')).toThrow(/^nodes\[0\]\.parms: unknown field \(allowed: disabled, id, init, label, params, path, stage, trainable, type, ui\)\.$/);
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU"}, {"id": "a", "type": "ReLU"}]}')).toThrow('nodes[1] has the id "a" of nodes[0]: ids must be unique.');
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU"}], "edges": [["a"]]}')).toThrow('edges[0] must be [source, target] or [source, target, port] (strings), not ["a"].');
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU"}], "edges": [["a", "b"]]}')).toThrow('edges[0] ends at "b", which is not a node.');
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU"}], "edges": [["z:1", "a"]]}')).toThrow('edges[0] starts at "z:1", which is not a node.');
    expect(bad('{"nodes": [], "outputs": "fc"}')).toThrow('outputs must be a list of node ids, not "fc".');
    expect(bad('{"nodes": [], "outputs": {"mean": 1}}')).toThrow("outputs must map output names to node ids (strings).");
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU", "stage": "train"}]}')).toThrow('nodes[0].stage must be one of model, loss, metrics, not "train".');
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU", "trainable": "no"}]}')).toThrow("nodes[0].trainable must be true or false.");
    expect(bad('{"nodes": [{"id": "a", "type": "ReLU", "init": {"std": 1}}]}')).toThrow('nodes[0].init must be an init type such as "kaiming_uniform", or an object with a type.');
    expect(bad('{"nodes": [], "training": []}')).toThrow("training must be an object with optimizer and scheduler, not a list.");
    expect(bad('{"nodes": [], "inputs": [1]}')).toThrow("inputs[0] must be a node id (a string), not 1.");
    expect(bad('{"nodes": [], "extra": 1}')).toThrow(/^extra: unknown field/);
    expect(bad('{"nodes": [], "composites": {"lower": {"nodes": []}}}')).toThrow("composites.lower: block names are ASCII identifiers starting with a capital letter.");
    expect(bad('{"nodes": [], "composites": {"B": {"nodes": [{"id": "in"}]}}}')).toThrow("composites.B.nodes[0] (in) has no type.");
  });
});

describe("isYaml", () => {
  it("goes by a file's suffix, else by whether the text opens as JSON does", () => {
    expect(isYaml("{a: 1}", "graph.YML")).toBe(true);
    expect(isYaml("nodes: []", "graph.json")).toBe(false);
    expect(isYaml("nodes: []", "graph.txt")).toBe(true);
    expect(isYaml("  \n {\"nodes\": []}")).toBe(false);
    expect(isYaml("[]")).toBe(false);
    expect(isYaml("   ")).toBe(false);
    expect(isYaml("version: '0.2'")).toBe(true);
  });
});
