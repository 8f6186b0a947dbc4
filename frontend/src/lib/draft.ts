// Unsaved work kept in localStorage, keyed by graph id and the version the edits started from, so a reload
// (or a crash) never loses it and a draft is only offered on top of the version it was made from.
import type { GraphDoc } from "../graph";

export interface Draft {
  doc: GraphDoc;
  savedAt: number;
}

export function draftKey(graphId: number, base: number | null): string {
  return `torchcanvas:draft:${graphId}:${base ?? 0}`;
}

export function storage(): Storage | null {
  try {
    return typeof window !== "undefined" ? window.localStorage : null;
  } catch {
    return null; // storage disabled
  }
}

export function readDraft(graphId: number, base: number | null): Draft | null {
  const raw = storage()?.getItem(draftKey(graphId, base));
  if (!raw) return null;
  try {
    const draft = JSON.parse(raw) as Draft;
    if (draft && typeof draft === "object" && draft.doc && Array.isArray(draft.doc.nodes) && Array.isArray(draft.doc.edges)) return draft;
  } catch {
    /* a broken draft is dropped below */
  }
  storage()?.removeItem(draftKey(graphId, base));
  return null;
}

export function writeDraft(graphId: number, base: number | null, doc: GraphDoc): void {
  try {
    storage()?.setItem(draftKey(graphId, base), JSON.stringify({ doc, savedAt: Date.now() } satisfies Draft));
  } catch {
    /* quota exceeded: the draft is best effort */
  }
}

export function clearDraft(graphId: number, base: number | null): void {
  storage()?.removeItem(draftKey(graphId, base));
}

/** Drafts of this graph made on other versions than `except` (newest first): edits from before someone else saved. */
export function otherDrafts(graphId: number, except: number | null): { base: number | null; draft: Draft }[] {
  const store = storage();
  if (!store) return [];
  const prefix = `torchcanvas:draft:${graphId}:`;
  const found: { base: number | null; draft: Draft }[] = [];
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (!key?.startsWith(prefix)) continue;
    const raw = Number(key.slice(prefix.length));
    const base = raw === 0 ? null : raw;
    if (!Number.isInteger(raw) || base === except) continue;
    const draft = readDraft(graphId, base);
    if (draft) found.push({ base, draft });
  }
  return found.sort((a, b) => b.draft.savedAt - a.draft.savedAt);
}
