// The canvas island: loads the registry and the head version, restores a local draft, mounts the editor.
//
// Stable hooks for browser tests (data-testid unless noted):
//   palette-search                 the palette's search box
//   palette-item-<Type>            a palette entry (registry types and this graph's blocks); drag it onto
//                                  the canvas, or click it to add the node in the middle of the view
//   palette-library-<Name>         a block from the user's/team's library (GET /api/composites/)
//   canvas                         the canvas box (double-click empty canvas → quick-add popup)
//   quick-add, quick-add-search, quick-add-item-<Type>   the double-click search popup
//   .react-flow__node[data-id=<id>] a node (class from React Flow); inside it: node-<id> (the body),
//                                  node-badge (data-severity="error"|"warning", title = messages),
//                                  node-shape (output shape text)
//   edge-shape                     an edge's shape label (data-edge="<source>-><target>")
//   diagnostic                     a problem in the Problems tab (data-code, data-node, data-severity);
//                                  click it to select and centre its node
//   apply-suggestion               the one-click fix of a diagnostic (Problems tab and Properties)
//   undo, redo, layout, layout-direction, fit-view, group, save   toolbar buttons
//   save-message                   the save message field;  save-status   the status line ("Saved v2")
//   validity                       the toolbar's validation summary ("✓ Valid", "✕ 2 errors")
//   tab-properties, tab-problems, tab-code, tab-json, tab-run          sidebar tabs
//   properties, problems           the panels; node-id, node-label, node-output, node-input,
//                                  node-disabled, param-<name>, param-error, input-order, look-inside,
//                                  ungroup, delete-node   fields of the properties panel
//   conflict-dialog, conflict-diff, conflict-load, conflict-keep, conflict-overwrite   the 409 dialog
//   draft-notice, discard-draft    the restored-draft notice;  stale-draft-notice, restore-stale-draft,
//                                  discard-stale-draft   unsaved edits made on an older version
//   read-only                      the read-only banner
//   notice                         transient messages (refused connections, copies)
import { ReactFlowProvider } from "@xyflow/react";
import { useEffect, useState } from "react";
import { apiJson, setCsrfToken } from "./api";
import type { Boot } from "./boot";
import { Editor } from "./editor/Editor";
import { emptyGraph, type GraphDoc, type Registry } from "./graph";
import { otherDrafts, readDraft } from "./lib/draft";
import { type Direction, ensurePositions } from "./lib/layout";

interface Loaded {
  registry: Registry;
  doc: GraphDoc;
  draft: { doc: GraphDoc; savedAt: number } | null;
  staleDraft: { base: number | null; doc: GraphDoc; savedAt: number } | null;
  dir: Direction;
}

function storedDirection(graphId: number): Direction {
  try {
    return window.localStorage.getItem(`torchcanvas:dir:${graphId}`) === "LR" ? "LR" : "TB";
  } catch {
    return "TB";
  }
}

export function App({ boot }: { boot: Boot }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setCsrfToken(boot.csrfToken);
    const controller = new AbortController();
    const signal = controller.signal;
    const dir = storedDirection(boot.graphId);
    Promise.all([
      apiJson<Registry>(boot.urls.registry, { signal }),
      boot.headVersion !== null ? apiJson<{ document: GraphDoc }>(`${boot.urls.versions}${boot.headVersion}/`, { signal }).then((v) => v.document) : Promise.resolve(emptyGraph()),
    ])
      .then(([registry, document]) => {
        const doc = ensurePositions(document, dir);
        const stored = boot.canEdit ? readDraft(boot.graphId, boot.headVersion) : null;
        const draft = stored && JSON.stringify(stored.doc) !== JSON.stringify(doc) ? { doc: ensurePositions(stored.doc, dir), savedAt: stored.savedAt } : null;
        const other = boot.canEdit ? otherDrafts(boot.graphId, boot.headVersion)[0] : undefined;
        const staleDraft = other ? { base: other.base, doc: ensurePositions(other.draft.doc, dir), savedAt: other.draft.savedAt } : null;
        setLoaded({ registry, doc, draft, staleDraft, dir });
      })
      .catch((e: unknown) => {
        if (!signal.aborted) setError(e instanceof Error ? e.message : String(e));
      });
    return () => controller.abort();
  }, [boot]);

  if (error) {
    return (
      <div className="tc-canvas cv-loading" role="alert">
        <p>
          The canvas could not load: {error}. <a href={boot.urls.graphPage}>Back to the graph</a>
        </p>
      </div>
    );
  }
  if (!loaded) {
    return (
      <div className="tc-canvas cv-loading" aria-busy="true">
        <p className="cv-muted">Loading {boot.graphName}…</p>
      </div>
    );
  }
  return (
    <ReactFlowProvider>
      <Editor boot={boot} registry={loaded.registry} initial={loaded.doc} baseVersion={boot.headVersion} draft={loaded.draft} staleDraft={loaded.staleDraft} initialDir={loaded.dir} />
    </ReactFlowProvider>
  );
}
