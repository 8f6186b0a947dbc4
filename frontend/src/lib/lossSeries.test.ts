import { describe, expect, it } from "vitest";
import { alignCurves, chartLines, emaSmooth, forLogScale, logScaleUsable } from "./lossSeries";

describe("emaSmooth", () => {
  it("is the identity at weight 0", () => {
    expect(emaSmooth([3, 1, 2], 0)).toEqual([3, 1, 2]);
  });

  it("is a debiased exponential moving average", () => {
    const out = emaSmooth([4, 2, 0], 0.5) as number[];
    // raw EMA: 2, 2, 1; debiased by 1 - 0.5^n: 0.5, 0.75, 0.875
    expect(out[0]).toBeCloseTo(4);
    expect(out[1]).toBeCloseTo(2 / 0.75);
    expect(out[2]).toBeCloseTo(1 / 0.875);
  });

  it("keeps a constant series constant and damps noise", () => {
    expect((emaSmooth([5, 5, 5, 5], 0.9) as number[]).every((v) => Math.abs(v - 5) < 1e-12)).toBe(true);
    const noisy = Array.from({ length: 200 }, (_, i) => 1 + (i % 2 ? 0.5 : -0.5));
    const smooth = emaSmooth(noisy, 0.9) as number[];
    expect(Math.abs(smooth[199] - smooth[198])).toBeLessThan(0.2);
  });

  it("leaves gaps where the loss is not a finite number, without letting them into the average", () => {
    const out = emaSmooth([2, Number.NaN, null, 2, Number.POSITIVE_INFINITY], 0.5);
    expect(out[0]).toBeCloseTo(2);
    expect(out[1]).toBeNull();
    expect(out[2]).toBeNull();
    expect(out[3]).toBeCloseTo(2);
    expect(out[4]).toBeNull();
  });

  it("refuses weights outside [0, 1)", () => {
    expect(() => emaSmooth([1], 1)).toThrow(/\[0, 1\)/);
    expect(() => emaSmooth([1], -0.1)).toThrow(RangeError);
    expect(() => emaSmooth([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("forLogScale", () => {
  it("turns values a log axis cannot draw into gaps", () => {
    expect(forLogScale([1, 0, -2, Number.NaN, 0.5, null])).toEqual([1, null, null, null, 0.5, null]);
    expect(logScaleUsable([0, -1, Number.NaN])).toBe(false);
    expect(logScaleUsable([0, 0.1])).toBe(true);
  });
});

describe("chartLines", () => {
  const train = { label: "loss", steps: [1, 2, 3, 4], values: [4, 2, 0, 1], color: "#ee4c2c" };
  const val = { label: "validation loss", steps: [2, 4], values: [3, 1.5], color: "#4f46e5", validation: true };

  it("merges the validation curve into the training steps, leaving gaps between its epochs", () => {
    const { xs, lines } = chartLines([train, { ...val, steps: [2, 5] }], { log: false, smoothing: 0 });
    expect(xs).toEqual([1, 2, 3, 4, 5]);
    expect(lines.map((line) => line.values)).toEqual([
      [4, 2, 0, 1, null],
      [null, 3, null, null, 1.5],
    ]);
    expect(lines[1]).toMatchObject({ dash: [6, 4], points: true });
    expect(alignCurves([]).xs).toEqual([]);
  });

  it("adds a smoothed line over a faint raw one, and leaves the validation curve as measured", () => {
    const { lines } = chartLines([train, val], { log: false, smoothing: 0.5 });
    expect(lines.map((line) => [line.label, line.alpha])).toEqual([
      ["loss", 0.25],
      ["loss (smoothed)", 1],
      ["validation loss", 1],
    ]);
    expect(lines[1].values[2]).toBeCloseTo(1 / 0.875);
    expect(lines[2].values).toEqual([null, 3, null, 1.5]);
  });

  it("turns non-positive values into gaps on a log scale, before smoothing", () => {
    const { lines } = chartLines([train], { log: true, smoothing: 0.5 });
    expect(lines[0].values).toEqual([4, 2, null, 1]);
    expect(lines[1].values[2]).toBeNull();
    expect(lines[1].values[3]).toBeCloseTo((0.5 * (0.5 * 0.5 * 4 + 0.5 * 2) + 0.5 * 1) / 0.875);
  });
});
