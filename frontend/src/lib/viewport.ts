// Zoom levels that keep the canvas readable: where it opens, and what a node shows at each zoom.
//
// Node text is at least DETAIL_FONT_PX canvas pixels (canvas.css), so it is at least 12 px on screen from
// READABLE_ZOOM up. Below DETAIL_MIN_ZOOM a node drops its detail and shows its name (and type) in a font
// that grows as the view shrinks ("glance", see LayerNode and canvas.css): names stay legible when the
// whole of a large model is in view.
import type { GraphDoc } from "../graph";
import { position } from "./graphutil";
import { bounds, type SizeOf, sizeWith } from "./layout";

/** The smallest font in a node card, in canvas pixels (canvas.css sets it). */
export const DETAIL_FONT_PX = 13.5;
/** From this zoom up, every text on the canvas is at least 12 px on screen. */
export const READABLE_ZOOM = 12 / DETAIL_FONT_PX;
/** Below this zoom a node shows its name and type only, in a font that keeps them legible. */
export const DETAIL_MIN_ZOOM = 0.75;
/** The opening view never magnifies past this: a three-node graph is not drawn huge. */
export const MAX_OPENING_ZOOM = 1;
/** Margin around the drawing in the opening view, screen pixels. */
const MARGIN = 16;

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/**
 * Where the canvas opens: the whole drawing when it fits at a readable zoom (READABLE_ZOOM or more),
 * centred; otherwise its start (the top-left of the drawing, where layouts put the input) at
 * READABLE_ZOOM, so the first thing seen can be read without zooming.
 */
export function openingViewport(doc: GraphDoc, canvas: { width: number; height: number }, sizeOf?: SizeOf): Viewport {
  const size = sizeWith(sizeOf);
  const boxes = doc.nodes.flatMap((node) => {
    const p = position(node);
    return p ? [{ id: node.id, ...p, ...size(node.id) }] : [];
  });
  if (!boxes.length || canvas.width <= 0 || canvas.height <= 0) return { x: MARGIN, y: MARGIN, zoom: MAX_OPENING_ZOOM };
  const { minX, minY, width, height } = bounds(boxes);
  const fit = Math.min(fitZoom(boxes, canvas), MAX_OPENING_ZOOM);
  if (fit >= READABLE_ZOOM) {
    return { x: (canvas.width - width * fit) / 2 - minX * fit, y: (canvas.height - height * fit) / 2 - minY * fit, zoom: fit };
  }
  const zoom = READABLE_ZOOM;
  // Along an axis where the drawing fits, centre it; where it does not, show its start.
  const place = (start: number, extent: number, room: number) => (extent * zoom <= room - 2 * MARGIN ? (room - extent * zoom) / 2 - start * zoom : MARGIN - start * zoom);
  let view = { x: place(minX, width, canvas.width), y: place(minY, height, canvas.height), zoom };
  // A hand-placed drawing may not start at its top-left: make sure an input is in view.
  const inputs = new Set(doc.inputs?.length ? doc.inputs : doc.nodes.filter((n) => n.type === "Input").map((n) => n.id));
  const input = boxes.find((b) => inputs.has(b.id));
  if (input && !inView(input, view, canvas)) view = { x: MARGIN - input.x * zoom, y: MARGIN - input.y * zoom, zoom };
  return view;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The zoom at which all of `boxes` fits on `canvas`, a margin around (Infinity for nothing to show). */
export function fitZoom(boxes: readonly Box[], canvas: { width: number; height: number }): number {
  if (!boxes.length) return Infinity;
  const { width, height } = bounds(boxes);
  return Math.min((canvas.width - 2 * MARGIN) / width, (canvas.height - 2 * MARGIN) / height);
}

/**
 * Below this zoom a card's name cannot reach 10 px on screen: its glance font stops where the card runs out
 * of room (canvas.css: 62% of its height for one line, 150cqw / n for n characters), about 33 px for a
 * 10-character name on a 240 px card.
 */
export const NAMES_LEGIBLE_ZOOM = 0.3;

function inView(box: { x: number; y: number; width: number; height: number }, view: Viewport, canvas: { width: number; height: number }): boolean {
  const left = box.x * view.zoom + view.x;
  const top = box.y * view.zoom + view.y;
  return left >= 0 && top >= 0 && left + box.width * view.zoom <= canvas.width && top + box.height * view.zoom <= canvas.height;
}

/**
 * The zoom as the canvas's CSS sees it (`--cv-z` and the `cv-glance` class on the flow's element): `z`
 * rounded to 2.5% steps, so a zoom that ends a hair away from the last one restyles nothing.
 */
export function zoomStyle(zoom: number): { z: string; glance: boolean } {
  const rounded = Math.max(0.025, Math.round(zoom * 40) / 40);
  return { z: rounded.toFixed(3), glance: zoom < DETAIL_MIN_ZOOM };
}
