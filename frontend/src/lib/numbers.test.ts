import { describe, expect, it } from "vitest";
import { formatBytes, formatNumber, formatSeconds } from "./numbers";

describe("number formatting", () => {
  it("shows 4 significant digits, an exponent at the extremes, a dash for no number", () => {
    expect(formatNumber(1.23456)).toBe("1.235");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(123456)).toBe("1.235e+5");
    expect(formatNumber(0.0001234)).toBe("1.234e-4");
    expect(formatNumber(Number.NaN)).toBe("—");
    expect(formatNumber(null)).toBe("—");
  });
  it("shows bytes and seconds in readable units", () => {
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GB");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatSeconds(12.34)).toBe("12.3 s");
    expect(formatSeconds(125)).toBe("2 min 5 s");
    expect(formatSeconds("5")).toBe("—");
  });
});
