import { describe, expect, it } from "vitest";
import type { CompositeDefinition, GraphDoc, GraphEdge } from "../graph";
import { REGISTRY } from "../test/registry";
import { blocksUsedBy, type LibraryVersion, withLibraryBlock } from "./library";
import { SpecIndex } from "./specs";

const specs = new SpecIndex(REGISTRY);

/** A block whose body is one node of each of `types`, in a chain. */
function block(...types: string[]): CompositeDefinition {
  const ids = types.map((_, i) => `n${i}`);
  return {
    nodes: [{ id: "in", type: "Input" }, ...types.map((type, i) => ({ id: ids[i], type }))],
    edges: ids.map((id, i): GraphEdge => [i === 0 ? "in" : ids[i - 1], id]),
    inputs: ["in"],
    outputs: [ids.at(-1)!],
  };
}

function graph(composites?: Record<string, CompositeDefinition>, metadata?: Record<string, unknown>): GraphDoc {
  return { version: "0.2", ...(metadata ? { metadata } : {}), nodes: [{ id: "input", type: "Input" }], edges: [], inputs: ["input"], outputs: [], ...(composites ? { composites } : {}) };
}

function version(definition: CompositeDefinition, composites?: Record<string, CompositeDefinition>, number = 3): LibraryVersion {
  return { definition, reference: { block: 7, version: number }, ...(composites ? { composites } : {}) };
}

describe("blocksUsedBy", () => {
  it("finds the blocks used directly and through each other, not built-ins, unused ones or the block itself", () => {
    const composites = { New: block("Conv2d", "Mid", "Leaf"), Mid: block("Leaf", "ReLU"), Leaf: block("Linear"), Unused: block("ReLU") };
    expect(blocksUsedBy(composites, "New")).toEqual({ Mid: composites.Mid, Leaf: composites.Leaf });
  });

  it("finds a block used only through another one", () => {
    const composites = { New: block("Mid"), Mid: block("Leaf"), Leaf: block("ReLU") };
    expect(Object.keys(blocksUsedBy(composites, "New")).sort()).toEqual(["Leaf", "Mid"]);
  });

  it("stops at cycles", () => {
    const composites = { New: block("A"), A: block("B"), B: block("A", "New") };
    expect(Object.keys(blocksUsedBy(composites, "New")).sort()).toEqual(["A", "B"]);
  });

  it("is empty for a block of built-ins only", () => {
    expect(blocksUsedBy({ New: block("Conv2d", "ReLU"), Other: block("ReLU") }, "New")).toEqual({});
  });
});

describe("withLibraryBlock", () => {
  it("adds a block that uses no other block under its own name, linked to its version", () => {
    const outer = block("Conv2d");
    const added = withLibraryBlock(graph(undefined, { name: "demo" }), specs, "Outer", version(outer));
    expect(added).toEqual({ type: "Outer", doc: { ...graph({ Outer: outer }), metadata: { name: "demo", library: { Outer: { block: 7, version: 3 } } } } });
  });

  it("adds the blocks it uses under their own names", () => {
    const inner = block("ReLU");
    const added = withLibraryBlock(graph({ Mine: block("Linear") }), specs, "Outer", version(block("Inner"), { Inner: inner }));
    if ("error" in added) throw new Error(added.error);
    expect(added.type).toBe("Outer");
    expect(added.doc.composites).toEqual({ Mine: block("Linear"), Inner: inner, Outer: block("Inner") });
    expect(added.doc.metadata).toEqual({ library: { Outer: { block: 7, version: 3 } } });
  });

  it("reuses an identical block of the graph", () => {
    const start = graph({ Inner: block("ReLU") });
    const added = withLibraryBlock(start, specs, "Outer", version(block("Inner"), { Inner: block("ReLU") }));
    if ("error" in added) throw new Error(added.error);
    expect(added.doc.composites).toEqual({ Inner: block("ReLU"), Outer: block("Inner") });
  });

  it("refuses a block whose inner block differs from the graph's block of that name", () => {
    const start = graph({ Inner: block("Linear") });
    expect(withLibraryBlock(start, specs, "Outer", version(block("Inner"), { Inner: block("ReLU") }))).toEqual({
      error: "Cannot add Outer: it uses its own Inner, which differs from this graph's Inner; rename this graph's Inner first.",
    });
  });

  it("aliases the outer block when its name is taken by another definition or a built-in, never the inner ones", () => {
    const taken = withLibraryBlock(graph({ Outer: block("Linear"), OuterV3: block("ReLU") }), specs, "Outer", version(block("Inner"), { Inner: block("ReLU") }));
    if ("error" in taken) throw new Error(taken.error);
    expect(taken.type).toBe("OuterV3x2");
    expect(Object.keys(taken.doc.composites!)).toEqual(["Outer", "OuterV3", "Inner", "OuterV3x2"]);
    expect(taken.doc.metadata).toEqual({ library: { OuterV3x2: { block: 7, version: 3 } } });

    const same = withLibraryBlock(graph({ Outer: block("Conv2d") }), specs, "Outer", version(block("Conv2d")));
    expect("type" in same && same.type).toBe("Outer");
    const builtin = withLibraryBlock(graph(), specs, "ReLU", version(block("Conv2d"), undefined, 2));
    expect("type" in builtin && builtin.type).toBe("ReLUV2");
  });
});
