// What the pointer does on the canvas: connecting handles (a refused connection says why; one dropped on
// empty canvas opens quick-add), dropping a palette entry, double-clicking the empty canvas (quick-add), and
// the palette's click (a node at the canvas's centre).
import { type Connection as FlowConnection, type FinalConnectionState, useReactFlow } from "@xyflow/react";
import { type DragEvent, type MouseEvent as ReactMouseEvent, type RefObject, useCallback, useRef } from "react";
import type { GraphDoc } from "../graph";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import { type Connection, connect, connectionProblem } from "../lib/docops";
import type { SpecIndex } from "../lib/specs";
import { DND_TYPE, entryKey, type PaletteEntry } from "./entries";
import type { AddEntry, PendingConnection } from "./useAddEntry";
import type { Edit } from "./useEditorState";

export interface CanvasInteractionOptions {
  doc: GraphDoc;
  specs: SpecIndex;
  readOnly: boolean;
  edit: Edit;
  flash: (text: string) => void;
  wrapper: RefObject<HTMLDivElement | null>;
  entries: PaletteEntry[];
  addEntry: AddEntry;
  openQuickAdd: (clientX: number, clientY: number, pending?: PendingConnection) => void;
}

export function useCanvasInteraction({ doc, specs, readOnly, edit, flash, wrapper, entries, addEntry, openQuickAdd }: CanvasInteractionOptions) {
  const rf = useReactFlow<CanvasNode, CanvasEdge>();
  // Why the connection being dragged was last refused (React Flow asks while dragging, then reports the end).
  const refusal = useRef<string | null>(null);

  const isValidConnection = useCallback(
    (conn: FlowConnection | CanvasEdge) => {
      const problem = connectionProblem(doc, specs, conn as Connection);
      refusal.current = problem;
      return problem === null;
    },
    [doc, specs],
  );

  const onConnect = useCallback(
    (conn: FlowConnection) => {
      edit((d) => (connectionProblem(d, specs, conn) === null ? connect(d, specs, conn) : null));
    },
    [edit, specs],
  );

  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, connection: FinalConnectionState) => {
      if (readOnly) return;
      if (connection.toHandle && !connection.isValid) {
        if (refusal.current) flash(refusal.current);
        return;
      }
      if (connection.toNode || !connection.fromNode || !connection.fromHandle || !wrapper.current) return;
      // Dropped on empty canvas: offer the search popup and connect what is picked.
      const point = "changedTouches" in event ? event.changedTouches[0] : event;
      const from = connection.fromHandle.type;
      openQuickAdd(
        point.clientX,
        point.clientY,
        from === "source"
          ? { from, source: connection.fromNode.id, sourceHandle: connection.fromHandle.id ?? null, target: "", targetHandle: null }
          : { from, source: "", sourceHandle: null, target: connection.fromNode.id, targetHandle: connection.fromHandle.id ?? null },
      );
    },
    [readOnly, flash, wrapper, openQuickAdd],
  );

  const onPaletteAdd = useCallback(
    (entry: PaletteEntry) => {
      const box = wrapper.current?.getBoundingClientRect();
      const centre = box ? rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 }) : { x: 0, y: 0 };
      void addEntry(entry, centre);
    },
    [addEntry, rf, wrapper],
  );

  const onDragOver = useCallback((event: DragEvent) => {
    if (event.dataTransfer.types.includes(DND_TYPE)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      const key = event.dataTransfer.getData(DND_TYPE);
      if (!key) return;
      event.preventDefault();
      const entry = entries.find((e) => entryKey(e) === key);
      if (!entry) return;
      void addEntry(entry, rf.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
    },
    [entries, addEntry, rf],
  );

  const onDoubleClick = useCallback(
    (event: ReactMouseEvent) => {
      if (readOnly || !wrapper.current) return;
      const target = event.target as HTMLElement;
      if (!target.classList.contains("react-flow__pane")) return;
      openQuickAdd(event.clientX, event.clientY);
    },
    [readOnly, wrapper, openQuickAdd],
  );

  return { isValidConnection, onConnect, onConnectEnd, onPaletteAdd, onDragOver, onDrop, onDoubleClick };
}
