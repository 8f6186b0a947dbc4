import { describe, expect, it } from "vitest";
import type { GraphDoc, GraphEdge, GraphNode } from "../graph";
import { layoutPositions, moduleStages, NODE_WIDTH, STAGED_MIN_NODES } from "./layout";

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
