// One node on the canvas: a header in the category's colour (type, badge), id/label, module path, key
// params, output shape and parameter count from the last validation; input handles in argument order,
// output handles per output (none on losses and metrics, which feed nothing). Loss and metrics nodes carry a
// band naming their recipe stage, Targets a "target" tag where Inputs have "input"; frozen nodes a
// "❄ frozen" tag and a muted look; model outputs the name they are returned under. Memoised: React Flow re-renders it only when its node object changes (see FlowBuilder).
import { Handle, type NodeProps, Position, useUpdateNodeInternals } from "@xyflow/react";
import { type CSSProperties, memo, useEffect, useMemo, useRef } from "react";
import { type CanvasNode, sourceHandleIds, targetHandleIds } from "../lib/convert";
import { shortValue } from "../lib/format";
import { defaultStage, RECIPE_LABELS } from "../lib/recipe";

function spread(i: number, n: number): string {
  return `${((i + 1) / (n + 1)) * 100}%`;
}

/**
 * What a card shows zoomed out (canvas.css: .cv-glance): its name in a font that grows as the view shrinks,
 * as large as the card allows, and its kind. A long name with a `_` or `.` goes on two lines, split where
 * the longer line is shortest, and then takes the kind's place; `--cv-chars` and `--cv-lines` tell the CSS
 * how much text the card must hold.
 */
export function Glance({ name, kind }: { name: string; kind: string }) {
  const lines = glanceLines(name);
  const style = { "--cv-chars": Math.max(...lines.map((l) => l.length)), "--cv-lines": lines.length } as CSSProperties;
  return (
    <div className="cv-node-glance" aria-hidden="true" style={style}>
      <span className="cv-glance-name" data-testid="node-glance-name">
        {lines.length === 2 ? (
          <>
            {lines[0]}
            <br />
            {lines[1]}
          </>
        ) : (
          name
        )}
      </span>
      {lines.length === 1 ? <span className="cv-glance-type">{kind}</span> : null}
    </div>
  );
}

/** A name as one line, or as two split after a `_` or `.` when that makes it much narrower (10+ characters). */
export function glanceLines(name: string): string[] {
  if (name.length < 10) return [name];
  let best: [string, string] | null = null;
  for (let i = 1; i < name.length - 1; i++) {
    if (name[i] !== "_" && name[i] !== ".") continue;
    const split: [string, string] = [name.slice(0, i + 1), name.slice(i + 1)];
    if (!best || Math.max(...split.map((l) => l.length)) < Math.max(...best.map((l) => l.length))) best = split;
  }
  return best && Math.max(best[0].length, best[1].length) <= 0.75 * name.length ? best : [name];
}

/** The count of a node's (or a stage's) errors, else of its warnings; nothing when it has neither. */
export function ProblemBadge({ errors, warnings, title }: { errors: number; warnings: number; title?: string }) {
  if (!errors && !warnings) return null;
  const severity = errors ? "error" : "warning";
  return (
    <span className={`cv-badge cv-badge--${severity}`} data-testid="node-badge" data-severity={severity} title={title}>
      {errors ? `✕ ${errors}` : `! ${warnings}`}
    </span>
  );
}

export const LayerNode = memo(function LayerNode({ id, data, selected }: NodeProps<CanvasNode>) {
  const { node, info, inCount, outCount, dir, reverseIn, reverseOut } = data;
  const horizontal = dir === "LR";
  const targets = useMemo(() => targetHandleIds(info, inCount), [info, inCount]);
  // Losses and metrics give one number each and feed nothing: no output handle to drag from.
  const measures = defaultStage(info) !== "model";
  const sources = useMemo(() => (measures ? [] : sourceHandleIds(outCount)), [measures, outCount]);
  const summary = useMemo(() => {
    const params = node.params ?? {};
    return info.summary
      .map((name) => {
        const spec = info.params.find((p) => p.name === name);
        const set = Object.prototype.hasOwnProperty.call(params, name);
        const value = set ? params[name] : spec?.default;
        if (!set && (value === undefined || value === null)) return spec?.required ? { name, text: "?", missing: true, isDefault: false } : null;
        return { name, text: shortValue(value), missing: false, isDefault: !set };
      })
      .filter((x): x is { name: string; text: string; missing: boolean; isDefault: boolean } => x !== null);
  }, [node.params, info]);

  // Handles appear and disappear (variadic inputs, Chunk outputs, layout direction): tell React Flow.
  const updateInternals = useUpdateNodeInternals();
  const handleKey = `${targets.length}/${sources.length}/${dir}/${reverseIn}/${reverseOut}`;
  const lastKey = useRef(handleKey);
  useEffect(() => {
    if (lastKey.current !== handleKey) {
      lastKey.current = handleKey;
      updateInternals(id);
    }
  }, [handleKey, id, updateInternals]);

  const labelled = info.variadic || info.ports.length > 1;
  const classes = ["cv-node"];
  if (selected) classes.push("cv-node--selected");
  if (node.disabled) classes.push("cv-node--disabled");
  if (data.errors) classes.push("cv-node--error");
  else if (data.warnings) classes.push("cv-node--warning");
  if (info.unknown) classes.push("cv-node--unknown");
  if (data.recipe !== "model") classes.push(`cv-node--${data.recipe}`);
  if (data.frozen) classes.push("cv-node--frozen");

  return (
    <div className={classes.join(" ")} style={{ "--cv-cat": info.color } as CSSProperties} data-testid={`node-${id}`}>
      {targets.map((handle, i) => (
        <Handle
          key={handle}
          id={handle}
          type="target"
          position={horizontal ? (reverseIn ? Position.Right : Position.Left) : reverseIn ? Position.Bottom : Position.Top}
          style={horizontal ? { top: spread(i, targets.length) } : { left: spread(i, targets.length) }}
          className={info.variadic && i === targets.length - 1 ? "cv-handle cv-handle--free" : "cv-handle"}
          isConnectable={!data.readOnly}
        >
          {labelled ? <span className="cv-handle-label">{info.variadic ? (i === targets.length - 1 ? "+" : i) : handle}</span> : null}
        </Handle>
      ))}
      {data.recipe === "loss" || data.recipe === "metrics" ? (
        <div className="cv-node-recipe" data-testid="node-stage" data-stage={data.recipe}>
          {RECIPE_LABELS[data.recipe]}
        </div>
      ) : null}
      <div className="cv-node-head">
        <span className="cv-node-type" title={info.doc}>
          {info.type}
        </span>
        <ProblemBadge errors={data.errors} warnings={data.warnings} title={data.problem} />
      </div>
      <div className="cv-node-body">
        <div className="cv-node-name">
          {node.label ? (
            <>
              <strong>{node.label}</strong> <span className="cv-muted">{id}</span>
            </>
          ) : (
            <span>{id}</span>
          )}
          {data.recipe === "target" ? (
            <span className="cv-tag cv-tag--io" title="what the loss and metrics compare the model's outputs with" data-testid="node-stage" data-stage="target">
              target
            </span>
          ) : data.isInput ? (
            <span className="cv-tag cv-tag--io">input</span>
          ) : null}
          {data.isOutput && !data.outputNames.length ? <span className="cv-tag cv-tag--io">output</span> : null}
          {data.outputNames.map((name) => (
            <span key={name} className="cv-tag cv-tag--io" title="a model output, returned under this name" data-testid="node-output-name">
              → {name}
            </span>
          ))}
          {data.frozen ? (
            <span className="cv-tag cv-tag--frozen" title="trainable: false — no gradients, skipped by the optimizer, eval mode" data-testid="node-frozen">
              ❄ frozen
            </span>
          ) : null}
          {node.disabled ? <span className="cv-tag">disabled</span> : null}
        </div>
        {node.path && node.path !== id ? (
          <div className="cv-node-path" title="module path (its state_dict keys start with it)" data-testid="node-path-text">
            {node.path}
          </div>
        ) : null}
        {summary.length ? (
          <div className="cv-node-params">
            {summary.map((s) => (
              <span key={s.name} className={s.missing ? "cv-param cv-param--missing" : s.isDefault ? "cv-param cv-param--default" : "cv-param"}>
                {s.name} <b>{s.text}</b>
              </span>
            ))}
          </div>
        ) : null}
        {data.shape || data.paramCount ? (
          <div className="cv-node-foot">
            <span className="cv-shape" data-testid="node-shape">
              {data.shape}
            </span>
            {data.paramCount && data.paramCount !== "0" ? <span className="cv-count" title="learnable parameters">{data.paramCount} params</span> : null}
          </div>
        ) : null}
      </div>
      <Glance name={node.label || id} kind={info.type} />
      {sources.map((handle, i) => (
        <Handle
          key={handle}
          id={handle}
          type="source"
          position={horizontal ? (reverseOut ? Position.Left : Position.Right) : reverseOut ? Position.Top : Position.Bottom}
          style={horizontal ? { top: spread(i, sources.length) } : { left: spread(i, sources.length) }}
          className="cv-handle"
          isConnectable={!data.readOnly}
        >
          {sources.length > 1 ? <span className="cv-handle-label cv-handle-label--out">{info.outputNames?.[i] ?? i}</span> : null}
          {data.portOutputs[i] ? (
            <span className="cv-handle-output" title="a model output" data-testid="port-output" data-port={i}>
              → {data.portOutputs[i]}
            </span>
          ) : null}
        </Handle>
      ))}
    </div>
  );
});
