import "../panels/testSetup";
import { cleanup, render, screen } from "@testing-library/react";
import { ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { afterEach, describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { toFlow } from "../lib/convert";
import { SpecIndex } from "../lib/specs";
import { RECIPE_DOC, RECIPE_REGISTRY } from "../test/recipe";
import { REGISTRY } from "../test/registry";
import { glanceLines, LayerNode } from "./LayerNode";
import { RecipeLegend } from "./RecipeLegend";

const specs = new SpecIndex(REGISTRY);
const nodeTypes = { layer: LayerNode };

function show(doc: GraphDoc, registry = specs) {
  const flow = toFlow(doc, { specs: registry });
  render(
    <div style={{ width: 800, height: 600 }}>
      <ReactFlowProvider>
        <ReactFlow nodes={flow.nodes} edges={flow.edges} nodeTypes={nodeTypes} />
      </ReactFlowProvider>
    </div>,
  );
}

describe("the node card", () => {
  afterEach(cleanup);

  it("shows the module path under the id when the node has one", () => {
    show({
      version: "0.2",
      nodes: [
        { id: "inp", type: "Input", ui: { x: 0, y: 0 } },
        { id: "conv", type: "Conv2d", params: { out_channels: 8, kernel_size: 3 }, path: "layer1.0.conv1", ui: { x: 0, y: 100 } },
        { id: "act", type: "ReLU", ui: { x: 0, y: 200 } },
        { id: "fc", type: "Linear", params: { out_features: 2 }, path: "fc", ui: { x: 0, y: 300 } },
      ],
      edges: [
        ["inp", "conv"],
        ["conv", "act"],
        ["act", "fc"],
      ],
      inputs: ["inp"],
      outputs: ["fc"],
    });
    expect(screen.getByTestId("node-conv").querySelector("[data-testid=node-path-text]")!.textContent).toBe("layer1.0.conv1");
    expect(screen.getByTestId("node-act").querySelector("[data-testid=node-path-text]")).toBeNull();
    // A path that only repeats the id (a template's `fc`) takes no line of its own.
    expect(screen.getByTestId("node-fc").querySelector("[data-testid=node-path-text]")).toBeNull();
  });

  it("carries its name and type for the zoomed-out view", () => {
    show({
      version: "0.2",
      nodes: [
        { id: "inp", type: "Input", ui: { x: 0, y: 0 } },
        { id: "conv", type: "Conv2d", label: "Stem", params: { out_channels: 8, kernel_size: 3 }, ui: { x: 0, y: 100 } },
        { id: "downsample1_norm", type: "ReLU", ui: { x: 0, y: 200 } },
      ],
      edges: [
        ["inp", "conv"],
        ["conv", "downsample1_norm"],
      ],
      inputs: ["inp"],
      outputs: ["downsample1_norm"],
    });
    const glance = screen.getByTestId("node-conv").querySelector(".cv-node-glance")!;
    expect(glance.querySelector("[data-testid=node-glance-name]")!.textContent).toBe("Stem");
    expect(glance.textContent).toContain("Conv2d");
    // a name on two lines takes the kind's place
    const long = screen.getByTestId("node-downsample1_norm").querySelector(".cv-node-glance")!;
    expect(long.querySelector("[data-testid=node-glance-name]")!.innerHTML).toBe("downsample1_<br>norm");
    expect(long.querySelector(".cv-glance-type")).toBeNull();
    expect(screen.getByTestId("node-inp").querySelector("[data-testid=node-glance-name]")!.textContent).toBe("inp");
  });

  it("splits a long name over two lines at the separator that keeps the longer line shortest", () => {
    expect(glanceLines("conv1")).toEqual(["conv1"]);
    expect(glanceLines("stem_conv")).toEqual(["stem_conv"]);
    expect(glanceLines("block1_bn1")).toEqual(["block1_", "bn1"]);
    expect(glanceLines("downsample1_norm")).toEqual(["downsample1_", "norm"]);
    expect(glanceLines("features.denseblock1")).toEqual(["features.", "denseblock1"]);
    expect(glanceLines("enc1_conv1_bn_relu")).toEqual(["enc1_conv1_", "bn_relu"]);
    // no separator, or one that leaves a line nearly as long as the name: one line
    expect(glanceLines("positionalencoding")).toEqual(["positionalencoding"]);
    expect(glanceLines("a_verylongmodulename")).toEqual(["a_verylongmodulename"]);
  });
});

describe("the training recipe on the canvas", () => {
  afterEach(cleanup);
  const recipeSpecs = new SpecIndex(RECIPE_REGISTRY);
  const recipe: GraphDoc = { ...RECIPE_DOC, nodes: [...RECIPE_DOC.nodes, { id: "mse", type: "MSELoss", stage: "metrics", ui: { x: 520, y: 800 } }] };
  const stageOf = (id: string) => screen.getByTestId(`node-${id}`).querySelector("[data-testid=node-stage]")?.textContent ?? null;

  it("bands loss, metrics and Target nodes with their stage; model nodes have none", () => {
    show(recipe, recipeSpecs);
    expect(["x", "y", "fc", "ce", "acc", "mse"].map(stageOf)).toEqual([null, "target", null, "Loss", "Metrics", "Metrics"]);
    expect(screen.getByTestId("node-y").className).toContain("cv-node--target");
    // Losses and metrics feed nothing: no output handle.
    expect(screen.getByTestId("node-ce").querySelectorAll(".react-flow__handle-bottom")).toHaveLength(0);
    expect(screen.getByTestId("node-fc").querySelectorAll(".react-flow__handle-bottom")).toHaveLength(1);
    expect(screen.getByTestId("node-ce").className).toContain("cv-node--loss");
    expect(screen.getByTestId("node-mse").className).toContain("cv-node--metrics");
  });

  it("marks frozen nodes", () => {
    show(recipe, recipeSpecs);
    expect(screen.getByTestId("node-body").className).toContain("cv-node--frozen");
    expect(screen.getByTestId("node-body").querySelector("[data-testid=node-frozen]")!.textContent).toBe("❄ frozen");
    expect(screen.getByTestId("node-fc").querySelector("[data-testid=node-frozen]")).toBeNull();
  });

  it("shows the names outputs are returned under, on the node or on its port", () => {
    show(recipe, recipeSpecs);
    expect(screen.getByTestId("node-fc").querySelector("[data-testid=node-output-name]")!.textContent).toBe("→ logits");
    const ports = screen.getByTestId("node-fork").querySelectorAll("[data-testid=port-output]");
    expect([...ports].map((p) => [p.getAttribute("data-port"), p.textContent])).toEqual([["1", "→ aux"]]);
    expect(screen.getByTestId("node-fork").querySelector("[data-testid=node-output-name]")).toBeNull();
  });

  it("keeps the plain output tag for a list, and marks a listed port as an output", () => {
    show({ ...recipe, outputs: ["fc", "fork:1"] }, recipeSpecs);
    expect(screen.getByTestId("node-fc").querySelector(".cv-node-name")!.textContent).toContain("output");
    expect(screen.getByTestId("node-fc").querySelector("[data-testid=node-output-name]")).toBeNull();
    expect(screen.getByTestId("node-fork").querySelector("[data-testid=port-output]")!.textContent).toBe("→ output");
  });

  it("has a legend of the groups once there is more than a model", () => {
    render(<RecipeLegend doc={recipe} specs={recipeSpecs} />);
    expect(screen.getByTestId("recipe-legend").textContent).toBe("Model 4Loss 1Metrics 2Targets 1");
    cleanup();
    render(<RecipeLegend doc={{ ...recipe, nodes: recipe.nodes.filter((n) => ["x", "body", "fork", "fc"].includes(n.id)) }} specs={recipeSpecs} />);
    expect(screen.queryByTestId("recipe-legend")).toBeNull();
  });
});
