// The editor's keyboard shortcuts (shortcuts.ts decides which key is which): active while the focus is on
// the canvas or nowhere, and not while a dialog is open.
import { type RefObject, useEffect, useEffectEvent } from "react";
import type { GraphDoc } from "../graph";
import { nodeIndex } from "../lib/graphutil";
import { shortcutFor } from "./shortcuts";
import type { EditorDispatch } from "./useEditorState";

export interface ShortcutActions {
  /** The canvas (its `.tc-canvas` root tells the editor's focus from the rest of the page's). */
  wrapper: RefObject<HTMLDivElement | null>;
  doc: GraphDoc;
  dispatch: EditorDispatch;
  /** Copies the selection; what it copied, if anything (cut deletes only then). */
  copy: () => unknown;
  paste: () => void;
  deleteSelection: () => void;
  openGroup: () => void;
  save: () => Promise<unknown>;
}

export function useShortcuts({ wrapper, doc, dispatch, copy, paste, deleteSelection, openGroup, save }: ShortcutActions) {
  const onKeyDown = useEffectEvent((event: KeyboardEvent) => {
    const shortcut = shortcutFor(event);
    if (shortcut === null) return;
    const active = document.activeElement;
    const root = wrapper.current?.closest(".tc-canvas");
    if (active && active !== document.body && root && !root.contains(active)) return;
    if (document.querySelector(".tc-modal, .cv-modal")) return; // a dialog owns the keyboard
    // Copy and cut leave the browser's own copy alone; every other shortcut replaces the browser's.
    if (shortcut !== "copy" && shortcut !== "cut" && shortcut !== "deselect") event.preventDefault();
    if (shortcut === "undo") dispatch({ type: "undo" });
    else if (shortcut === "redo") dispatch({ type: "redo" });
    else if (shortcut === "copy") copy();
    else if (shortcut === "cut") {
      if (copy()) deleteSelection();
    } else if (shortcut === "paste") paste();
    else if (shortcut === "selectAll") dispatch({ type: "select", nodes: new Set(nodeIndex(doc).keys()), edges: new Set() });
    else if (shortcut === "group") openGroup();
    else if (shortcut === "save") void save();
    else if (shortcut === "delete") deleteSelection();
    else dispatch({ type: "select", nodes: new Set(), edges: new Set() });
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent) => onKeyDown(event);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);
}
