import { describe, expect, it } from "vitest";
import { baseIdForType, idProblem, newIdForType, uniqueId } from "./ids";

describe("ids", () => {
  it("derives readable ids from types", () => {
    expect(baseIdForType("Conv1d")).toBe("conv1d");
    expect(baseIdForType("Permute_BCT_to_BTH")).toBe("permute_bct_to_bth");
    expect(baseIdForType("My Block!")).toBe("my_block");
    expect(baseIdForType("3D")).toBe("n3d");
    expect(baseIdForType("")).toBe("node");
  });

  it("numbers repeats from 2", () => {
    const taken = new Set(["conv1d", "conv1d_2"]);
    expect(newIdForType("Conv1d", taken)).toBe("conv1d_3");
    expect(newIdForType("ReLU", taken)).toBe("relu");
    expect(uniqueId("relu", new Set(["relu"]))).toBe("relu_2");
  });

  it("checks ids like the engine (BAD_ID, DUPLICATE_ID) and refuses ':'", () => {
    const taken = new Set(["a", "b"]);
    expect(idProblem("", taken)).toMatch(/empty/);
    expect(idProblem("x".repeat(101), taken)).toMatch(/100/);
    expect(idProblem("a\u0007", taken)).toMatch(/control/);
    expect(idProblem("a:1", taken)).toMatch(/:/);
    expect(idProblem("b", taken, "a")).toMatch(/already/);
    expect(idProblem("a", taken, "a")).toBeNull();
    expect(idProblem("conv_block", taken)).toBeNull();
  });
});
