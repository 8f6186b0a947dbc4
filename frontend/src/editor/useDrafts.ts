// Unsaved work kept in localStorage (lib/draft.ts): written 400 ms after the last edit and at once when the
// page goes away; the notice of a draft restored on load (keep or discard it); and edits made on an older
// version (someone saved since), offered to restore, never applied silently.
import { useCallback, useEffect, useEffectEvent, useState } from "react";
import type { Boot } from "../boot";
import type { GraphDoc } from "../graph";
import { clearDraft, writeDraft } from "../lib/draft";
import type { Edit, EditorDispatch } from "./useEditorState";
import type { Base } from "./useSave";

export interface StaleDraft {
  base: number | null;
  doc: GraphDoc;
  savedAt: number;
}

export interface DraftOptions {
  boot: Boot;
  readOnly: boolean;
  doc: GraphDoc;
  dirty: boolean;
  base: Base;
  /** The version the page loaded. */
  baseVersion: number | null;
  /** The draft restored on load (already the first undoable step). */
  draft: { savedAt: number } | null;
  staleDraft: StaleDraft | null;
  edit: Edit;
  dispatch: EditorDispatch;
  rebase: (version: number | null, status: string) => void;
}

export function useDrafts({ boot, readOnly, doc, dirty, base, baseVersion, draft, staleDraft, edit, dispatch, rebase }: DraftOptions) {
  const [restoredAt, setRestoredAt] = useState<number | null>(draft ? draft.savedAt : null);
  const [stale, setStale] = useState(staleDraft);

  useEffect(() => {
    if (readOnly) return;
    const timer = window.setTimeout(() => {
      if (dirty) writeDraft(boot.graphId, base.version, doc);
      else clearDraft(boot.graphId, base.version);
    }, 400);
    return () => window.clearTimeout(timer);
  }, [doc, dirty, base.version, boot.graphId, readOnly]);
  // …and at once when the page goes away (an edit in the last 400 ms must not be lost).
  const flush = useEffectEvent(() => {
    if (dirty) writeDraft(boot.graphId, base.version, doc);
  });
  useEffect(() => {
    if (readOnly) return;
    const onPageHide = () => flush();
    window.addEventListener("pagehide", onPageHide);
    return () => window.removeEventListener("pagehide", onPageHide);
  }, [readOnly]);

  /** Hides the restored draft's notice (kept, or saved). */
  const dismissNotice = useCallback(() => setRestoredAt(null), []);

  const discardDraft = useCallback(() => {
    clearDraft(boot.graphId, base.version);
    dispatch({ type: "reset", doc: base.doc });
    setRestoredAt(null);
  }, [boot.graphId, base, dispatch]);

  const restoreStale = useCallback(() => {
    if (!stale) return;
    edit(() => ({ doc: stale.doc, select: [] }));
    rebase(stale.base, `Your edits on v${stale.base ?? "?"} (v${baseVersion ?? "?"} is newer)`);
    setStale(null);
  }, [stale, edit, rebase, baseVersion]);

  const discardStale = useCallback(() => {
    if (stale) clearDraft(boot.graphId, stale.base);
    setStale(null);
  }, [stale, boot.graphId]);

  return { restoredAt, dismissNotice, discardDraft, stale, restoreStale, discardStale };
}

export type Drafts = ReturnType<typeof useDrafts>;
