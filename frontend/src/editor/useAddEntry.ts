// Adding a palette entry as a node at a canvas point (palette, drop, quick-add): a library block is fetched
// and brought into the graph's composites first, and a connection dropped on empty canvas is completed.
import { useCallback, useLayoutEffect, useRef } from "react";
import { apiJson } from "../api";
import type { Boot } from "../boot";
import type { GraphDoc } from "../graph";
import { targetHandleIds } from "../lib/convert";
import { addNode, type Connection, connect, connectionProblem } from "../lib/docops";
import { NODE_WIDTH } from "../lib/layout";
import { type LibraryVersion, withLibraryBlock } from "../lib/library";
import type { SpecIndex } from "../lib/specs";
import type { PaletteEntry } from "./entries";
import type { Edit } from "./useEditorState";

/** A connection dragged from a handle and dropped on empty canvas: the new node takes its free end. */
export type PendingConnection = Connection & { from: "source" | "target" };

export type AddEntry = (entry: PaletteEntry, at: { x: number; y: number }, pending?: PendingConnection) => Promise<void>;

export interface AddEntryOptions {
  boot: Boot;
  specs: SpecIndex;
  readOnly: boolean;
  doc: GraphDoc;
  edit: Edit;
  flash: (text: string) => void;
  /** Called once the node is added (it is selected: show its properties). */
  onAdded: () => void;
}

export function useAddEntry({ boot, specs, readOnly, doc, edit, flash, onAdded }: AddEntryOptions): AddEntry {
  // The document on screen when a library block's version arrives (the fetch may outlast several edits).
  const rendered = useRef(doc);
  useLayoutEffect(() => {
    rendered.current = doc;
  }, [doc]);

  return useCallback(
    async (entry, at, pending) => {
      if (readOnly) return;
      const place = { x: Math.round(at.x - NODE_WIDTH / 2), y: Math.round(at.y - 20) };
      let prepare: (d: GraphDoc) => { doc: GraphDoc; type: string } | { error: string } = (d) => ({ doc: d, type: entry.type });
      if (entry.kind === "library" && entry.block) {
        const block = entry.block;
        let version: LibraryVersion;
        try {
          version = await apiJson(`${boot.urls.composites}${block.id}/versions/${block.head}/`);
        } catch (e) {
          flash(`Could not load ${block.name}: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        // A refusal is explained against the rendered document; the edit applies to the reducer's own.
        const checked = withLibraryBlock(rendered.current, specs, block.name, version);
        if ("error" in checked) {
          flash(checked.error);
          return;
        }
        prepare = (d) => withLibraryBlock(d, specs, block.name, version);
      }
      edit((d) => {
        const prepared = prepare(d);
        if ("error" in prepared) return null;
        const added = addNode(prepared.doc, { type: prepared.type, position: place });
        let next = added.doc;
        if (pending) {
          const info = specs.info(prepared.type, next.composites);
          const conn: Connection =
            pending.from === "source"
              ? { source: pending.source, sourceHandle: pending.sourceHandle, target: added.id, targetHandle: targetHandleIds(info, 0)[0] ?? null }
              : { source: added.id, sourceHandle: "out", target: pending.target, targetHandle: pending.targetHandle };
          if (connectionProblem(next, specs, conn) === null) next = connect(next, specs, conn);
        }
        return { doc: next, select: added.id };
      });
      onAdded();
    },
    [readOnly, boot.urls.composites, edit, specs, flash, onAdded],
  );
}
