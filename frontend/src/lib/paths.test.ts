import { describe, expect, it } from "vitest";
import ENGINE_VERDICTS from "../test/module_paths.json";
import { commonStrictPrefix, flatModuleName, joinPath, pathFormatProblem, pathProblem } from "./paths";

describe("pathFormatProblem", () => {
  it("accepts exactly the paths the engine's format rule accepts (test/module_paths.json, from codegen)", () => {
    for (const [path, accepted] of ENGINE_VERDICTS as [string, boolean][]) expect(pathFormatProblem(path) === null, path).toBe(accepted);
  });

  it("accepts torchvision's paths: names and indexes separated by dots", () => {
    for (const path of ["features", "features.0", "features.0.1", "layer1.0.downsample.0", "encoder.layers.encoder_layer_0", "_private", "match", "x.10"]) {
      expect(pathFormatProblem(path), path).toBeNull();
    }
  });

  it("names the empty part of a path with a stray dot", () => {
    expect(pathFormatProblem("features.")).toBe('Part 2 of 2 is empty: write names and numbers separated by single dots, e.g. "features.0".');
    expect(pathFormatProblem(".features")).toMatch(/^Part 1 of 2 is empty/);
    expect(pathFormatProblem("a..b")).toMatch(/^Part 2 of 3 is empty/);
  });

  it("refuses parts that are neither identifiers nor non-negative integers", () => {
    expect(pathFormatProblem("layer-1")).toBe(
      '"layer-1" is neither a Python name (ASCII letters, digits, underscores, not starting with a digit) nor a number without leading zeros.',
    );
    expect(pathFormatProblem("features.01")).toMatch(/^"01" is neither/);
    expect(pathFormatProblem("features.-1")).toMatch(/^"-1" is neither/);
    expect(pathFormatProblem("1a")).toMatch(/^"1a" is neither/);
    expect(pathFormatProblem("blöck")).toMatch(/^"blöck" is neither/);
    expect(pathFormatProblem("a b")).toMatch(/^"a b" is neither/);
    expect(pathFormatProblem("features[0]")).toMatch(/is neither/);
  });

  it("refuses Python keywords and names Python reserves", () => {
    expect(pathFormatProblem("blocks.class")).toBe('"class" is a Python keyword; choose another name.');
    expect(pathFormatProblem("None")).toMatch(/keyword/);
    expect(pathFormatProblem("blocks.__init__")).toBe('"__init__" starts with two underscores, which Python reserves; choose another name.');
  });

  it("allows indexes up to 9999 and 16 levels, as the engine does", () => {
    expect(pathFormatProblem("blocks.9999")).toBeNull();
    expect(pathFormatProblem("blocks.10000")).toBe('"10000": numbers go up to 9999.');
    expect(pathFormatProblem(Array(16).fill("a").join("."))).toBeNull();
    expect(pathFormatProblem(Array(17).fill("a").join("."))).toBe("At most 16 levels (this one has 17).");
  });

  it("allows 200 characters and no more", () => {
    const ok = `a.${"b".repeat(198)}`;
    expect(ok).toHaveLength(200);
    expect(pathFormatProblem(ok)).toBeNull();
    expect(pathFormatProblem(`${ok}c`)).toBe("At most 200 characters (this one has 201).");
  });
});

describe("pathProblem", () => {
  const nodes = [
    { id: "conv", path: "features.0" },
    { id: "relu", path: "features.1" },
    { id: "fc" },
  ];

  it("refuses a path another node of the body has, but not the node's own", () => {
    expect(pathProblem("features.1", nodes, "fc")).toBe('Node "relu" already has the path features.1; two modules cannot share one.');
    expect(pathProblem("features.1", nodes, "relu")).toBeNull();
    expect(pathProblem("classifier.0", nodes, "fc")).toBeNull();
  });

  it("takes the empty path as no path and checks the format first", () => {
    expect(pathProblem("", nodes, "fc")).toBeNull();
    expect(pathProblem("features..1", nodes, "fc")).toMatch(/^Part 2 of 3 is empty/);
  });
});

describe("flatModuleName", () => {
  it("sanitises ids as the engine does (codegen/naming.py sanitize)", () => {
    // Expected values printed by codegen.naming.sanitize.
    const cases: [string, string][] = [
      ["conv1", "conv1"],
      ["Conv-1", "conv_1"],
      ["layer1_0", "layer1_0"],
      ["BatchNorm2d", "batch_norm2d"],
      ["ümlaut x", "umlaut_x"],
      ["123abc", "node_123abc"],
      ["__", "node"],
      ["fcHead", "fc_head"],
      ["a..b", "a_b"],
      ["ResNeXt50", "res_ne_xt50"],
    ];
    for (const [id, name] of cases) expect(flatModuleName(id), id).toBe(name);
  });
});

describe("joinPath and commonStrictPrefix", () => {
  it("joins a prefix and a relative path unless the result is not a path", () => {
    expect(joinPath("layer1.0", "conv1")).toBe("layer1.0.conv1");
    expect(joinPath("pass", "conv1")).toBeNull();
    expect(joinPath("a".repeat(150), "b".repeat(50))).toBeNull();
  });

  it("finds the longest shared prefix that leaves every path a part of its own, ignoring nodes without one", () => {
    expect(commonStrictPrefix(["layer1.0.conv1", "layer1.0.bn1", "layer1.0.downsample.0"])).toBe("layer1.0");
    expect(commonStrictPrefix(["features.0", "features.1"])).toBe("features");
    expect(commonStrictPrefix(["layer1.0.conv1"])).toBe("layer1.0");
    expect(commonStrictPrefix(["layer1.0", "layer1.0.conv1"])).toBe("layer1");
    expect(commonStrictPrefix(["features.0", "classifier.0"])).toBeNull();
    expect(commonStrictPrefix(["conv1", "bn1"])).toBeNull();
    expect(commonStrictPrefix(["layer1.0.conv1", undefined, "layer1.0.bn1"])).toBe("layer1.0");
    expect(commonStrictPrefix([undefined, undefined])).toBeNull();
    expect(commonStrictPrefix([])).toBeNull();
  });
});
