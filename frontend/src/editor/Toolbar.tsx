// The editor's toolbar: undo/redo, layout (direction), fit, group, save with a message, the save status
// and a validation summary.
import { memo } from "react";
import type { Direction } from "../lib/layout";
import { formatCount } from "../lib/format";
import type { ValidationState } from "./useValidation";

interface Props {
  readOnly: boolean;
  canUndo: boolean;
  canRedo: boolean;
  onUndo: () => void;
  onRedo: () => void;
  dir: Direction;
  onLayout: () => void;
  onDir: (dir: Direction) => void;
  onFit: () => void;
  /** Module stages that can collapse to one card each (offered from two), and whether any is collapsed. */
  stageCount: number;
  stagesCollapsed: boolean;
  onCollapseStages: () => void;
  onExpandStages: () => void;
  canGroup: boolean;
  onGroup: () => void;
  message: string;
  onMessage: (text: string) => void;
  onSave: () => void;
  saving: boolean;
  dirty: boolean;
  status: string;
  validation: ValidationState;
  errorCount: number;
  warningCount: number;
  onProblems: () => void;
}

const MOD = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl+";

export const Toolbar = memo(function Toolbar(props: Props) {
  const { readOnly, validation, errorCount, warningCount } = props;
  const total = validation.result?.params_total;
  return (
    <div className="cv-toolbar" role="toolbar" aria-label="Canvas tools">
      {!readOnly ? (
        <div className="cv-toolgroup">
          <button type="button" className="cv-tool" onClick={props.onUndo} disabled={!props.canUndo} title={`Undo (${MOD}Z)`} data-testid="undo">
            ↶ Undo
          </button>
          <button type="button" className="cv-tool" onClick={props.onRedo} disabled={!props.canRedo} title={`Redo (${MOD}Shift+Z)`} data-testid="redo">
            ↷ Redo
          </button>
        </div>
      ) : null}
      <div className="cv-toolgroup">
        {!readOnly ? (
          <>
            <button type="button" className="cv-tool" onClick={props.onLayout} title="Arrange every node automatically" data-testid="layout">
              Auto-layout
            </button>
            <button
              type="button"
              className="cv-tool"
              onClick={() => props.onDir(props.dir === "TB" ? "LR" : "TB")}
              title="Switch between top-to-bottom and left-to-right (re-arranges)"
              data-testid="layout-direction"
            >
              {props.dir === "TB" ? "↓ Top-down" : "→ Left-right"}
            </button>
          </>
        ) : null}
        <button type="button" className="cv-tool" onClick={props.onFit} title="Fit the whole graph in view" data-testid="fit-view">
          Fit
        </button>
        {props.stageCount >= 2 ? (
          <button
            type="button"
            className="cv-tool"
            onClick={props.stagesCollapsed ? props.onExpandStages : props.onCollapseStages}
            title={props.stagesCollapsed ? "Show every node of every stage" : `Draw each of the ${props.stageCount} module stages as one card`}
            data-testid="stages-toggle"
          >
            {props.stagesCollapsed ? "Expand stages" : "Collapse stages"}
          </button>
        ) : null}
        {!readOnly ? (
          <button type="button" className="cv-tool" onClick={props.onGroup} disabled={!props.canGroup} title={`Group the selected nodes into a block (${MOD}G)`} data-testid="group">
            Group as block
          </button>
        ) : null}
      </div>
      <button
        type="button"
        className={`cv-tool cv-validity${errorCount ? " cv-validity--error" : warningCount ? " cv-validity--warning" : validation.result ? " cv-validity--ok" : ""}`}
        onClick={props.onProblems}
        title="Open the problems list"
        data-testid="validity"
      >
        {validation.pending && !validation.result
          ? "Checking…"
          : errorCount
            ? `✕ ${errorCount} error${errorCount > 1 ? "s" : ""}`
            : warningCount
              ? `! ${warningCount} warning${warningCount > 1 ? "s" : ""}`
              : validation.result
                ? "✓ Valid"
                : "—"}
        {total != null ? <span className="cv-muted"> · {formatCount(total)} params</span> : null}
        {validation.pending && validation.result ? <span className="cv-spinner" aria-label="checking" /> : null}
      </button>
      <div className="cv-spacer" />
      {!readOnly ? (
        <form
          className="cv-toolgroup cv-save"
          onSubmit={(e) => {
            e.preventDefault();
            props.onSave();
          }}
        >
          <input
            className="cv-input cv-save-message"
            placeholder="What changed? (optional)"
            value={props.message}
            onChange={(e) => props.onMessage(e.target.value)}
            maxLength={500}
            aria-label="Save message"
            data-testid="save-message"
          />
          <button type="submit" className="cv-tool cv-tool--primary" disabled={props.saving} title={`Save a new version (${MOD}S)`} data-testid="save">
            {props.saving ? "Saving…" : "Save"}
          </button>
        </form>
      ) : null}
      <span className={`cv-status${props.dirty ? " cv-status--dirty" : ""}`} data-testid="save-status" role="status">
        {props.status}
        {props.dirty && !readOnly ? <span className="cv-dirty" title="Unsaved edits (kept as a local draft)"> · unsaved edits</span> : null}
      </span>
    </div>
  );
});
