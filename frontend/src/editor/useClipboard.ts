// Copy and paste of nodes (clipboard.ts holds the buffer). A paste lands under the pointer while it is over
// the canvas; otherwise each paste of one copy lands 40 px further down and right.
import { useReactFlow } from "@xyflow/react";
import { type MouseEvent as ReactMouseEvent, type RefObject, useCallback, useRef } from "react";
import type { GraphDoc } from "../graph";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import { copyNodes, pasteClip } from "../lib/docops";
import { position } from "../lib/graphutil";
import { readClip, writeClip } from "./clipboard";
import type { Edit } from "./useEditorState";

export interface ClipboardOptions {
  doc: GraphDoc;
  selectedNodes: ReadonlySet<string>;
  readOnly: boolean;
  edit: Edit;
  flash: (text: string) => void;
  /** The canvas's box (where the pointer must be for a paste to land under it). */
  wrapper: RefObject<HTMLDivElement | null>;
}

export function useClipboard({ doc, selectedNodes, readOnly, edit, flash, wrapper }: ClipboardOptions) {
  const rf = useReactFlow<CanvasNode, CanvasEdge>();
  const pointer = useRef<{ x: number; y: number } | null>(null);
  const pasteCount = useRef(0);

  const copy = useCallback(() => {
    const clip = copyNodes(doc, selectedNodes);
    if (clip) {
      writeClip(clip);
      pasteCount.current = 0;
      flash(`Copied ${clip.nodes.length} node${clip.nodes.length > 1 ? "s" : ""}`);
    }
    return clip;
  }, [doc, selectedNodes, flash]);

  const paste = useCallback(() => {
    const clip = readClip();
    if (!clip || readOnly) return;
    const positions = clip.nodes.map(position).filter((p): p is { x: number; y: number } => p !== null);
    const minX = positions.length ? Math.min(...positions.map((p) => p.x)) : 0;
    const minY = positions.length ? Math.min(...positions.map((p) => p.y)) : 0;
    let offset: { x: number; y: number };
    const box = wrapper.current?.getBoundingClientRect();
    const at = pointer.current;
    if (at && box && at.x >= box.left && at.x <= box.right && at.y >= box.top && at.y <= box.bottom) {
      const p = rf.screenToFlowPosition(at);
      offset = { x: Math.round(p.x - minX), y: Math.round(p.y - minY) };
    } else {
      pasteCount.current += 1;
      offset = { x: 40 * pasteCount.current, y: 40 * pasteCount.current };
    }
    edit((d) => {
      const pasted = pasteClip(d, clip, offset);
      return { doc: pasted.doc, select: pasted.ids };
    });
  }, [readOnly, rf, edit, wrapper]);

  /** The canvas's mouse-move handler: where a paste would land. */
  const trackPointer = useCallback((e: ReactMouseEvent) => {
    pointer.current = { x: e.clientX, y: e.clientY };
  }, []);

  return { copy, paste, trackPointer };
}
