import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { DETAIL_FONT_PX, DETAIL_MIN_ZOOM, fitZoom, openingViewport, READABLE_ZOOM, zoomStyle } from "./viewport";

/** A top-down chain of `n` nodes, `gap` canvas pixels apart, starting at (x0, y0). */
function chain(n: number, gap = 140, x0 = 0, y0 = 0): GraphDoc {
  const nodes = Array.from({ length: n }, (_, i) => ({ id: i === 0 ? "input" : `n${i}`, type: i === 0 ? "Input" : "ReLU", ui: { x: x0, y: y0 + i * gap } }));
  return { version: "0.2", nodes, edges: nodes.slice(1).map((node, i) => [nodes[i].id, node.id]), inputs: ["input"], outputs: [nodes[n - 1].id] };
}

const SCREEN = { width: 820, height: 630 };

describe("the opening view", () => {
  it("is readable by construction: the smallest card text is 12 px on screen at READABLE_ZOOM", () => {
    expect(DETAIL_FONT_PX * READABLE_ZOOM).toBeCloseTo(12);
    expect(DETAIL_MIN_ZOOM).toBeLessThan(READABLE_ZOOM);
  });

  it("shows a small graph whole, centred, never magnified", () => {
    const view = openingViewport(chain(3), SCREEN);
    expect(view.zoom).toBe(1);
    const height = 2 * 140 + NODE_HEIGHT;
    expect(view.y).toBeCloseTo((SCREEN.height - height) / 2);
    expect(view.x).toBeCloseTo((SCREEN.width - NODE_WIDTH) / 2);
  });

  it("fits a graph whole when it can still be read at that zoom", () => {
    const view = openingViewport(chain(5), SCREEN);
    expect(view.zoom).toBeLessThan(1);
    expect(view.zoom).toBeGreaterThanOrEqual(READABLE_ZOOM);
  });

  it("opens a long graph on its start at the readable zoom, centred across the flow", () => {
    const view = openingViewport(chain(40, 140, 500, 300), SCREEN);
    expect(view.zoom).toBeCloseTo(READABLE_ZOOM);
    expect(300 * view.zoom + view.y).toBeCloseTo(16); // the input's top edge, a margin below the top
    expect(500 * view.zoom + view.x + (NODE_WIDTH * view.zoom) / 2).toBeCloseTo(SCREEN.width / 2);
  });

  it("brings a hand-placed input into view when the drawing's top-left is elsewhere", () => {
    const doc = chain(40);
    doc.nodes[0] = { ...doc.nodes[0], ui: { x: 0, y: 40 * 140 } }; // the input drawn at the bottom
    const view = openingViewport(doc, SCREEN);
    const top = 40 * 140 * view.zoom + view.y;
    expect(top).toBeGreaterThanOrEqual(0);
    expect(top + NODE_HEIGHT * view.zoom).toBeLessThanOrEqual(SCREEN.height);
  });

  it("uses measured sizes when it has them", () => {
    const tall = openingViewport(chain(3), SCREEN, () => ({ width: 240, height: 600 }));
    expect(tall.zoom).toBeLessThan(openingViewport(chain(3), SCREEN).zoom);
  });

  it("copes with an empty graph and an unmeasured canvas", () => {
    expect(openingViewport({ version: "0.2", nodes: [], edges: [], inputs: [], outputs: [] }, SCREEN).zoom).toBe(1);
    expect(openingViewport(chain(3), { width: 0, height: 0 }).zoom).toBe(1);
  });
});

describe("the zoom that fits a drawing", () => {
  it("is set by the tighter of the two axes, a margin kept, and unbounded for nothing to show", () => {
    const boxes = [
      { x: 0, y: 0, width: 240, height: 120 },
      { x: 0, y: 2000, width: 240, height: 120 },
    ];
    expect(fitZoom(boxes, SCREEN)).toBeCloseTo((SCREEN.height - 32) / 2120);
    expect(fitZoom([], SCREEN)).toBe(Infinity);
  });
});

describe("the zoom as CSS sees it", () => {
  it("rounds to 2.5% steps and switches to the glance view below DETAIL_MIN_ZOOM", () => {
    expect(zoomStyle(0.8912)).toEqual({ z: "0.900", glance: false });
    expect(zoomStyle(0.74)).toEqual({ z: "0.750", glance: true });
    expect(zoomStyle(0.001).z).toBe("0.025");
  });
});
