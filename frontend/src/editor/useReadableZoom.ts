// The canvas's opening view and semantic zoom. The opening view needs the flow element's size, so the
// flow is drawn once that is measured (before the first paint); every later zoom writes `--cv-z` and the
// `cv-glance` class on that element, which canvas.css reads to size names, handles and detail.
import type { Viewport as FlowViewport } from "@xyflow/react";
import { type RefObject, useLayoutEffect, useState } from "react";
import type { GraphDoc } from "../graph";
import { openingViewport, type Viewport, zoomStyle } from "../lib/viewport";

/** Writes the zoom where canvas.css reads it; a no-op while it stays within one rounding step. */
function applyZoom(element: HTMLElement, zoom: number): void {
  const { z, glance } = zoomStyle(zoom);
  if (element.style.getPropertyValue("--cv-z") === z && element.classList.contains("cv-glance") === glance) return;
  element.style.setProperty("--cv-z", z);
  element.classList.toggle("cv-glance", glance);
}

export function useReadableZoom(wrapper: RefObject<HTMLDivElement | null>, initial: GraphDoc): { opening: Viewport | null; onMove: (event: unknown, viewport: FlowViewport) => void } {
  const [opening, setOpening] = useState<Viewport | null>(null);

  // Once, on mount: the document the editor opened with decides the view.
  useLayoutEffect(() => {
    const element = wrapper.current;
    if (!element || opening) return;
    const view = openingViewport(initial, { width: element.clientWidth, height: element.clientHeight });
    applyZoom(element, view.zoom);
    // Measuring the element before the first paint and drawing with the result is what a layout effect is for.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setOpening(view);
  }, [wrapper, initial, opening]);

  // One handler for the editor's lifetime: it reads the element when React Flow calls it.
  const [onMove] = useState(() => (_event: unknown, viewport: FlowViewport) => {
    const element = wrapper.current;
    if (element) applyZoom(element, viewport.zoom);
  });
  return { opening, onMove };
}
