// The sidebar beside the canvas: Properties, Problems, Code, JSON and Run tabs. The last three load on first
// use (CodeMirror and the chart stay out of the first paint) and stay mounted once opened.
import { lazy, Suspense } from "react";
import type { Boot } from "../boot";
import type { Diagnostic, GraphDoc } from "../graph";
import type { DatasetChoice } from "../panels/RunPanel";
import { ProblemsPanel } from "./ProblemsPanel";
import { PropertiesPanel, type PropertiesPanelProps } from "./PropertiesPanel";
import type { DatasetCheck } from "./useDatasetCheck";
import type { Tab } from "./useTabs";
import type { ValidationState } from "./useValidation";

const CodePanel = lazy(() => import("../panels/CodePanel").then((m) => ({ default: m.CodePanel })));
const JsonPanel = lazy(() => import("../panels/JsonPanel").then((m) => ({ default: m.JsonPanel })));
const RunPanel = lazy(() => import("../panels/RunPanel").then((m) => ({ default: m.RunPanel })));

export interface InspectorProps {
  boot: Boot;
  tab: Tab;
  visited: ReadonlySet<Tab>;
  openTab: (tab: Tab) => void;
  /** The Properties tab's panel, as it is given (its document, validation and read-only state serve the other tabs). */
  properties: PropertiesPanelProps;
  validation: ValidationState;
  /** The validation with the dataset check's diagnostic: what the Problems tab lists (code gating ignores it). */
  problems: ValidationState;
  datasetCheck: DatasetCheck;
  /** The dataset the model trains on (chosen in the Run tab; null: generated batches). */
  dataset: DatasetChoice;
  errorCount: number;
  onFocusDiagnostic: (d: Diagnostic) => void;
  onImport: (graph: GraphDoc) => void;
  /** The saved version the Run tab trains, and whether the canvas has changed since. */
  version: number | null;
  dirty: boolean;
}

export function Inspector(props: InspectorProps) {
  const { boot, tab, visited, openTab, properties, validation, problems, errorCount } = props;
  const { doc, readOnly } = properties;
  const result = problems.result;
  return (
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
            <PropertiesPanel {...properties} />
          </div>
          <div role="tabpanel" hidden={tab !== "problems"} className="cv-tab-panel">
            <ProblemsPanel validation={problems} datasetError={props.datasetCheck.error} readOnly={readOnly} onFocus={props.onFocusDiagnostic} onApply={properties.onApplySuggestion} />
          </div>
          {visited.has("code") ? (
            <div role="tabpanel" hidden={tab !== "code"} className="cv-tab-panel">
              <CodePanel boot={boot} graph={doc} name={boot.graphName} validation={validation} />
            </div>
          ) : null}
          {visited.has("json") ? (
            <div role="tabpanel" hidden={tab !== "json"} className="cv-tab-panel">
              <JsonPanel graph={doc} fileName={boot.names.json} documentUrl={boot.urls.document} onImport={props.onImport} />
            </div>
          ) : null}
          {visited.has("run") ? (
            <div role="tabpanel" hidden={tab !== "run"} className="cv-tab-panel">
              <RunPanel boot={boot} version={props.version} dirty={props.dirty} dataset={props.dataset} />
            </div>
          ) : null}
        </div>
      </Suspense>
    </aside>
  );
}
