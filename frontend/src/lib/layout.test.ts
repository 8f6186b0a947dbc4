/// <reference types="node" />
// @vitest-environment node
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { GraphDoc, GraphEdge, GraphNode } from "../graph";
import { type Direction, encoderDecoder, layoutPositions, moduleStages, NODE_HEIGHT, NODE_WIDTH, STAGED_MIN_NODES, WRAP_MIN_RANKS } from "./layout";

const TEMPLATES = new URL("../../../codegen/templates/", import.meta.url);
const TEMPLATE_NAMES = readdirSync(TEMPLATES)
  .filter((name) => name.endsWith(".json"))
  .sort();
const template = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, TEMPLATES), "utf-8")) as GraphDoc;

type Positions = Map<string, { x: number; y: number }>;

function overlapping(positions: Positions): string[] {
  // Sorted by x, a box can only overlap the boxes that start less than a node width to its right.
  const boxes = [...positions].sort((a, b) => a[1].x - b[1].x);
  const found: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length && boxes[j][1].x - boxes[i][1].x < NODE_WIDTH; j++) {
      if (Math.abs(boxes[j][1].y - boxes[i][1].y) < NODE_HEIGHT) found.push(`${boxes[i][0]} / ${boxes[j][0]}`);
    }
  }
  return found;
}

function aspect(positions: Positions): number {
  const xs = [...positions.values()].map((p) => p.x);
  const ys = [...positions.values()].map((p) => p.y);
  return (Math.max(...xs) + NODE_WIDTH - Math.min(...xs)) / (Math.max(...ys) + NODE_HEIGHT - Math.min(...ys));
}

/** A chain of `n` convolutions after an input. */
function chain(n: number): GraphDoc {
  const nodes: GraphNode[] = [{ id: "x", type: "Input", params: {} }];
  const edges: GraphEdge[] = [];
  for (let i = 0; i < n; i++) {
    nodes.push({ id: `c${i}`, type: "Conv2d", params: {} });
    edges.push([nodes[i].id, `c${i}`]);
  }
  return { version: "0.2", nodes, edges, inputs: ["x"], outputs: [`c${n - 1}`] };
}

/** `total` nodes: a chain with residual adds, side branches of one to three nodes and now and then a concat of two. */
function generated(total: number): GraphDoc {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const nodes: GraphNode[] = [{ id: "n0", type: "Input", params: {} }];
  const edges: GraphEdge[] = [];
  const add = (type: string, ...inputs: string[]) => {
    const id = `n${nodes.length}`;
    nodes.push({ id, type, params: {} });
    for (const input of inputs) edges.push([input, id]);
    return id;
  };
  let last = "n0";
  while (nodes.length < total - 8) {
    const entry = last;
    for (let i = 0, n = 1 + Math.floor(random() * 4); i < n; i++) last = add("Conv2d", last);
    let side = entry;
    for (let i = 0, n = Math.floor(random() * 4); i < n; i++) side = add("Conv2d", side);
    last = add(random() < 0.8 ? "Add" : "Concat", last, side);
  }
  while (nodes.length < total) last = add("ReLU", last);
  return { version: "0.2", nodes, edges, inputs: ["n0"], outputs: [last] };
}

/** An imported ResNet's shape: a stem, stages of residual blocks with unnamed adds, a head. */
function resnetLike(blocksPerStage: number): GraphDoc {
  const nodes: GraphNode[] = [{ id: "x", type: "Input", params: { shape: [3, 64, 64] } }];
  const edges: GraphEdge[] = [];
  let last = "x";
  const chain = (id: string, type: string, path?: string) => {
    nodes.push({ id, type, params: {}, ...(path ? { path } : {}) });
    edges.push([last, id]);
    last = id;
  };
  chain("conv1", "Conv2d", "conv1");
  chain("bn1", "BatchNorm2d", "bn1");
  for (let stage = 1; stage <= 4; stage++) {
    for (let b = 0; b < blocksPerStage; b++) {
      const entry = last;
      chain(`l${stage}_${b}_conv1`, "Conv2d", `layer${stage}.${b}.conv1`);
      chain(`l${stage}_${b}_conv2`, "Conv2d", `layer${stage}.${b}.conv2`);
      nodes.push({ id: `add_${stage}_${b}`, type: "Add", params: {} });
      edges.push([last, `add_${stage}_${b}`], [entry, `add_${stage}_${b}`]);
      last = `add_${stage}_${b}`;
    }
  }
  chain("avgpool", "GlobalAvgPool");
  chain("fc", "Linear", "fc");
  return { version: "0.2", nodes, edges, inputs: ["x"], outputs: ["fc"] };
}

describe("module stages", () => {
  it("are the stem, then each container with the adds inside it; the head joins the last", () => {
    const stages = moduleStages(resnetLike(2))!;
    expect(stages.map((s) => s.length)).toEqual([3, 6, 6, 6, 8]);
    expect(stages[0]).toEqual(["x", "conv1", "bn1"]);
    expect(stages[1]).toEqual(["l1_0_conv1", "l1_0_conv2", "add_1_0", "l1_1_conv1", "l1_1_conv2", "add_1_1"]);
    expect(stages[4].slice(-2)).toEqual(["avgpool", "fc"]);
  });

  it("are found below a container that every path shares", () => {
    const doc = resnetLike(2);
    for (const node of doc.nodes) if (node.path) node.path = `features.${node.path}`;
    expect(moduleStages(doc)!.map((s) => s.length)).toEqual([3, 6, 6, 6, 8]);
  });

  it("need two containers", () => {
    const doc = resnetLike(2);
    for (const node of doc.nodes) if (node.path?.startsWith("layer")) node.path = `body.${node.path.replace(/\./g, "_")}`;
    expect(moduleStages(doc)).toBeNull();
  });
});

describe("layoutPositions", () => {
  it("puts each stage of a long graph in its own column, left to right, nothing overlapping", () => {
    const doc = resnetLike(3);
    expect(doc.nodes.length).toBeGreaterThanOrEqual(STAGED_MIN_NODES);
    const positions = layoutPositions(doc, "TB");
    const stages = moduleStages(doc)!;
    const columns = stages.map((ids) => {
      const xs = ids.map((id) => positions.get(id)!.x);
      return { left: Math.min(...xs), right: Math.max(...xs) + NODE_WIDTH, top: Math.min(...ids.map((id) => positions.get(id)!.y)) };
    });
    for (let i = 1; i < columns.length; i++) expect(columns[i].left).toBeGreaterThan(columns[i - 1].right);
    expect(new Set(columns.map((c) => c.top))).toEqual(new Set([0]));
    expect(positions.size).toBe(doc.nodes.length);
  });

  it("keeps a short graph in one layered drawing", () => {
    const doc = resnetLike(1);
    expect(doc.nodes.length).toBeLessThan(STAGED_MIN_NODES);
    const xs = new Set([...layoutPositions(doc, "TB").values()].map((p) => p.x));
    expect(xs.size).toBeLessThan(4); // one chain with residual side edges, not six columns
  });
});

describe("layoutPositions on the templates", () => {
  it.each(TEMPLATE_NAMES.flatMap((name) => (["TB", "LR"] as Direction[]).map((dir) => [name, dir])))("%s (%s) has no two nodes overlapping", (name, dir) => {
    const doc = JSON.parse(readFileSync(new URL(name, TEMPLATES), "utf-8")) as GraphDoc;
    const positions = layoutPositions(doc, dir as Direction);
    expect(positions.size).toBe(doc.nodes.length);
    expect(overlapping(positions)).toEqual([]);
  });

  it.each(["resnet18", "vgg16", "resnet50", "densenet121"])("%s keeps its main path straight down each column; each column starts at the top", (name) => {
    const doc = template(name);
    const positions = layoutPositions(doc, "TB");
    for (const [from, to] of doc.edges) {
      const [a, b] = [positions.get(from)!, positions.get(to)!];
      if (a.x === b.x) expect(b.y, `${from} → ${to}`).toBeGreaterThan(a.y);
      else expect([b.x > a.x, b.y], `${from} → ${to} starts the next column`).toEqual([true, 0]);
    }
  });

  it("wraps VGG-16 into columns that make a landscape drawing", () => {
    const positions = layoutPositions(template("vgg16"), "TB");
    expect(new Set([...positions.values()].map((p) => p.x)).size).toBeGreaterThanOrEqual(3);
    expect(aspect(positions)).toBeGreaterThan(1.1);
    expect(aspect(positions)).toBeLessThan(1.8);
    expect(positions.get("fc1")!.y).toBe(0); // the classifier stage starts a column of its own
    const lr = layoutPositions(template("vgg16"), "LR");
    expect(new Set([...lr.values()].map((p) => p.y)).size).toBeGreaterThanOrEqual(3);
    expect(aspect(lr)).toBeGreaterThan(1.1);
    expect(aspect(lr)).toBeLessThan(1.8);
  });

  it("keeps a side branch beside the straight main path (SE-ResNet's projection shortcut)", () => {
    const doc = template("se_resnet_tiny");
    const positions = layoutPositions(doc, "TB");
    const column = (id: string) => positions.get(id)!.x;
    const main = ["block2_conv1", "block2_bn1", "block2_relu1", "block2_conv2", "block2_bn2", "block2_se", "block2_add"];
    expect(new Set(main.map(column)).size).toBe(1);
    expect(Math.abs(column("block2_proj") - column("block2_add"))).toBeGreaterThanOrEqual(NODE_WIDTH);
  });

  it("draws the U-Net as a U: encoder down the left, bottleneck lowest, decoder up the right, skips level", () => {
    const doc = template("unet_small");
    const positions = layoutPositions(doc, "TB");
    const at = (id: string) => positions.get(id)!;
    const all = [...positions.values()];
    const [minX, maxX, maxY] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x)), Math.max(...all.map((p) => p.y))];
    expect(at("input")).toEqual({ x: minX, y: 0 });
    expect(at("head").x).toBe(maxX);
    expect(at("head").y).toBeLessThan(NODE_HEIGHT);
    expect(doc.nodes.filter((n) => at(n.id).y === maxY).every((n) => n.id.startsWith("mid_"))).toBe(true);
    expect(at("cat1").y).toBe(at("enc1_relu2").y);
    expect(at("cat2").y).toBe(at("enc2_relu2").y);
    const left = doc.nodes.filter((n) => n.id.startsWith("enc")).map((n) => at(n.id).x);
    const right = doc.nodes.filter((n) => n.id.startsWith("dec")).map((n) => at(n.id).x);
    expect(Math.max(...left)).toBeLessThan(Math.min(...right));
    const lr = layoutPositions(doc, "LR");
    expect(lr.get("cat1")!.x).toBe(lr.get("enc1_relu2")!.x);
    expect(lr.get("enc1_relu2")!.y).toBeLessThan(lr.get("cat1")!.y);
  });

  it("puts a U's nodes off the main path outside their arm", () => {
    const doc = template("unet_small");
    doc.nodes.push({ id: "aux", type: "Conv2d", params: {} }, { id: "aux_head", type: "Conv2d", params: {} });
    doc.edges.push(["enc2_relu2", "aux"], ["aux", "aux_head"], ["dec2_relu2", "dec_aux"]);
    doc.nodes.push({ id: "dec_aux", type: "Conv2d", params: {} });
    const positions = layoutPositions(doc, "TB");
    expect(overlapping(positions)).toEqual([]);
    const at = (id: string) => positions.get(id)!;
    expect(at("aux").x).toBeLessThan(at("enc2_relu2").x);
    expect(at("aux").y).toBeGreaterThan(at("enc2_relu2").y);
    expect(at("aux_head").y).toBeGreaterThan(at("aux").y);
    expect(at("dec_aux").x).toBeGreaterThan(at("dec2_relu2").x);
  });

  it("finds an encoder–decoder only where long skips nest", () => {
    expect(encoderDecoder(template("unet_small"))!.skips).toHaveLength(2);
    expect(encoderDecoder(resnetLike(3))).toBeNull(); // skips one after another
    expect(encoderDecoder(template("se_resnet_tiny"))).toBeNull();
    // Dense connectivity: every output feeds every later concat, so the skips cross.
    const dense = chain(8);
    for (const i of [3, 5, 7]) dense.nodes[i + 1].type = "Concat";
    dense.edges.push(["c0", "c3"], ["c0", "c5"], ["c0", "c7"], ["c1", "c5"], ["c1", "c7"], ["c3", "c7"]);
    expect(encoderDecoder(dense)).toBeNull();
  });
});

describe("layoutPositions on long graphs", () => {
  it("keeps a chain too short to need wrapping in one column", () => {
    const positions = layoutPositions(chain(WRAP_MIN_RANKS - 1), "TB");
    expect(new Set([...positions.values()].map((p) => p.x))).toEqual(new Set([0]));
  });

  it("wraps a long chain into columns of about equal length, top-aligned", () => {
    const positions = layoutPositions(chain(60), "TB");
    const columns = new Map<number, number>();
    for (const p of positions.values()) columns.set(p.x, (columns.get(p.x) ?? 0) + 1);
    expect(columns.size).toBeGreaterThanOrEqual(4);
    expect(Math.max(...columns.values()) - Math.min(...columns.values())).toBeLessThanOrEqual(2);
    expect(aspect(positions)).toBeGreaterThan(1.1);
    expect(aspect(positions)).toBeLessThan(1.8);
  });

  it("lays out an empty graph, a lone node and a cycle", () => {
    expect(layoutPositions({ version: "0.2", nodes: [], edges: [], inputs: [], outputs: [] }, "TB").size).toBe(0);
    expect([...layoutPositions(chain(0), "TB").values()]).toEqual([{ x: 0, y: 0 }]);
    const looped = chain(30);
    looped.edges.push(["c20", "c5"]);
    const positions = layoutPositions(looped, "TB");
    expect(positions.size).toBe(31);
    expect(overlapping(positions)).toEqual([]);
  });

  it.each(["TB", "LR"] as Direction[])("lays a generated 1,000-node graph out with no overlaps and its main path straight (%s)", (dir) => {
    const doc = generated(1000);
    const positions = layoutPositions(doc, dir);
    expect(positions.size).toBe(1000);
    expect(overlapping(positions)).toEqual([]);
    expect(new Set([...positions.values()].map((p) => (dir === "TB" ? p.x : p.y))).size).toBeGreaterThan(3);
    expect(aspect(positions)).toBeGreaterThan(dir === "TB" ? 0.8 : 0.5);
  });
});

