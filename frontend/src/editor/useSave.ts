// Saving a version, and the 409 answer to a save (someone saved a newer version since this editor's base).
// The hook owns the base (the version the edits started from, and its document: the editor is dirty while
// its document is another), the status line, the "What changed?" message and the conflict dialog's state.
import { useCallback, useState } from "react";
import { ApiError, apiJson } from "../api";
import type { Boot } from "../boot";
import type { GraphDoc } from "../graph";
import { clearDraft } from "../lib/draft";
import { type Direction, ensurePositions } from "../lib/layout";
import type { Conflict } from "./ConflictDialog";

interface SavedVersion {
  number: number;
  created: boolean;
}

export interface Base {
  version: number | null;
  doc: GraphDoc;
}

export interface SaveOptions {
  boot: Boot;
  readOnly: boolean;
  doc: GraphDoc;
  /** The loaded version: its number and document (already laid out). */
  baseVersion: number | null;
  initial: GraphDoc;
  dir: Direction;
  /** Puts a version loaded from the server on the canvas (one undoable step). */
  show: (doc: GraphDoc) => void;
  flash: (text: string) => void;
}

export function useSave({ boot, readOnly, doc, baseVersion, initial, dir, show, flash }: SaveOptions) {
  const [base, setBase] = useState<Base>({ version: baseVersion, doc: initial });
  const [status, setStatus] = useState<string>(baseVersion ? `v${baseVersion}` : "Not saved yet");
  const [message, setMessage] = useState("");
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<Conflict | null>(null);

  /** Saves the document on the base (or knowingly on `baseOverride`, the newer head); true when it was saved. */
  const save = useCallback(
    async (baseOverride?: number): Promise<boolean> => {
      if (readOnly || saving) return false;
      setSaving(true);
      const document = doc;
      const from = baseOverride ?? base.version;
      try {
        const body: Record<string, unknown> = { document, message };
        if (from !== null) body.base = from;
        const saved = await apiJson<SavedVersion>(boot.urls.versions, { body });
        if (base.version !== saved.number) clearDraft(boot.graphId, base.version);
        clearDraft(boot.graphId, saved.number);
        setBase({ version: saved.number, doc: document });
        setStatus(saved.created ? `Saved v${saved.number}` : `No changes since v${saved.number}`);
        setMessage("");
        setConflict(null);
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 409 && error.body && typeof error.body === "object") {
          setConflict(error.body as Conflict);
          setStatus(`Not saved: v${(error.body as Conflict).head?.number ?? "?"} is newer`);
        } else {
          const text = error instanceof Error ? error.message : String(error);
          setStatus(`Save failed: ${text}`);
        }
        return false;
      } finally {
        setSaving(false);
      }
    },
    [readOnly, saving, doc, base.version, message, boot.urls.versions, boot.graphId],
  );

  /** The conflict dialog's "load the newer version": it becomes the base (undo brings the edits back). */
  const loadHead = useCallback(async () => {
    if (!conflict) return;
    setSaving(true);
    try {
      const version = await apiJson<{ number: number; document: GraphDoc }>(`${boot.urls.versions}${conflict.head.number}/`);
      const loaded = ensurePositions(version.document, dir);
      clearDraft(boot.graphId, base.version);
      show(loaded);
      setBase({ version: version.number, doc: loaded });
      setStatus(`Loaded v${version.number}`);
      setConflict(null);
    } catch (e) {
      flash(`Could not load v${conflict.head.number}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setSaving(false);
    }
  }, [conflict, boot.urls.versions, boot.graphId, base.version, dir, show, flash]);

  const keepEditing = useCallback(() => setConflict(null), []);

  /** Edits made on an older version were restored: that version becomes the base, so saving asks (409) first. */
  const rebase = useCallback((version: number | null, text: string) => {
    setBase((b) => ({ version, doc: b.doc }));
    setStatus(text);
  }, []);

  return { base, dirty: doc !== base.doc, status, message, setMessage, saving, conflict, save, loadHead, keepEditing, rebase };
}
