// The canvas's opening view and semantic zoom. The opening view needs the flow element's size, so the
// flow is drawn once that is measured (before the first paint); every later zoom writes `--cv-z` and the
// `cv-glance` class on that element, which canvas.css reads to size names, handles and detail.
import type { Viewport as FlowViewport } from "@xyflow/react";
import { type RefObject, useCallback, useLayoutEffect, useRef, useState } from "react";
import type { GraphDoc } from "../graph";
import { openingViewport, type Viewport, zoomStyle } from "../lib/viewport";

export function useReadableZoom(wrapper: RefObject<HTMLDivElement | null>, initial: GraphDoc): { opening: Viewport | null; onMove: (event: unknown, viewport: FlowViewport) => void } {
  const [opening, setOpening] = useState<Viewport | null>(null);
  const applied = useRef<string | null>(null);

  const apply = useCallback(
    (zoom: number) => {
      const element = wrapper.current;
      if (!element) return;
      const { z, glance } = zoomStyle(zoom);
      const key = `${z}/${glance}`;
      if (applied.current === key) return;
      applied.current = key;
      element.style.setProperty("--cv-z", z);
      element.classList.toggle("cv-glance", glance);
    },
    [wrapper],
  );

  // Once, on mount: the document the editor opened with decides the view.
  useLayoutEffect(() => {
    const element = wrapper.current;
    if (!element || opening) return;
    const view = openingViewport(initial, { width: element.clientWidth, height: element.clientHeight });
    apply(view.zoom);
    setOpening(view);
  }, [wrapper, initial, opening, apply]);

  const onMove = useCallback((_event: unknown, viewport: FlowViewport) => apply(viewport.zoom), [apply]);
  return { opening, onMove };
}
