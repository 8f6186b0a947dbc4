// The editor: the document with its history and selection, the React Flow canvas, palette, toolbar and
// inspector. Each concern lives in its own hook (use*.ts); this component wires them together.
import { Background, BackgroundVariant, Controls, MiniMap, ReactFlow } from "@xyflow/react";
import { useCallback, useMemo, useRef, useState } from "react";
import type { Boot } from "../boot";
import type { GraphDoc, Registry } from "../graph";
import type { CanvasEdge, CanvasNode } from "../lib/convert";
import { canRedo, canUndo } from "../lib/history";
import type { Direction } from "../lib/layout";
import { SpecIndex } from "../lib/specs";
import type { DrawnNode } from "../lib/stages";
import { CompositeDialogs } from "./CompositeDialogs";
import { ConflictDialog } from "./ConflictDialog";
import { DraftBanners } from "./DraftBanners";
import { Inspector } from "./Inspector";
import { LayerNode } from "./LayerNode";
import { Palette } from "./Palette";
import { QuickAdd } from "./QuickAdd";
import { RecipeLegend } from "./RecipeLegend";
import { ShapeEdge } from "./ShapeEdge";
import { InstanceFrame, StageActions, StageNode } from "./StageNode";
import { Toolbar } from "./Toolbar";
import { useAddEntry } from "./useAddEntry";
import { useCanvasInteraction } from "./useCanvasInteraction";
import { useClipboard } from "./useClipboard";
import { useCompositeLibrary } from "./useCompositeLibrary";
import { useChosenDataset, useDatasetCheck, withDatasetProblem } from "./useDatasetCheck";
import { type StaleDraft, useDrafts } from "./useDrafts";
import { useEditorState } from "./useEditorState";
import { useFlowView } from "./useFlowView";
import { useLayoutActions } from "./useLayoutActions";
import { useNotice } from "./useNotice";
import { useQuickAdd } from "./useQuickAdd";
import { useReadableZoom } from "./useReadableZoom";
import { useSave } from "./useSave";
import { useSelectionActions } from "./useSelectionActions";
import { useShortcuts } from "./useShortcuts";
import { useInstanceExpansion, useStageView } from "./useStageView";
import { useTabs } from "./useTabs";
import { useValidation } from "./useValidation";

const NODE_TYPES = { layer: LayerNode, stage: StageNode, frame: InstanceFrame };
const EDGE_TYPES = { shape: ShapeEdge };

/** A node's colour in the minimap: its category's; a stage card's dark; a block's frame none (its nodes show). */
function minimapColor(node: DrawnNode): string {
  if (node.type === "stage") return "#344054";
  if (node.type === "frame") return "transparent";
  return (node as CanvasNode).data.info.color ?? "#94a3b8";
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
  staleDraft?: StaleDraft | null;
  initialDir: Direction;
}

export function Editor({ boot, registry, initial, baseVersion, draft, staleDraft, initialDir }: EditorProps) {
  const readOnly = !boot.canEdit;
  const specs = useMemo(() => new SpecIndex(registry), [registry]);
  const { state, doc, dispatch, edit, seal } = useEditorState(initial, draft, readOnly);
  const validation = useValidation(doc, boot.urls.validate);
  const [datasetId, chooseDataset] = useChosenDataset(boot.graphId);
  const datasetCheck = useDatasetCheck(doc, datasetId, boot.urls.datasets);
  const problems = useMemo(() => withDatasetProblem(validation, datasetCheck.diagnostic), [validation, datasetCheck.diagnostic]);
  const [dir, setDir] = useState<Direction>(initialDir);
  const { tab, visited, openTab } = useTabs();
  const { notice, flash } = useNotice();
  const wrapper = useRef<HTMLDivElement>(null);
  // The moves of one drag are one undo step (and so are the keyboard nudges between two drags).
  const dragSeq = useRef(0);
  const dragging = useRef(false);
  const selectedIds = useMemo(() => [...state.selectedNodes], [state.selectedNodes]);
  const categories = useMemo(() => registry.categories.map((c) => c.name), [registry]);

  // Opens on the whole graph where it can be read whole, else on its start (lib/viewport.ts).
  const { opening, onMove, onMoveEnd } = useReadableZoom(wrapper, initial);

  // Block instances expanded in place are drawn as their blocks' nodes (a view of the document).
  const expansion = useInstanceExpansion(doc);
  const { flow, sizeOf, onNodesChange, onEdgesChange } = useFlowView({
    doc: expansion.doc,
    specs,
    validation: validation.result,
    selectedNodes: state.selectedNodes,
    selectedEdges: state.selectedEdges,
    dir,
    readOnly,
    dispatch,
    dragSeq,
    dragging,
  });
  const layout = useLayoutActions({ boot, dir, setDir, edit, dispatch, sizeOf });
  // Stages collapse to cards, by hand or when Fit would make the names too small to read.
  const stageView = useStageView({ doc, flow, validation: validation.result, dir, sizeOf, wrapper, fit: layout.fit, fitSoon: layout.fitSoon, selectedNodes: state.selectedNodes, expansion });
  const { expand: expandInstance, collapse: collapseInstance } = expansion;
  const { fitSoon } = layout;
  const viewActions = useMemo(
    () => ({
      expand: stageView.expand,
      expandInPlace: (id: string) => {
        expandInstance(id);
        fitSoon();
      },
      collapseInstance: (id: string) => {
        collapseInstance(id);
        fitSoon();
      },
    }),
    [stageView.expand, expandInstance, collapseInstance, fitSoon],
  );
  const saver = useSave({ boot, readOnly, doc, baseVersion, initial, dir, show: layout.showLoaded, flash });
  const { base, dirty, conflict, rebase, save: saveVersion } = saver;
  const drafts = useDrafts({ boot, readOnly, doc, dirty, base, baseVersion, draft, staleDraft: staleDraft ?? null, edit, dispatch, rebase });
  const { dismissNotice } = drafts;
  const save = useCallback(
    async (baseOverride?: number) => {
      if (await saveVersion(baseOverride)) dismissNotice();
    },
    [saveVersion, dismissNotice],
  );
  const library = useCompositeLibrary({ boot, registry, readOnly, doc, dir, selectedNodes: state.selectedNodes, edit });
  const { entries, openGroup } = library;

  const showProperties = useCallback(() => openTab("properties"), [openTab]);
  const addEntry = useAddEntry({ boot, specs, readOnly, doc, edit, flash, onAdded: showProperties });
  const quickAdd = useQuickAdd(wrapper, addEntry);
  const { onConnect, onConnectEnd, isValidConnection, onPaletteAdd, onDragOver, onDrop, onDoubleClick } = useCanvasInteraction({
    doc,
    specs,
    readOnly,
    edit,
    flash,
    wrapper,
    entries,
    addEntry,
    openQuickAdd: quickAdd.open,
  });
  const actions = useSelectionActions({
    doc,
    selectedNodes: state.selectedNodes,
    selectedEdges: state.selectedEdges,
    edges: flow.edges,
    readOnly,
    edit,
    dispatch,
    flash,
  });
  const { copy, paste, trackPointer } = useClipboard({ doc, selectedNodes: state.selectedNodes, readOnly, edit, flash, wrapper });
  useShortcuts({ wrapper, doc, dispatch, copy, paste, deleteSelection: actions.deleteSelection, openGroup, save });

  const listed = problems.result?.diagnostics ?? [];
  const errorCount = listed.filter((d) => d.severity === "error").length;
  const warningCount = listed.length - errorCount;

  return (
    <div className={`tc-canvas cv-root${readOnly ? " cv-readonly" : ""}`}>
      <Toolbar
        readOnly={readOnly}
        canUndo={canUndo(state.history)}
        canRedo={canRedo(state.history)}
        onUndo={() => dispatch({ type: "undo" })}
        onRedo={() => dispatch({ type: "redo" })}
        dir={dir}
        onLayout={() => layout.runLayout(dir)}
        onDir={layout.changeDir}
        onFit={stageView.fitWhole}
        stageCount={stageView.count}
        stagesCollapsed={stageView.collapsedAny}
        onCollapseStages={stageView.collapseAll}
        onExpandStages={stageView.expandAll}
        canGroup={state.selectedNodes.size > 0}
        onGroup={openGroup}
        message={saver.message}
        onMessage={saver.setMessage}
        onSave={() => void save()}
        saving={saver.saving}
        dirty={dirty}
        status={saver.status}
        validation={validation}
        errorCount={errorCount}
        warningCount={warningCount}
        onProblems={() => openTab("problems")}
      />
      {!readOnly ? <DraftBanners drafts={drafts} baseVersion={baseVersion} /> : null}
      {readOnly ? (
        <div className="cv-banner cv-banner--muted" role="status" data-testid="read-only">
          Read-only: you can look around and inspect, but not change or save this graph.
        </div>
      ) : null}
      <div className="cv-main">
        {!readOnly ? <Palette entries={entries} categories={categories} readOnly={readOnly} libraryError={library.libraryError} onAdd={onPaletteAdd} /> : null}
        <div
          className="cv-flow"
          ref={wrapper}
          onDragOver={onDragOver}
          onDrop={onDrop}
          onDoubleClick={onDoubleClick}
          onMouseMove={trackPointer}
          data-testid="canvas"
        >
          <StageActions.Provider value={viewActions}>
            {opening ? (
              <ReactFlow<DrawnNode, CanvasEdge>
                defaultViewport={opening}
                onMove={onMove}
              onMoveEnd={onMoveEnd}
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
                onNodeDoubleClick={(_event, clicked) => (clicked.type === "stage" ? stageView.expand(clicked.data.key) : clicked.type === "frame" ? viewActions.collapseInstance(clicked.id) : openTab("properties"))}
                deleteKeyCode={null}
                selectionKeyCode="Shift"
                multiSelectionKeyCode={["Shift", "Meta", "Control"]}
                zoomOnDoubleClick={false}
                nodesDraggable={!readOnly && !stageView.rearranged}
                nodesConnectable={!readOnly}
                elementsSelectable
                minZoom={0.05}
                maxZoom={2.5}
                onlyRenderVisibleElements={doc.nodes.length > 250}
                proOptions={{ hideAttribution: true }}
              >
                <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} />
                <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={0} />
                <Controls showInteractive={false} />
              </ReactFlow>
            ) : null}
          </StageActions.Provider>
          <RecipeLegend doc={doc} specs={specs} />
          {quickAdd.at ? <QuickAdd entries={entries} at={{ left: quickAdd.at.left, top: quickAdd.at.top }} onPick={quickAdd.pick} onClose={quickAdd.close} /> : null}
          {notice ? (
            <div className="cv-toast" role="status" data-testid="notice">
              {notice}
            </div>
          ) : null}
        </div>
        <Inspector
          boot={boot}
          tab={tab}
          visited={visited}
          openTab={openTab}
          properties={{
            doc,
            specs,
            selected: selectedIds,
            validation: problems.result,
            readOnly,
            edit,
            seal,
            onApplySuggestion: actions.onApplySuggestion,
            onFocusNode: actions.focusNode,
            onGroup: openGroup,
            onDelete: actions.deleteSelection,
            onUngroup: library.onUngroup,
            onLookInside: library.setLookInside,
            onExpandInPlace: viewActions.expandInPlace,
            canGroup: !readOnly,
          }}
          validation={validation}
          problems={problems}
          datasetCheck={datasetCheck}
          dataset={{ id: datasetId, choose: chooseDataset, problem: datasetCheck.diagnostic?.message ?? null }}
          errorCount={errorCount}
          onFocusDiagnostic={actions.onFocusDiagnostic}
          onImport={layout.onImport}
          version={base.version}
          dirty={dirty}
        />
      </div>
      {conflict ? (
        <ConflictDialog
          conflict={conflict}
          base={base.version}
          busy={saver.saving}
          onLoadHead={() => void saver.loadHead()}
          onKeepEditing={saver.keepEditing}
          onOverwrite={() => void save(conflict.head.number)}
        />
      ) : null}
      <CompositeDialogs boot={boot} doc={doc} library={library} />
    </div>
  );
}
