import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { RECIPE_REGISTRY } from "../test/recipe";
import { composeInit, initParts, recipeCounts, recipeGroup } from "./recipe";
import { SpecIndex } from "./specs";

const specs = new SpecIndex(RECIPE_REGISTRY);
const info = (type: string) => specs.info(type, undefined);

describe("recipe stages", () => {
  it("come from the registry category unless the node says", () => {
    expect(recipeGroup({ id: "l", type: "CrossEntropyLoss" }, info("CrossEntropyLoss"))).toBe("loss");
    expect(recipeGroup({ id: "m", type: "Accuracy" }, info("Accuracy"))).toBe("metrics");
    expect(recipeGroup({ id: "fc", type: "Linear" }, info("Linear"))).toBe("model");
    expect(recipeGroup({ id: "fc", type: "Linear", stage: "loss" }, info("Linear"))).toBe("loss");
    expect(recipeGroup({ id: "l", type: "MSELoss", stage: "metrics" }, info("MSELoss"))).toBe("metrics");
  });

  it("leave Targets out of every stage", () => {
    expect(recipeGroup({ id: "y", type: "Target" }, info("Target"))).toBe("target");
    expect(recipeGroup({ id: "y", type: "Target", stage: "loss" }, info("Target"))).toBe("target");
  });

  it("count the nodes of each group", () => {
    const doc: GraphDoc = {
      version: "0.2",
      nodes: [
        { id: "x", type: "Input" },
        { id: "fc", type: "Linear" },
        { id: "y", type: "Target" },
        { id: "ce", type: "CrossEntropyLoss" },
        { id: "acc", type: "Accuracy" },
        { id: "mse", type: "MSELoss", stage: "metrics" },
      ],
      edges: [],
      inputs: ["x"],
      outputs: ["fc"],
    };
    expect(recipeCounts(doc, specs)).toEqual({ model: 2, loss: 1, metrics: 2, target: 1 });
  });
});

describe("weight inits", () => {
  it("read both forms", () => {
    expect(initParts(undefined)).toEqual({ type: undefined, settings: {} });
    expect(initParts("zeros")).toEqual({ type: "zeros", settings: {} });
    expect(initParts({ type: "normal", std: 0.01, bias: "zeros" })).toEqual({ type: "normal", settings: { std: 0.01, bias: "zeros" } });
  });

  it("are stored as a bare name without settings, and drop the settings another type does not take", () => {
    expect(composeInit("normal", {})).toBe("normal");
    expect(composeInit("normal", { std: 0.02 })).toEqual({ type: "normal", std: 0.02 });
    expect(composeInit("xavier_uniform", { std: 0.02, bias: "zeros" })).toEqual({ type: "xavier_uniform", bias: "zeros" });
    expect(composeInit("kaiming_normal", { nonlinearity: "relu", std: undefined })).toEqual({ type: "kaiming_normal", nonlinearity: "relu" });
    expect(composeInit("normal", { std: 0.02, mean: 0.5 })).toEqual({ type: "normal", std: 0.02, mean: 0.5 }); // what the canvas does not know stays
    expect(composeInit(undefined, { std: 1 })).toBeUndefined();
  });
});
