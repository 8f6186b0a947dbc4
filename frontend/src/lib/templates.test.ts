/// <reference types="node" />
// @vitest-environment node
// The bundled templates (codegen/templates/*.json) open in the canvas as they are stored: their `ui`
// positions are the canvas's own Layout (`layoutPositions`, top-down, at the canvas's node size), so
// the drawing a user gets from a template is the one the Layout button gives back.
// `UPDATE_TEMPLATES=1 npx vitest run src/lib/templates.test.ts` stores it in every template (run it
// after adding or changing one, or after changing the layout or the node size).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { edgeRefs, position } from "./graphutil";
import { layoutPositions, NODE_HEIGHT, NODE_WIDTH } from "./layout";

const DIR = new URL("../../../codegen/templates/", import.meta.url);
const NAMES = readdirSync(DIR)
  .filter((name) => name.endsWith(".json"))
  .sort();

function read(name: string): { text: string; doc: GraphDoc } {
  const text = readFileSync(new URL(name, DIR), "utf-8");
  return { text, doc: JSON.parse(text) as GraphDoc };
}

/** The template's text with each node's `"ui": {"x": …, "y": …}` replaced, the rest of its layout kept. */
function withStoredPositions(text: string, positions: Map<string, { x: number; y: number }>): string {
  return text.replace(/("id": "([^"]+)".*?"ui": \{)"x": -?\d+, "y": -?\d+\}/g, (whole, head: string, id: string) => {
    const p = positions.get(id);
    return p ? `${head}"x": ${p.x}, "y": ${p.y}}` : whole;
  });
}

if (process.env.UPDATE_TEMPLATES) {
  for (const name of NAMES) {
    const { text, doc } = read(name);
    writeFileSync(new URL(name, DIR), withStoredPositions(text, layoutPositions(doc, "TB")));
  }
}

describe("bundled templates", () => {
  it("are all found", () => {
    expect(NAMES).toContain("resnet18.json");
    expect(NAMES.length).toBeGreaterThanOrEqual(7);
  });

  it.each(NAMES)("%s is stored laid out by the canvas's Layout at the canvas's node size", (name) => {
    const { doc } = read(name);
    const at = (id: string) => {
      const node = doc.nodes.find((n) => n.id === id);
      const p = node && position(node);
      if (!p) throw new Error(`${name}: node ${id} has no position`);
      return p;
    };
    const laid = layoutPositions(doc, "TB");
    for (const node of doc.nodes) expect(at(node.id), `${name}: ${node.id} is not where Layout puts it (UPDATE_TEMPLATES=1 lays the templates out again)`).toEqual(laid.get(node.id));
    // Every edge goes down to a later row, across to a later column, or (a U's decoder) up its column.
    for (const ref of edgeRefs(doc)) {
      const [from, to] = [at(ref.source.node), at(ref.target)];
      const down = to.y >= from.y + NODE_HEIGHT;
      const across = to.x >= from.x + NODE_WIDTH;
      const up = to.x === from.x && to.y <= from.y - NODE_HEIGHT;
      expect(down || across || up, `${name}: edge ${ref.source.node} → ${ref.target}`).toBe(true);
    }
    for (const [i, a] of doc.nodes.entries()) {
      for (const b of doc.nodes.slice(i + 1)) {
        const [pa, pb] = [at(a.id), at(b.id)];
        const apart = Math.abs(pa.x - pb.x) >= NODE_WIDTH || Math.abs(pa.y - pb.y) >= NODE_HEIGHT;
        expect(apart, `${name}: ${a.id} and ${b.id} overlap`).toBe(true);
      }
    }
  });
});
