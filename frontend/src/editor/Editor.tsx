// The editor: document + history + selection, the React Flow canvas, palette, toolbar, sidebar, saving.
import {
  Background,
  BackgroundVariant,
  type Connection as FlowConnection,
  Controls,
  type EdgeChange,
  type FinalConnectionState,
  MiniMap,
  type NodeChange,
  ReactFlow,
  useReactFlow,
} from "@xyflow/react";
import { type DragEvent, lazy, type MouseEvent as ReactMouseEvent, Suspense, useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { ApiError, apiJson } from "../api";
import type { Boot } from "../boot";
import type { Diagnostic, GraphDoc, Registry, Suggestion } from "../graph";
import { ungroupNode } from "../lib/grouping";
import { type CanvasEdge, type CanvasNode, FlowBuilder, targetHandleIds } from "../lib/convert";
import { addNode, type Connection, connect, connectionProblem, copyNodes, moveNodes, pasteClip, removeItems } from "../lib/docops";
import { clearDraft, writeDraft } from "../lib/draft";
import { getNode, nodeIndex, position } from "../lib/graphutil";
import { canRedo, canUndo } from "../lib/history";
import { type LibraryVersion, withLibraryBlock } from "../lib/library";
import { type Direction, ensurePositions, layoutPositions, NODE_HEIGHT, NODE_WIDTH, withPositions } from "../lib/layout";
import { SpecIndex } from "../lib/specs";
import { type DrawnNode, isStageCard } from "../lib/stages";
import { applySuggestion } from "../lib/suggestions";
import { readClip, writeClip } from "./clipboard";
import { type Conflict, ConflictDialog } from "./ConflictDialog";
import { buildEntries, DND_TYPE, entryKey, type LibraryBlock, type PaletteEntry } from "./entries";
import { LayerNode } from "./LayerNode";
import { Palette } from "./Palette";
import { ProblemsPanel } from "./ProblemsPanel";
import { PropertiesPanel } from "./PropertiesPanel";
import { QuickAdd } from "./QuickAdd";
import { ShapeEdge } from "./ShapeEdge";
import { StageActions, StageNode } from "./StageNode";
import { shortcutFor } from "./shortcuts";
import { type EditResult, editorReducer, initEditor } from "./store";
import { Toolbar } from "./Toolbar";
import { useReadableZoom } from "./useReadableZoom";
import { useStageView } from "./useStageView";
import { useValidation } from "./useValidation";

// The side panels load on first use (CodeMirror and the chart stay out of the first paint).
const CodePanel = lazy(() => import("../panels/CodePanel").then((m) => ({ default: m.CodePanel })));
const JsonPanel = lazy(() => import("../panels/JsonPanel").then((m) => ({ default: m.JsonPanel })));
const RunPanel = lazy(() => import("../panels/RunPanel").then((m) => ({ default: m.RunPanel })));
const GroupDialog = lazy(() => import("../panels/GroupDialog").then((m) => ({ default: m.GroupDialog })));
const BlockView = lazy(() => import("../panels/BlockView").then((m) => ({ default: m.BlockView })));

const NODE_TYPES = { layer: LayerNode, stage: StageNode };
const EDGE_TYPES = { shape: ShapeEdge };

type Tab = "properties" | "problems" | "code" | "json" | "run";

interface SavedVersion {
  number: number;
  created: boolean;
}

export interface EditorProps {
  boot: Boot;
  registry: Registry;
  /** The document of the base version (already laid out). */
  initial: GraphDoc;
  baseVersion: number | null;
  /** A draft restored from localStorage, applied on top of `initial` as an undoable step. */
  draft: { doc: GraphDoc; savedAt: number } | null;
  /** Unsaved edits made on an older version (someone saved since): offered, never applied silently. */
  staleDraft?: { base: number | null; doc: GraphDoc; savedAt: number } | null;
  initialDir: Direction;
}

/** True while the person types in a field: shortcuts stay out of the way. */
export function Editor({ boot, registry, initial, baseVersion, draft, staleDraft, initialDir }: EditorProps) {
  const readOnly = !boot.canEdit;
  const specs = useMemo(() => new SpecIndex(registry), [registry]);
  // A restored draft is one undoable step on top of the loaded version.
  const [state, dispatch] = useReducer(editorReducer, null, () => {
    const start = initEditor(initial);
    return draft ? editorReducer(start, { type: "edit", fn: () => draft.doc }) : start;
  });
  const doc = state.history.present;
  const [base, setBase] = useState<{ version: number | null; doc: GraphDoc }>({ version: baseVersion, doc: initial });
  const dirty = doc !== base.doc;
  const validation = useValidation(doc, boot.urls.validate);
  const rf = useReactFlow<DrawnNode, CanvasEdge>();

  const [dir, setDir] = useState<Direction>(initialDir);
  const [tab, setTab] = useState<Tab>("properties");
  const [visited, setVisited] = useState<Set<Tab>>(() => new Set(["properties"]));
  const [status, setStatus] = useState<string>(baseVersion ? `v${baseVersion}` : "Not saved yet");
  const [message, setMessage] = useState("");
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [draftNotice, setDraftNotice] = useState<number | null>(draft ? draft.savedAt : null);
  const [stale, setStale] = useState(staleDraft ?? null);
  const [quickAdd, setQuickAdd] = useState<{ left: number; top: number; flow: { x: number; y: number }; pending?: Connection & { from: "source" | "target" } } | null>(null);
  const [grouping, setGrouping] = useState<string[] | null>(null);
  const [lookInside, setLookInside] = useState<string | null>(null);
  const [library, setLibrary] = useState<LibraryBlock[]>([]);
  const [libraryError, setLibraryError] = useState<string | null>(null);
  const [measureTick, setMeasureTick] = useState(0);

  const wrapper = useRef<HTMLDivElement>(null);
  const measured = useRef(new Map<string, { width: number; height: number }>());
  const builder = useRef(new FlowBuilder());
  const dragSeq = useRef(0);
  const dragging = useRef(false);
  const pointer = useRef<{ x: number; y: number } | null>(null);
  const refusal = useRef<string | null>(null);
  const pasteCount = useRef(0);

  const selectedIds = useMemo(() => [...state.selectedNodes], [state.selectedNodes]);

  // Opens on the whole graph where it can be read whole, else on its start (lib/viewport.ts).
  const { opening, onMove } = useReadableZoom(wrapper, initial);

  // --- edits -----------------------------------------------------------------------------------
  const edit = useCallback(
    (fn: (doc: GraphDoc) => EditResult, key?: string) => {
      if (readOnly) return;
      dispatch({ type: "edit", fn, key });
    },
    [readOnly],
  );
  const seal = useCallback(() => dispatch({ type: "seal" }), []);
  const flash = useCallback((text: string) => {
    setNotice(text);
    window.setTimeout(() => setNotice((n) => (n === text ? null : n)), 3500);
  }, []);
  const openTab = useCallback((next: Tab) => {
    setTab(next);
    setVisited((v) => (v.has(next) ? v : new Set(v).add(next)));
  }, []);

  // --- library blocks for the palette ---------------------------------------------------------
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
  const categories = useMemo(() => registry.categories.map((c) => c.name), [registry]);

  // --- local draft ----------------------------------------------------------------------------
  useEffect(() => {
    if (readOnly) return;
    const timer = window.setTimeout(() => {
      if (dirty) writeDraft(boot.graphId, base.version, doc);
      else clearDraft(boot.graphId, base.version);
    }, 400);
    return () => window.clearTimeout(timer);
  }, [doc, dirty, base.version, boot.graphId, readOnly]);
  // …and at once when the page goes away (an edit in the last 400 ms must not be lost).
  const latest = useRef({ doc, dirty, version: base.version });
  latest.current = { doc, dirty, version: base.version };
  useEffect(() => {
    if (readOnly) return;
    const flush = () => {
      if (latest.current.dirty) writeDraft(boot.graphId, latest.current.version, latest.current.doc);
    };
    window.addEventListener("pagehide", flush);
    return () => window.removeEventListener("pagehide", flush);
  }, [boot.graphId, readOnly]);

  // --- React Flow view ------------------------------------------------------------------------
  const sizeOf = useCallback((id: string) => measured.current.get(id), []);
  const flow = useMemo(
    () =>
      builder.current.build(doc, {
        specs,
        validation: validation.result,
        selectedNodes: state.selectedNodes,
        selectedEdges: state.selectedEdges,
        dir,
        readOnly,
        measured: measured.current,
        sizeOf,
      }),
    // measureTick: new sizes were recorded in `measured`
    [doc, specs, validation.result, state.selectedNodes, state.selectedEdges, dir, readOnly, measureTick, sizeOf],
  );
  // Collapsing or expanding stages redraws the graph: show all of the new drawing.
  const refit = useCallback(() => window.setTimeout(() => void rf.fitView({ duration: 300, padding: 0.1 }), 50), [rf]);
  const stageView = useStageView(doc, flow, validation.result, dir, sizeOf, refit);

  const onNodesChange = useCallback(
    (changes: NodeChange<DrawnNode>[]) => {
      let positions: Map<string, { x: number; y: number }> | null = null;
      let selection: [string, boolean][] | null = null;
      let sized = false;
      for (const change of changes) {
        if (change.type === "position" && change.position) {
          (positions ??= new Map()).set(change.id, change.position);
        } else if (change.type === "select") {
          if (!isStageCard(change.id)) (selection ??= []).push([change.id, change.selected]);
        } else if (change.type === "dimensions" && change.dimensions) {
          const prev = measured.current.get(change.id);
          if (!prev || prev.width !== change.dimensions.width || prev.height !== change.dimensions.height) {
            measured.current.set(change.id, { width: change.dimensions.width, height: change.dimensions.height });
            sized = true;
          }
        }
      }
      if (positions && !readOnly) {
        const moved = positions;
        dispatch({ type: "edit", fn: (d) => moveNodes(d, moved), key: dragging.current ? `move:${dragSeq.current}` : `nudge:${dragSeq.current}` });
      }
      if (selection) dispatch({ type: "toggle", nodes: selection });
      if (sized) setMeasureTick((t) => t + 1);
    },
    [readOnly],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<CanvasEdge>[]) => {
      const selection: [string, boolean][] = [];
      for (const change of changes) if (change.type === "select") selection.push([change.id, change.selected]);
      if (selection.length) dispatch({ type: "toggle", edges: selection });
    },
    [],
  );

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
      const box = wrapper.current.getBoundingClientRect();
      const flowPoint = rf.screenToFlowPosition({ x: point.clientX, y: point.clientY });
      const from = connection.fromHandle.type;
      setQuickAdd({
        left: point.clientX - box.left,
        top: point.clientY - box.top,
        flow: flowPoint,
        pending:
          from === "source"
            ? { from, source: connection.fromNode.id, sourceHandle: connection.fromHandle.id ?? null, target: "", targetHandle: null }
            : { from, source: "", sourceHandle: null, target: connection.fromNode.id, targetHandle: connection.fromHandle.id ?? null },
      });
    },
    [readOnly, rf, flash],
  );

  // --- adding nodes ---------------------------------------------------------------------------
  const addEntry = useCallback(
    async (entry: PaletteEntry, at: { x: number; y: number }, pending?: Connection & { from: "source" | "target" }) => {
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
        const checked = withLibraryBlock(latest.current.doc, specs, block.name, version);
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
      openTab("properties");
    },
    [readOnly, boot.urls.composites, edit, specs, flash, openTab],
  );

  const canvasCentre = useCallback(() => {
    const box = wrapper.current?.getBoundingClientRect();
    if (!box) return { x: 0, y: 0 };
    return rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 });
  }, [rf]);

  const onPaletteAdd = useCallback((entry: PaletteEntry) => void addEntry(entry, canvasCentre()), [addEntry, canvasCentre]);

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
      const box = wrapper.current.getBoundingClientRect();
      setQuickAdd({ left: event.clientX - box.left, top: event.clientY - box.top, flow: rf.screenToFlowPosition({ x: event.clientX, y: event.clientY }) });
    },
    [readOnly, rf],
  );

  // --- selection helpers ----------------------------------------------------------------------
  const focusNode = useCallback(
    (id: string) => {
      const internal = rf.getInternalNode(id);
      const node = getNode(doc, id);
      const p = internal?.internals.positionAbsolute ?? position(node);
      if (!p) return;
      const w = internal?.measured.width ?? NODE_WIDTH;
      const h = internal?.measured.height ?? NODE_HEIGHT;
      dispatch({ type: "select", nodes: new Set([id]), edges: new Set() });
      void rf.setCenter(p.x + w / 2, p.y + h / 2, { zoom: Math.max(rf.getZoom(), 0.9), duration: 300 });
    },
    [rf, doc],
  );

  const onFocusDiagnostic = useCallback(
    (d: Diagnostic) => {
      const id = d.node ?? d.edge?.[1];
      if (id && getNode(doc, id)) focusNode(id);
    },
    [doc, focusNode],
  );

  const onApplySuggestion = useCallback(
    (s: Suggestion) => {
      let failed = false;
      edit((d) => {
        const applied = applySuggestion(d, s);
        if (!applied) {
          failed = true;
          return null;
        }
        return applied.select ? { doc: applied.doc, select: applied.select } : applied.doc;
      });
      if (failed) flash("That suggestion no longer fits the graph.");
    },
    [edit, flash],
  );

  const deleteSelection = useCallback(() => {
    if (readOnly) return;
    const nodes = [...state.selectedNodes];
    const edgeIds = state.selectedEdges;
    const edgeIndexes = flow.edges.filter((e) => edgeIds.has(e.id)).map((e) => e.data!.index);
    if (!nodes.length && !edgeIndexes.length) return;
    edit((d) => ({ doc: removeItems(d, nodes, edgeIndexes), select: [] }));
  }, [readOnly, state.selectedNodes, state.selectedEdges, flow.edges, edit]);

  const copy = useCallback(() => {
    const clip = copyNodes(doc, state.selectedNodes);
    if (clip) {
      writeClip(clip);
      pasteCount.current = 0;
      flash(`Copied ${clip.nodes.length} node${clip.nodes.length > 1 ? "s" : ""}`);
    }
    return clip;
  }, [doc, state.selectedNodes, flash]);

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
  }, [readOnly, rf, edit]);

  const openGroup = useCallback(() => {
    if (readOnly || state.selectedNodes.size === 0) return;
    setGrouping([...state.selectedNodes]);
  }, [readOnly, state.selectedNodes]);

  const runLayout = useCallback(
    (direction: Direction) => {
      edit((d) => withPositions(d, layoutPositions(d, direction, sizeOf, 1000)));
      window.setTimeout(() => void rf.fitView({ duration: 300, padding: 0.1 }), 50);
    },
    [edit, rf, sizeOf],
  );

  const changeDir = useCallback(
    (next: Direction) => {
      setDir(next);
      localStorage.setItem(`torchcanvas:dir:${boot.graphId}`, next);
      runLayout(next);
    },
    [boot.graphId, runLayout],
  );

  // --- saving ---------------------------------------------------------------------------------
  const save = useCallback(
    async (baseOverride?: number) => {
      if (readOnly || saving) return;
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
        setDraftNotice(null);
      } catch (error) {
        if (error instanceof ApiError && error.status === 409 && error.body && typeof error.body === "object") {
          setConflict(error.body as Conflict);
          setStatus(`Not saved: v${(error.body as Conflict).head?.number ?? "?"} is newer`);
        } else {
          const text = error instanceof Error ? error.message : String(error);
          setStatus(`Save failed: ${text}`);
        }
      } finally {
        setSaving(false);
      }
    },
    [readOnly, saving, doc, base.version, message, boot.urls.versions, boot.graphId],
  );

  const loadHead = useCallback(async () => {
    if (!conflict) return;
    setSaving(true);
    try {
      const version = await apiJson<{ number: number; document: GraphDoc }>(`${boot.urls.versions}${conflict.head.number}/`);
      const loaded = ensurePositions(version.document, dir);
      clearDraft(boot.graphId, base.version);
      dispatch({ type: "edit", fn: () => ({ doc: loaded, select: [] }) });
      setBase({ version: version.number, doc: loaded });
      setStatus(`Loaded v${version.number}`);
      setConflict(null);
      window.setTimeout(() => void rf.fitView({ duration: 300, padding: 0.1 }), 50);
    } catch (e) {
      flash(`Could not load v${conflict.head.number}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setSaving(false);
    }
  }, [conflict, boot.urls.versions, boot.graphId, base.version, dir, rf, flash]);

  const discardDraft = useCallback(() => {
    clearDraft(boot.graphId, base.version);
    dispatch({ type: "reset", doc: base.doc });
    setDraftNotice(null);
  }, [boot.graphId, base]);

  // Restoring edits made on an older version: the base becomes that version, so saving asks (409 dialog)
  // before anything newer is overwritten.
  const restoreStale = useCallback(() => {
    if (!stale) return;
    edit(() => ({ doc: stale.doc, select: [] }));
    setBase((b) => ({ version: stale.base, doc: b.doc }));
    setStatus(`Your edits on v${stale.base ?? "?"} (v${baseVersion ?? "?"} is newer)`);
    setStale(null);
  }, [stale, edit, baseVersion]);

  const discardStale = useCallback(() => {
    if (stale) clearDraft(boot.graphId, stale.base);
    setStale(null);
  }, [stale, boot.graphId]);

  const onImport = useCallback(
    (graph: GraphDoc) => {
      edit(() => ({ doc: ensurePositions(graph, dir), select: [] }));
      window.setTimeout(() => void rf.fitView({ duration: 300, padding: 0.1 }), 80);
    },
    [edit, dir, rf],
  );

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

  // --- keyboard -------------------------------------------------------------------------------
  const keys = useRef({ copy, paste, deleteSelection, openGroup, save, doc });
  keys.current = { copy, paste, deleteSelection, openGroup, save, doc };
  useEffect(() => {
    function onKeyDown(event: KeyboardEvent) {
      const shortcut = shortcutFor(event);
      if (shortcut === null) return;
      const active = document.activeElement;
      const root = wrapper.current?.closest(".tc-canvas");
      if (active && active !== document.body && root && !root.contains(active)) return;
      if (document.querySelector(".tc-modal, .cv-modal")) return; // a dialog owns the keyboard
      const k = keys.current;
      // Copy and cut leave the browser's own copy alone; every other shortcut replaces the browser's.
      if (shortcut !== "copy" && shortcut !== "cut" && shortcut !== "deselect") event.preventDefault();
      if (shortcut === "undo") dispatch({ type: "undo" });
      else if (shortcut === "redo") dispatch({ type: "redo" });
      else if (shortcut === "copy") k.copy();
      else if (shortcut === "cut") {
        if (k.copy()) k.deleteSelection();
      } else if (shortcut === "paste") k.paste();
      else if (shortcut === "selectAll") dispatch({ type: "select", nodes: new Set(nodeIndex(k.doc).keys()), edges: new Set() });
      else if (shortcut === "group") k.openGroup();
      else if (shortcut === "save") void k.save();
      else if (shortcut === "delete") k.deleteSelection();
      else dispatch({ type: "select", nodes: new Set(), edges: new Set() });
    }
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, []);

  // --- render ---------------------------------------------------------------------------------
  const result = validation.result;
  const errorCount = result?.diagnostics.filter((d) => d.severity === "error").length ?? 0;
  const warningCount = (result?.diagnostics.length ?? 0) - errorCount;

  return (
    <div className={`tc-canvas cv-root${readOnly ? " cv-readonly" : ""}`}>
      <Toolbar
        readOnly={readOnly}
        canUndo={canUndo(state.history)}
        canRedo={canRedo(state.history)}
        onUndo={() => dispatch({ type: "undo" })}
        onRedo={() => dispatch({ type: "redo" })}
        dir={dir}
        onLayout={() => runLayout(dir)}
        onDir={changeDir}
        onFit={() => void rf.fitView({ duration: 300, padding: 0.1 })}
        stageCount={stageView.count}
        stagesCollapsed={stageView.collapsedAny}
        onCollapseStages={stageView.collapseAll}
        onExpandStages={stageView.expandAll}
        canGroup={state.selectedNodes.size > 0}
        onGroup={openGroup}
        message={message}
        onMessage={setMessage}
        onSave={() => void save()}
        saving={saving}
        dirty={dirty}
        status={status}
        validation={validation}
        errorCount={errorCount}
        warningCount={warningCount}
        onProblems={() => openTab("problems")}
      />
      {draftNotice !== null && !readOnly ? (
        <div className="cv-banner" role="status" data-testid="draft-notice">
          Restored your unsaved draft from {new Date(draftNotice).toLocaleString()}.
          <button type="button" className="cv-button cv-button--small" onClick={discardDraft} data-testid="discard-draft">
            Discard
          </button>
          <button type="button" className="cv-link" onClick={() => setDraftNotice(null)}>
            Keep it
          </button>
        </div>
      ) : null}
      {stale && !readOnly ? (
        <div className="cv-banner" role="status" data-testid="stale-draft-notice">
          You have unsaved edits from {new Date(stale.savedAt).toLocaleString()}, made on v{stale.base ?? "?"}; v{baseVersion ?? "?"} has been saved since.
          <button type="button" className="cv-button cv-button--small" onClick={restoreStale} data-testid="restore-stale-draft">
            Restore my edits
          </button>
          <button type="button" className="cv-link" onClick={discardStale} data-testid="discard-stale-draft">
            Discard them
          </button>
        </div>
      ) : null}
      {readOnly ? (
        <div className="cv-banner cv-banner--muted" role="status" data-testid="read-only">
          Read-only: you can look around and inspect, but not change or save this graph.
        </div>
      ) : null}
      <div className="cv-main">
        {!readOnly ? <Palette entries={entries} categories={categories} readOnly={readOnly} libraryError={libraryError} onAdd={onPaletteAdd} /> : null}
        <div
          className="cv-flow"
          ref={wrapper}
          onDragOver={onDragOver}
          onDrop={onDrop}
          onDoubleClick={onDoubleClick}
          onMouseMove={(e) => (pointer.current = { x: e.clientX, y: e.clientY })}
          data-testid="canvas"
        >
          <StageActions.Provider value={stageView}>
            {opening ? (
              <ReactFlow<DrawnNode, CanvasEdge>
                defaultViewport={opening}
                onMove={onMove}
                nodes={stageView.nodes}
                edges={stageView.edges}
                nodeTypes={NODE_TYPES}
                edgeTypes={EDGE_TYPES}
                onNodesChange={onNodesChange}
                onEdgesChange={onEdgesChange}
                onConnect={onConnect}
                onConnectEnd={onConnectEnd}
                isValidConnection={isValidConnection}
                onNodeDragStart={() => {
                  dragSeq.current += 1;
                  dragging.current = true;
                }}
                onNodeDragStop={() => {
                  dragging.current = false;
                }}
                onSelectionDragStart={() => {
                  dragSeq.current += 1;
                  dragging.current = true;
                }}
                onSelectionDragStop={() => {
                  dragging.current = false;
                }}
                onNodeDoubleClick={(_event, clicked) => (clicked.type === "stage" ? stageView.expand(clicked.data.key) : openTab("properties"))}
                deleteKeyCode={null}
                selectionKeyCode="Shift"
                multiSelectionKeyCode={["Shift", "Meta", "Control"]}
                zoomOnDoubleClick={false}
                nodesDraggable={!readOnly && !stageView.collapsedAny}
                nodesConnectable={!readOnly}
                elementsSelectable
                minZoom={0.05}
                maxZoom={2.5}
                onlyRenderVisibleElements={doc.nodes.length > 250}
                proOptions={{ hideAttribution: true }}
              >
                <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} />
                <MiniMap pannable zoomable nodeColor={(n) => (n.type === "stage" ? "#344054" : ((n as CanvasNode).data?.info.color ?? "#94a3b8"))} nodeStrokeWidth={0} />
                <Controls showInteractive={false} />
              </ReactFlow>
            ) : null}
          </StageActions.Provider>
          {quickAdd ? (
            <QuickAdd
              entries={entries}
              at={{ left: quickAdd.left, top: quickAdd.top }}
              onPick={(entry) => {
                const pending = quickAdd.pending;
                setQuickAdd(null);
                void addEntry(entry, quickAdd.flow, pending);
              }}
              onClose={() => setQuickAdd(null)}
            />
          ) : null}
          {notice ? (
            <div className="cv-toast" role="status" data-testid="notice">
              {notice}
            </div>
          ) : null}
        </div>
        <aside className="cv-sidebar" aria-label="Inspector">
          <div className="cv-tabs" role="tablist">
            {(
              [
                ["properties", "Properties"],
                ["problems", `Problems${result ? ` (${result.diagnostics.length})` : ""}`],
                ["code", "Code"],
                ["json", "JSON"],
                ["run", "Run"],
              ] as [Tab, string][]
            ).map(([id, label]) => (
              <button
                key={id}
                type="button"
                role="tab"
                aria-selected={tab === id}
                className={tab === id ? "cv-tab cv-tab--active" : "cv-tab"}
                onClick={() => openTab(id)}
                data-testid={`tab-${id}`}
              >
                {label}
                {id === "problems" && errorCount ? <span className="cv-tab-count cv-tab-count--error">{errorCount}</span> : null}
              </button>
            ))}
          </div>
          <Suspense fallback={<p className="cv-muted cv-pad">Loading…</p>}>
          <div className="cv-tab-panels">
            <div role="tabpanel" hidden={tab !== "properties"} className="cv-tab-panel">
              <PropertiesPanel
                doc={doc}
                specs={specs}
                selected={selectedIds}
                validation={result}
                readOnly={readOnly}
                edit={edit}
                seal={seal}
                onApplySuggestion={onApplySuggestion}
                onFocusNode={focusNode}
                onGroup={openGroup}
                onDelete={deleteSelection}
                onUngroup={onUngroup}
                onLookInside={setLookInside}
                canGroup={!readOnly}
              />
            </div>
            <div role="tabpanel" hidden={tab !== "problems"} className="cv-tab-panel">
              <ProblemsPanel validation={validation} readOnly={readOnly} onFocus={onFocusDiagnostic} onApply={onApplySuggestion} />
            </div>
            {visited.has("code") ? (
              <div role="tabpanel" hidden={tab !== "code"} className="cv-tab-panel">
                <CodePanel boot={boot} graph={doc} name={boot.graphName} validation={validation} />
              </div>
            ) : null}
            {visited.has("json") ? (
              <div role="tabpanel" hidden={tab !== "json"} className="cv-tab-panel">
                <JsonPanel graph={doc} onImport={onImport} />
              </div>
            ) : null}
            {visited.has("run") ? (
              <div role="tabpanel" hidden={tab !== "run"} className="cv-tab-panel">
                <RunPanel boot={boot} version={base.version} dirty={dirty} />
              </div>
            ) : null}
          </div>
          </Suspense>
        </aside>
      </div>
      {conflict ? (
        <ConflictDialog
          conflict={conflict}
          base={base.version}
          busy={saving}
          onLoadHead={() => void loadHead()}
          onKeepEditing={() => setConflict(null)}
          onOverwrite={() => void save(conflict.head.number)}
        />
      ) : null}
      <Suspense fallback={null}>
        {grouping ? <GroupDialog boot={boot} graph={doc} selection={grouping} onDone={onGroupDone} onCancel={() => setGrouping(null)} /> : null}
        {lookInside ? <BlockView graph={doc} type={lookInside} onClose={() => setLookInside(null)} /> : null}
      </Suspense>
    </div>
  );
}
