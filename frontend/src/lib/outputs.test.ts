import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { addOutput, defaultOutputName, formatOutputs, keepNames, mapOutputs, nameOutput, outputEntries, outputNameProblem, outputsByNode, unnameOutputs } from "./outputs";

const doc: GraphDoc = {
  version: "0.2",
  nodes: [
    { id: "x", type: "Input" },
    { id: "fork", type: "Chunk", params: { chunks: 2 } },
    { id: "fc", type: "Linear", params: { out_features: 2 } },
  ],
  edges: [
    ["x", "fork"],
    ["fork:0", "fc"],
  ],
  inputs: ["x"],
  outputs: { logits: "fc", std: "fork:1" },
};

describe("outputs in either form", () => {
  it("reads a list and an object as entries, in order", () => {
    expect(outputEntries(["a", "b:1"])).toEqual([
      { name: null, ref: "a" },
      { name: null, ref: "b:1" },
    ]);
    expect(outputEntries({ mean: "fork:0", std: "fork:1" })).toEqual([
      { name: "mean", ref: "fork:0" },
      { name: "std", ref: "fork:1" },
    ]);
  });

  it("maps refs keeping the form, the names and, when nothing changes, the very value", () => {
    const named = { mean: "fork:0", std: "fork:1" };
    expect(mapOutputs(named, (ref) => ref)).toBe(named);
    expect(mapOutputs(named, (ref) => (ref === "fork:0" ? null : ref.replace("fork", "split")))).toEqual({ std: "split:1" });
    expect(mapOutputs(["a", "b"], (ref) => (ref === "a" ? null : ref))).toEqual(["b"]);
    expect(mapOutputs(named, () => null)).toEqual([]); // the engine wants at least one name in the object form
  });

  it("adds an output under a name made from its ref in the object form", () => {
    expect(addOutput(["a"], "b")).toEqual(["a", "b"]);
    expect(addOutput({ fork_1: "x", logits: "fc" }, "fork:1")).toEqual({ fork_1: "x", logits: "fc", fork_1_2: "fork:1" });
    expect(addOutput({ logits: "fc" }, "fc")).toEqual({ logits: "fc" });
    expect(defaultOutputName("a b:2", new Set())).toBe("a_b_2");
    expect(defaultOutputName("-x", new Set())).toBe("_x");
  });

  it("names one output of a list: the list becomes an object, the others named after their refs", () => {
    expect(nameOutput(["fc", "fork:1"], 1, "std")).toEqual({ fc: "fc", std: "fork:1" });
    expect(Object.keys(nameOutput(["fork:1", "fc"], 1, "fork_1") as object)).toEqual(["fork_1_2", "fork_1"]);
    expect(nameOutput({ a: "fc", b: "x" }, 0, "logits")).toEqual({ logits: "fc", b: "x" });
    expect(Object.keys(nameOutput({ a: "fc", b: "x" }, 0, "logits") as object)).toEqual(["logits", "b"]);
    expect(unnameOutputs({ a: "fc", b: "x" })).toEqual(["fc", "x"]);
  });

  it("checks names as the engine does: 1 to 64 of letters, digits, _ - . /, unique", () => {
    expect(outputNameProblem("heads/main.v-2_", [], null)).toBeNull();
    expect(outputNameProblem("", [], null)).toBe("A name cannot be empty.");
    expect(outputNameProblem("a b", [], null)).toBe("Letters, digits, _, -, . and / only, starting with a letter, a digit or _.");
    expect(outputNameProblem(".hidden", [], null)).toBe("Letters, digits, _, -, . and / only, starting with a letter, a digit or _.");
    expect(outputNameProblem("x".repeat(65), [], null)).toBe("At most 64 characters.");
    expect(outputNameProblem("std", { mean: "a", std: "b" }, "mean")).toBe('Another output is already called "std".');
    expect(outputNameProblem("std", { mean: "a", std: "b" }, "std")).toBeNull();
  });

  it("keeps the names when a suggestion lists the outputs", () => {
    expect(keepNames({ logits: "fc", aux: "a" }, ["b", "fc"])).toEqual({ b: "b", logits: "fc" });
    expect(keepNames(["fc"], ["b", "fc"])).toEqual(["b", "fc"]);
    expect(keepNames({ logits: "fc" }, { out: "b" })).toEqual({ out: "b" });
  });

  it("says them in one line and groups them by node, with the output each reads", () => {
    expect(formatOutputs({ mean: "fork:0", std: "fork:1" })).toBe("mean → fork:0, std → fork:1");
    expect(formatOutputs(["a", "b"])).toBe("a, b");
    expect(formatOutputs([])).toBe("none");
    const byNode = outputsByNode(doc);
    expect(byNode.get("fc")).toEqual([{ name: "logits", ref: "fc", output: null, index: 0 }]);
    expect(byNode.get("fork")).toEqual([{ name: "std", ref: "fork:1", output: 1, index: 1 }]);
  });
});
