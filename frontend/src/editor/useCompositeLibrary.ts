// Composite blocks: the library's list (the palette's "Library" entries, loaded again after a block is
// published) and the dialogs around composites: group the selection into one, ungroup one, look inside one.
import { useCallback, useEffect, useMemo, useState } from "react";
import { apiJson } from "../api";
import type { Boot } from "../boot";
import type { GraphDoc, Registry } from "../graph";
import { ungroupNode } from "../lib/grouping";
import { type Direction, ensurePositions } from "../lib/layout";
import { buildEntries, type LibraryBlock } from "./entries";
import type { Edit } from "./useEditorState";

export interface CompositeOptions {
  boot: Boot;
  registry: Registry;
  readOnly: boolean;
  doc: GraphDoc;
  dir: Direction;
  selectedNodes: ReadonlySet<string>;
  edit: Edit;
}

export function useCompositeLibrary({ boot, registry, readOnly, doc, dir, selectedNodes, edit }: CompositeOptions) {
  const [library, setLibrary] = useState<LibraryBlock[]>([]);
  const [libraryError, setLibraryError] = useState<string | null>(null);
  /** The node ids being grouped while the group dialog is open. */
  const [grouping, setGrouping] = useState<string[] | null>(null);
  /** The composite type shown by the look-inside view. */
  const [lookInside, setLookInside] = useState<string | null>(null);

  const loadLibrary = useCallback(() => {
    apiJson<{ results?: LibraryBlock[] } | LibraryBlock[]>(`${boot.urls.composites}?page_size=100`)
      .then((body) => {
        setLibrary(Array.isArray(body) ? body : (body.results ?? []));
        setLibraryError(null);
      })
      .catch((e: unknown) => setLibraryError(e instanceof Error ? e.message : String(e)));
  }, [boot.urls.composites]);
  useEffect(() => {
    if (!readOnly) loadLibrary();
  }, [loadLibrary, readOnly]);

  const composites = doc.composites;
  const entries = useMemo(() => buildEntries(registry, composites, library), [registry, composites, library]);

  const openGroup = useCallback(() => {
    if (readOnly || selectedNodes.size === 0) return;
    setGrouping([...selectedNodes]);
  }, [readOnly, selectedNodes]);
  const cancelGroup = useCallback(() => setGrouping(null), []);

  const onGroupDone = useCallback(
    (graph: GraphDoc) => {
      setGrouping(null);
      edit(() => ({ doc: ensurePositions(graph, dir), select: [] }));
      loadLibrary();
    },
    [edit, dir, loadLibrary],
  );

  const onUngroup = useCallback(
    (id: string) => {
      edit((d) => ({ doc: ensurePositions(ungroupNode(d, id), dir), select: [] }));
    },
    [edit, dir],
  );

  const closeLookInside = useCallback(() => setLookInside(null), []);

  return { entries, libraryError, grouping, openGroup, cancelGroup, onGroupDone, onUngroup, lookInside, setLookInside, closeLookInside };
}

export type CompositeLibrary = ReturnType<typeof useCompositeLibrary>;
