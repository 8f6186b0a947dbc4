// The quick-add search popup: where it is open (a screen spot in the canvas and the flow point under it), and
// the connection it completes when a dragged connection was dropped on empty canvas.
import { useReactFlow } from "@xyflow/react";
import { type RefObject, useCallback, useState } from "react";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import type { PaletteEntry } from "./entries";
import type { AddEntry, PendingConnection } from "./useAddEntry";

interface QuickAddAt {
  left: number;
  top: number;
  flow: { x: number; y: number };
  pending?: PendingConnection;
}

export function useQuickAdd(wrapper: RefObject<HTMLDivElement | null>, addEntry: AddEntry) {
  const rf = useReactFlow<CanvasNode, CanvasEdge>();
  const [at, setAt] = useState<QuickAddAt | null>(null);

  /** Opens the popup at a point of the screen (inside the canvas). */
  const open = useCallback(
    (clientX: number, clientY: number, pending?: PendingConnection) => {
      const box = wrapper.current?.getBoundingClientRect();
      if (!box) return;
      const flow = rf.screenToFlowPosition({ x: clientX, y: clientY });
      setAt({ left: clientX - box.left, top: clientY - box.top, flow, ...(pending ? { pending } : {}) });
    },
    [wrapper, rf],
  );

  const close = useCallback(() => setAt(null), []);

  const pick = useCallback(
    (entry: PaletteEntry) => {
      if (!at) return;
      setAt(null);
      void addEntry(entry, at.flow, at.pending);
    },
    [at, addEntry],
  );

  return { at, open, close, pick };
}
