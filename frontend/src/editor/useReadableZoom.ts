// The canvas's opening view and semantic zoom. The opening view needs the flow element's size, so the
// flow is drawn once that is measured (before the first paint); zooming writes the `cv-glance` class and,
// once a gesture ends, `--cv-z` on that element, which canvas.css reads to size names, handles and detail.
import type { Viewport as FlowViewport } from "@xyflow/react";
import { type RefObject, useLayoutEffect, useState } from "react";
import type { GraphDoc } from "../graph";
import { openingViewport, type Viewport, zoomStyle } from "../lib/viewport";

/** Writes the zoom where canvas.css reads it: the glance class at once, the font scale (`--cv-z`) too if `settled`. */
function applyZoom(element: HTMLElement, zoom: number, settled: boolean): void {
  const { z, glance } = zoomStyle(zoom);
  if (element.classList.contains("cv-glance") !== glance) element.classList.toggle("cv-glance", glance);
  // Every card's fonts and handles read --cv-z: rewriting it restyles them all, so not on every frame of a gesture.
  if (settled && element.style.getPropertyValue("--cv-z") !== z) element.style.setProperty("--cv-z", z);
}

export function useReadableZoom(wrapper: RefObject<HTMLDivElement | null>, initial: GraphDoc): { opening: Viewport | null; onMove: (event: unknown, viewport: FlowViewport) => void; onMoveEnd: (event: unknown, viewport: FlowViewport) => void } {
  const [opening, setOpening] = useState<Viewport | null>(null);

  // Once, on mount: the document the editor opened with decides the view.
  useLayoutEffect(() => {
    const element = wrapper.current;
    if (!element || opening) return;
    const view = openingViewport(initial, { width: element.clientWidth, height: element.clientHeight });
    applyZoom(element, view.zoom, true);
    // Measuring the element before the first paint and drawing with the result is what a layout effect is for.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setOpening(view);
  }, [wrapper, initial, opening]);

  // Handlers for the editor's lifetime: they read the element when React Flow calls them.
  const [handlers] = useState(() => {
    const on = (settled: boolean) => (_event: unknown, viewport: FlowViewport) => {
      const element = wrapper.current;
      if (element) applyZoom(element, viewport.zoom, settled);
    };
    return { onMove: on(false), onMoveEnd: on(true) };
  });
  return { opening, ...handlers };
}
