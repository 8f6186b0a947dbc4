import { describe, expect, it } from "vitest";
import type { ParamSpec } from "../graph";
import { REGISTRY } from "../test/registry";
import { defaultText, parseParam, rangeProblem } from "./params";

const spec = (type: string, name: string): ParamSpec => REGISTRY.nodes.find((n) => n.type === type)!.params.find((p) => p.name === name)!;

describe("param forms", () => {
  it("parses ints, floats and bools strictly", () => {
    expect(parseParam(spec("Linear", "out_features"), "64")).toEqual({ ok: true, value: 64 });
    expect(parseParam(spec("Linear", "out_features"), "6.5").ok).toBe(false);
    expect(parseParam(spec("Dropout", "p"), "0.25")).toEqual({ ok: true, value: 0.25 });
    expect(parseParam(spec("Dropout", "p"), "abc").ok).toBe(false);
  });

  it("reads ints as one number or a tuple of the declared length", () => {
    const k = spec("Conv2d", "kernel_size");
    expect(parseParam(k, "3")).toEqual({ ok: true, value: 3 });
    expect(parseParam(k, "3, 5")).toEqual({ ok: true, value: [3, 5] });
    expect(parseParam(k, "3x5")).toEqual({ ok: true, value: [3, 5] });
    expect(parseParam(k, "1, 2, 3")).toMatchObject({ ok: false });
  });

  it('accepts "same" and "valid" for padding', () => {
    const p = spec("Conv1d", "padding");
    expect(parseParam(p, "same")).toEqual({ ok: true, value: "same" });
    expect(parseParam(p, "2")).toEqual({ ok: true, value: 2 });
    expect(parseParam(p, "full").ok).toBe(false);
  });

  it("reads int lists (Input shape) and treats an empty field as unset", () => {
    const shape = spec("Input", "shape");
    expect(parseParam(shape, "3, 224, 224")).toEqual({ ok: true, value: [3, 224, 224] });
    expect(parseParam(shape, "[9, 256]")).toEqual({ ok: true, value: [9, 256] });
    expect(parseParam(shape, "")).toEqual({ ok: true, value: undefined });
    expect(parseParam(spec("Linear", "out_features"), "")).toEqual({ ok: false, error: "Required." });
    expect(defaultText(shape)).toBe("auto");
  });

  it("checks min/max (and exclusive max) and list lengths", () => {
    expect(rangeProblem(spec("Conv2d", "kernel_size"), [3, 0])).toMatch(/≥ 1/);
    expect(rangeProblem(spec("Linear", "out_features"), 2_000_000)).toMatch(/≤/);
    const p = spec("Dropout", "p"); // 0 ≤ p < 1
    expect(rangeProblem(p, 1)).toBe("Must be < 1.");
    expect(rangeProblem(p, 0.99)).toBeNull();
    expect(rangeProblem(spec("Input", "shape"), [1, 2, 3, 4, 5])).toMatch(/At most 4/);
    expect(rangeProblem(spec("Input", "shape"), null)).toBeNull();
  });
});
