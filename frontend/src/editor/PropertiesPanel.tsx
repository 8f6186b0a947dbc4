// The properties of the selected node (id, label, module path, params, disable, model outputs and their
// names, recipe stage, trainable and init (RecipeFields.tsx), input order, blocks), or of the selection, or
// of the graph (its outputs and training block) when nothing is selected.
import { type ReactNode, useState } from "react";
import type { Diagnostic, GraphDoc, NodeSummary, ParamValue, Suggestion, TrainingConfig, ValidateResult } from "../graph";
import { orderedInputs, renameNode, reorderInputs, setDisabled, setInput, setLabel, setParam, setPath } from "../lib/docops";
import { formatBytes, formatCount, formatFlops, formatValue, nodeShapeText, nodeSummary } from "../lib/format";
import { getNode, nodeIndex } from "../lib/graphutil";
import { idProblem } from "../lib/ids";
import { isNamed, outputEntries, outputSource, unnameOutputs } from "../lib/outputs";
import { flatModuleName, pathProblem } from "../lib/paths";
import type { SpecIndex } from "../lib/specs";
import { canApply, describeSuggestion } from "../lib/suggestions";
import { ParamField } from "./ParamField";
import { OutputChecks, OutputNames, RecipeFields } from "./RecipeFields";
import type { EditResult } from "./store";

export interface PropertiesPanelProps {
  doc: GraphDoc;
  specs: SpecIndex;
  selected: string[];
  validation: ValidateResult | null;
  readOnly: boolean;
  edit: (fn: (doc: GraphDoc) => EditResult, key?: string) => void;
  seal: () => void;
  onApplySuggestion: (s: Suggestion) => void;
  onFocusNode: (id: string) => void;
  onGroup: () => void;
  onDelete: () => void;
  onUngroup: (id: string) => void;
  onLookInside: (type: string) => void;
  /** Draw a block instance's own nodes in its place on the canvas (a view: the document keeps the instance). */
  onExpandInPlace: (id: string) => void;
  canGroup: boolean;
}

export function PropertiesPanel(props: PropertiesPanelProps) {
  const { doc, selected } = props;
  if (selected.length === 1 && getNode(doc, selected[0])) return <NodeProperties {...props} id={selected[0]} />;
  if (selected.length > 1) {
    return (
      <div className="cv-panel-body" data-testid="properties">
        <h3>{selected.length} nodes selected</h3>
        <p className="cv-muted cv-small">{selected.join(", ")}</p>
        {!props.readOnly ? (
          <div className="cv-row">
            {props.canGroup ? (
              <button type="button" className="cv-button" onClick={props.onGroup}>
                Group as block
              </button>
            ) : null}
            <button type="button" className="cv-button cv-button--danger" onClick={props.onDelete}>
              Delete
            </button>
          </div>
        ) : null}
      </div>
    );
  }
  return <GraphProperties {...props} />;
}

function GraphProperties({ doc, validation, readOnly, edit, onFocusNode }: PropertiesPanelProps) {
  const entries = outputEntries(doc.outputs);
  const errors = validation?.diagnostics.filter((d) => d.severity === "error").length ?? 0;
  const warnings = (validation?.diagnostics.length ?? 0) - errors;
  return (
    <div className="cv-panel-body" data-testid="properties">
      <h3>Graph</h3>
      <dl className="cv-facts">
        <dt>Nodes</dt>
        <dd>{doc.nodes.length}</dd>
        <dt>Edges</dt>
        <dd>{doc.edges.length}</dd>
        <dt>Parameters</dt>
        <dd>{validation?.params_total != null ? `${formatCount(validation.params_total)} (${validation.params_total.toLocaleString()})` : "—"}</dd>
        <dt title="At batch 1; FLOPs = 2 × MACs, as torch's FlopCounterMode counts them">FLOPs</dt>
        <dd data-testid="graph-flops">{formatFlops(validation?.summary?.totals.flops, validation?.summary?.totals.macs) || "—"}</dd>
        <dt title="Forward activations of one sample, fp32">Activations per sample</dt>
        <dd>{formatBytes(validation?.memory_bytes as number | null | undefined) || "—"}</dd>
        <dt>Problems</dt>
        <dd>{validation ? `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}` : "…"}</dd>
        <dt>Inputs</dt>
        <dd>{doc.inputs.length ? doc.inputs.map((id) => <NodeLink key={id} id={id} onFocusNode={onFocusNode} />) : <span className="cv-muted">none</span>}</dd>
        <dt>Outputs</dt>
        <dd data-testid="graph-outputs">
          {entries.length ? (
            entries.map((entry, i) => (
              <span key={i} className="cv-output-entry">
                {entry.name !== null ? <code>{entry.name} →</code> : null}
                <NodeLink id={entry.ref} onFocusNode={() => onFocusNode(outputSource(doc, entry.ref).node)} />
              </span>
            ))
          ) : (
            <span className="cv-muted">none — tick “Model output” on a node</span>
          )}
          {isNamed(doc.outputs) && !readOnly ? (
            <button type="button" className="cv-button cv-button--small" onClick={() => edit((d) => ({ ...d, outputs: unnameOutputs(d.outputs) }))} title="The model returns a tuple (or one tensor) again, in this order" data-testid="outputs-unname">
              Drop the names
            </button>
          ) : null}
        </dd>
        {doc.training ? (
          <>
            <dt>Training</dt>
            <dd data-testid="graph-training">{trainingText(doc.training)}</dd>
          </>
        ) : null}
      </dl>
      <p className="cv-muted cv-small">
        Select a node to edit it. Drag from the palette or double-click the canvas to add one; drag from an output handle to an input handle to connect.
      </p>
    </div>
  );
}

/** `training` in one line: "SGD lr 0.05, momentum 0.9 · StepLR step_size 10, gamma 0.1". */
export function trainingText(training: TrainingConfig): string {
  const part = (section: { type: string; [key: string]: unknown } | undefined) =>
    section && typeof section === "object"
      ? [String(section.type), Object.entries(section).filter(([key]) => key !== "type").map(([key, value]) => `${key} ${formatValue(value as ParamValue)}`).join(", ")].filter(Boolean).join(" ")
      : "";
  return [part(training.optimizer), part(training.scheduler)].filter(Boolean).join(" · ") || "defaults";
}

/** The selected node's share of the model: parameters, FLOPs/MACs at batch 1 and activations per sample. */
function NodeCost({ cost }: { cost: NodeSummary }) {
  const unknown = <span className="cv-muted">unknown until the input shapes are</span>;
  return (
    <dl className="cv-facts" data-testid="node-cost">
      <dt>Parameters</dt>
      <dd>{cost.params !== null ? `${cost.params.toLocaleString()} (${cost.params_frozen ? `${cost.params_frozen.toLocaleString()} frozen` : "all trainable"})` : unknown}</dd>
      <dt title="At batch 1; FLOPs = 2 × MACs, as torch's FlopCounterMode counts them">FLOPs</dt>
      <dd>{formatFlops(cost.flops, cost.macs) || unknown}</dd>
      <dt title="fp32 bytes of this node's outputs for one sample (a block: everything computed inside it)">Activations per sample</dt>
      <dd>{formatBytes(cost.activation_bytes) || unknown}</dd>
    </dl>
  );
}

function NodeLink({ id, onFocusNode }: { id: string; onFocusNode: (id: string) => void }) {
  return (
    <button type="button" className="cv-link" onClick={() => onFocusNode(id)}>
      {id}
    </button>
  );
}

function NodeProperties(props: PropertiesPanelProps & { id: string }) {
  const { doc, specs, id, validation, readOnly, edit, seal } = props;
  const node = getNode(doc, id)!;
  const info = specs.info(node.type, doc.composites);
  const params = node.params ?? {};
  const diagnostics = (validation?.diagnostics ?? []).filter((d) => d.node === id);
  const paramErrors = new Map<string, string[]>();
  const general: Diagnostic[] = [];
  const pathDiagnostics: Diagnostic[] = []; // the engine's PATH diagnostics show under the field they are about
  for (const d of diagnostics) {
    // About this node's own path ("nodes[3].path"); a block's inner path problem names the block node
    // without that path ("inside block Blk at `c`: ...") and stays in the general list.
    if (d.code === "PATH" && d.path && /^nodes\[\d+\]\.path$/.test(d.path) && !(d.suggestion && canApply(d.suggestion))) {
      pathDiagnostics.push(d);
      continue;
    }
    const match = d.path ? /params\.([A-Za-z0-9_]+)$/.exec(d.path) : null;
    if (match && info.params.some((p) => p.name === match[1])) {
      if (d.code === "MISSING_PARAM") continue; // the field says "Required." itself
      const list = paramErrors.get(match[1]) ?? [];
      list.push(d.message.replace(/^.*?params\.[A-Za-z0-9_]+:\s*/, ""));
      paramErrors.set(match[1], list);
    } else general.push(d);
  }
  const known = new Set(info.params.map((p) => p.name));
  const unknownParams = Object.keys(params).filter((k) => !known.has(k));
  const shape = nodeShapeText(validation, id);
  const count = (validation?.params as Record<string, number> | undefined)?.[id];
  const cost = nodeSummary(validation, id);
  const inputs = info.variadic ? orderedInputs(doc, specs, id) : [];

  return (
    <div className="cv-panel-body" data-testid="properties">
      <div className="cv-prop-head" style={{ borderColor: info.color }}>
        <span className="cv-node-type-chip" style={{ background: info.color }}>
          {info.type}
        </span>
        <span className="cv-muted cv-small">{info.unknown ? "unknown type" : info.category}</span>
      </div>
      <p className="cv-muted cv-small">{info.doc}</p>
      {shape || count !== undefined ? (
        <p className="cv-small">
          {shape ? (
            <>
              out <code>{shape}</code>
            </>
          ) : null}
          {count !== undefined ? <> · {count.toLocaleString()} params</> : null}
        </p>
      ) : null}
      {cost ? <NodeCost cost={cost} /> : null}

      {general.length ? (
        <ul className="cv-diag-list cv-diag-list--compact">
          {general.map((d, i) => (
            <li key={i} className={`cv-diag cv-diag--${d.severity}`}>
              <span className="cv-diag-code">{d.code}</span> {d.message}
              {d.suggestion && canApply(d.suggestion) && !readOnly ? (
                <button type="button" className="cv-button cv-button--small" onClick={() => props.onApplySuggestion(d.suggestion!)} data-testid="apply-suggestion">
                  {describeSuggestion(d.suggestion)}
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}

      <IdField key={`id-${id}`} doc={doc} id={id} readOnly={readOnly} onRename={(to) => edit((d) => ({ doc: renameNode(d, id, to), select: to }))} />
      <div className="cv-field">
        <label htmlFor="cv-node-label">label</label>
        <input
          id="cv-node-label"
          className="cv-input"
          value={node.label ?? ""}
          placeholder="display name (optional)"
          disabled={readOnly}
          onChange={(e) => edit((d) => setLabel(d, id, e.target.value), `label:${id}`)}
          onBlur={seal}
          data-testid="node-label"
        />
      </div>
      {node.type !== "Input" ? <PathField key={`path-${id}`} doc={doc} id={id} readOnly={readOnly} diagnostics={pathDiagnostics} edit={edit} seal={seal} /> : null}
      <div className="cv-checks">
        <OutputChecks doc={doc} id={id} info={info} readOnly={readOnly} edit={edit} />
        {node.type === "Input" ? (
          <label className="cv-check">
            <input type="checkbox" checked={doc.inputs.includes(id)} disabled={readOnly} onChange={(e) => edit((d) => setInput(d, id, e.target.checked))} data-testid="node-input" />
            Graph input
          </label>
        ) : null}
        <label className="cv-check" title="Ablation: the node passes its first input through unchanged">
          <input type="checkbox" checked={node.disabled === true} disabled={readOnly} onChange={(e) => edit((d) => setDisabled(d, id, e.target.checked))} data-testid="node-disabled" />
          Disabled (identity)
        </label>
      </div>

      <OutputNames doc={doc} id={id} readOnly={readOnly} edit={edit} />
      <RecipeFields doc={doc} id={id} info={info} readOnly={readOnly} paramCount={count} edit={edit} seal={seal} />

      {info.params.length ? <h4>Parameters</h4> : null}
      {info.params.map((spec) => (
        <ParamField
          key={`${id}:${spec.name}`}
          nodeId={id}
          spec={spec}
          value={params[spec.name]}
          isSet={Object.prototype.hasOwnProperty.call(params, spec.name)}
          readOnly={readOnly}
          serverErrors={paramErrors.get(spec.name) ?? []}
          onChange={(value: ParamValue | undefined) => edit((d) => setParam(d, id, spec.name, value), `param:${id}:${spec.name}`)}
          onDone={seal}
        />
      ))}
      {unknownParams.map((name) => (
        <div className="cv-field" key={`unknown-${name}`}>
          <label>
            {name} <span className="cv-field-error">unknown param</span>
          </label>
          <div className="cv-row">
            <code className="cv-grow">{formatValue(params[name])}</code>
            {!readOnly ? (
              <button type="button" className="cv-button cv-button--small" onClick={() => edit((d) => setParam(d, id, name, undefined))}>
                Remove
              </button>
            ) : null}
          </div>
        </div>
      ))}

      {info.variadic ? (
        <>
          <h4>Inputs in argument order</h4>
          {inputs.length === 0 ? <p className="cv-muted cv-small">Nothing connected yet.</p> : null}
          <ol className="cv-arg-list" data-testid="input-order">
            {inputs.map((edge, i) => (
              <li key={`${edge[0]}-${i}`}>
                <code>{edge[0]}</code>
                {!readOnly ? (
                  <span className="cv-arg-buttons">
                    <button type="button" className="cv-icon-button" disabled={i === 0} onClick={() => edit((d) => reorderInputs(d, specs, id, i, i - 1))} aria-label={`Move ${edge[0]} up`}>
                      ↑
                    </button>
                    <button type="button" className="cv-icon-button" disabled={i === inputs.length - 1} onClick={() => edit((d) => reorderInputs(d, specs, id, i, i + 1))} aria-label={`Move ${edge[0]} down`}>
                      ↓
                    </button>
                  </span>
                ) : null}
              </li>
            ))}
          </ol>
        </>
      ) : null}

      {info.userComposite ? (
        <div className="cv-row cv-gap-top">
          <button type="button" className="cv-button" onClick={() => props.onLookInside(node.type)} data-testid="look-inside">
            Look inside
          </button>
          <button type="button" className="cv-button" onClick={() => props.onExpandInPlace(id)} data-testid="expand-in-place">
            Expand in place
          </button>
          {!readOnly ? (
            <button type="button" className="cv-button" onClick={() => props.onUngroup(id)} data-testid="ungroup">
              Ungroup
            </button>
          ) : null}
        </div>
      ) : null}
      {!readOnly ? (
        <div className="cv-row cv-gap-top">
          <button type="button" className="cv-button cv-button--danger" onClick={props.onDelete} data-testid="delete-node">
            Delete node
          </button>
        </div>
      ) : null}
    </div>
  );
}

function IdField({ doc, id, readOnly, onRename }: { doc: GraphDoc; id: string; readOnly: boolean; onRename: (to: string) => void }): ReactNode {
  const [text, setText] = useState(id);
  const [shown, setShown] = useState(id);
  if (shown !== id) {
    // Another node, or this one renamed: the field starts again from its id.
    setShown(id);
    setText(id);
  }
  const problem = text === id ? null : idProblem(text, nodeIndex(doc), id);
  const commit = () => {
    if (text !== id && !problem) onRename(text);
    else if (problem) setText(id);
  };
  return (
    <div className="cv-field">
      <label htmlFor="cv-node-id">id</label>
      <input
        id="cv-node-id"
        className={problem ? "cv-input cv-input--error" : "cv-input"}
        value={text}
        disabled={readOnly}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") setText(id);
        }}
        data-testid="node-id"
      />
      <div className="cv-field-help">{problem ? <div className="cv-field-error">{problem}</div> : <span className="cv-muted">Renaming updates every edge; press Enter.</span>}</div>
    </div>
  );
}

/**
 * The node's module path. A well-formed path applies as it is typed (one undo step per visit, like the
 * label); a malformed one or one another node has stays in the field with the reason and is not applied.
 * Clearing the field removes `path`: the module is a top-level attribute named after the id again. What
 * only the engine can tell (a path under another node's module, a path on a function that places nothing)
 * comes back as its PATH diagnostics, errors and warnings.
 */
function PathField(props: { doc: GraphDoc; id: string; readOnly: boolean; diagnostics: Diagnostic[]; edit: PropertiesPanelProps["edit"]; seal: () => void }): ReactNode {
  const { doc, id, readOnly, diagnostics, edit, seal } = props;
  const stored = getNode(doc, id)?.path ?? "";
  const [text, setText] = useState(stored);
  const [shown, setShown] = useState(stored);
  if (shown !== stored) {
    // undo, redo, a rename elsewhere
    setShown(stored);
    setText(stored);
  }
  const problem = pathProblem(text.trim(), doc.nodes, id);
  const invalid = !!problem || diagnostics.some((d) => d.severity === "error");
  const change = (value: string) => {
    setText(value);
    const path = value.trim();
    if (!pathProblem(path, doc.nodes, id)) edit((d) => setPath(d, id, path), `path:${id}`);
  };
  return (
    <div className="cv-field">
      <label htmlFor="cv-node-path">module path</label>
      <input
        id="cv-node-path"
        className={invalid ? "cv-input cv-input--error cv-mono" : "cv-input cv-mono"}
        value={text}
        placeholder={flatModuleName(id)}
        disabled={readOnly}
        spellCheck={false}
        aria-invalid={invalid ? true : undefined}
        aria-describedby="cv-node-path-help"
        onChange={(e) => change(e.target.value)}
        onBlur={seal}
        onKeyDown={(e) => {
          if (e.key === "Escape") setText(stored);
        }}
        data-testid="node-path"
      />
      <div className="cv-field-help" id="cv-node-path-help">
        {problem ? (
          <div className="cv-field-error" data-testid="node-path-error">
            {problem} Not applied.
          </div>
        ) : diagnostics.length ? (
          diagnostics.map((d, i) => (
            <div key={i} className={d.severity === "error" ? "cv-field-error" : "cv-field-warning"} data-testid={`node-path-${d.severity}`}>
              {d.message}
            </div>
          ))
        ) : (
          <span className="cv-muted">
            Where the module sits in the model, e.g. <code>features.0</code> or <code>layer1.0.conv1</code>: state_dict keys become <code>{"<path>.weight"}</code>. Empty: a
            top-level attribute named after the id.
          </span>
        )}
      </div>
    </div>
  );
}
