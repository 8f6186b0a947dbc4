import { describe, expect, it } from "vitest";
import { REGISTRY } from "../test/registry";
import { buildEntries } from "./entries";

describe("palette entries", () => {
  it("offer every registry type but the import placeholder", () => {
    const types = buildEntries(REGISTRY, {}, []).map((e) => e.type);
    expect(types).toContain("Conv2d");
    expect(REGISTRY.nodes.map((n) => n.type)).toContain("NotImported");
    expect(types).not.toContain("NotImported");
  });
});
