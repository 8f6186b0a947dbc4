import "../panels/testSetup";
import { render, screen } from "@testing-library/react";
import { ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { toFlow } from "../lib/convert";
import { SpecIndex } from "../lib/specs";
import { REGISTRY } from "../test/registry";
import { LayerNode } from "./LayerNode";

const specs = new SpecIndex(REGISTRY);
const nodeTypes = { layer: LayerNode };

function show(doc: GraphDoc) {
  const flow = toFlow(doc, { specs });
  render(
    <div style={{ width: 800, height: 600 }}>
      <ReactFlowProvider>
        <ReactFlow nodes={flow.nodes} edges={flow.edges} nodeTypes={nodeTypes} />
      </ReactFlowProvider>
    </div>,
  );
}

describe("the node card", () => {
  it("shows the module path under the id when the node has one", () => {
    show({
      version: "0.2",
      nodes: [
        { id: "inp", type: "Input", ui: { x: 0, y: 0 } },
        { id: "conv", type: "Conv2d", params: { out_channels: 8, kernel_size: 3 }, path: "layer1.0.conv1", ui: { x: 0, y: 100 } },
        { id: "act", type: "ReLU", ui: { x: 0, y: 200 } },
      ],
      edges: [
        ["inp", "conv"],
        ["conv", "act"],
      ],
      inputs: ["inp"],
      outputs: ["act"],
    });
    expect(screen.getByTestId("node-conv").querySelector("[data-testid=node-path-text]")!.textContent).toBe("layer1.0.conv1");
    expect(screen.getByTestId("node-act").querySelector("[data-testid=node-path-text]")).toBeNull();
  });
});
