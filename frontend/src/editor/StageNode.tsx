// A collapsed module stage on the canvas (lib/stages.ts): its path, how many nodes it holds, their
// parameters and the shape it hands on; one handle in, one out (edges are drawn to it, not made on it).
// Expanding it (the button, or a double click on the card) is the editor's: StageActions carries it. Also the
// frame around a block instance expanded in place: the instance's id and block, and the way back.
import { Handle, type NodeProps, Position } from "@xyflow/react";
import { createContext, memo, useContext } from "react";
import type { FrameCanvasNode, StageCanvasNode } from "../lib/stages";
import { Glance, ProblemBadge } from "./LayerNode";

export const StageActions = createContext<{ expand: (key: string) => void; collapseInstance: (id: string) => void }>({ expand: () => undefined, collapseInstance: () => undefined });

export const StageNode = memo(function StageNode({ data, selected }: NodeProps<StageCanvasNode>) {
  const { expand } = useContext(StageActions);
  const horizontal = data.dir === "LR";
  const classes = ["cv-node", "cv-node--stage"];
  if (selected) classes.push("cv-node--selected");
  if (data.errors) classes.push("cv-node--error");
  else if (data.warnings) classes.push("cv-node--warning");
  const layers = `${data.count} node${data.count === 1 ? "" : "s"}`;
  return (
    <div className={classes.join(" ")} data-testid={`stage-${data.key}`}>
      <Handle type="target" id="x" position={horizontal ? Position.Left : Position.Top} className="cv-handle" isConnectable={false} />
      <div className="cv-node-head">
        <span className="cv-node-type">Stage · {layers}</span>
        <ProblemBadge errors={data.errors} warnings={data.warnings} />
      </div>
      <div className="cv-node-body">
        <div className="cv-node-name">
          <strong>{data.key}</strong>
        </div>
        <button type="button" className="cv-button cv-button--small cv-stage-expand nodrag" onClick={() => expand(data.key)} data-testid={`expand-${data.key}`} title="Show the stage's nodes">
          Expand
        </button>
        {data.shape || data.paramCount ? (
          <div className="cv-node-foot">
            <span className="cv-shape">{data.shape}</span>
            {data.paramCount && data.paramCount !== "0" ? <span className="cv-count">{data.paramCount} params</span> : null}
          </div>
        ) : null}
      </div>
      <Glance name={data.key} kind={layers} />
      <Handle type="source" id="out" position={horizontal ? Position.Right : Position.Bottom} className="cv-handle" isConnectable={false} />
    </div>
  );
});

export const InstanceFrame = memo(function InstanceFrame({ data, selected }: NodeProps<FrameCanvasNode>) {
  const { collapseInstance } = useContext(StageActions);
  return (
    <div className={`cv-frame${selected ? " cv-frame--selected" : ""}`} data-testid={`frame-${data.instance}`}>
      <div className="cv-frame-label">
        <strong>{data.instance}</strong> <span className="cv-muted">{data.block}, expanded</span>
        <button type="button" className="cv-button cv-button--small nodrag" onClick={() => collapseInstance(data.instance)} data-testid={`collapse-${data.instance}`} title="Show the block as one node again">
          Collapse
        </button>
      </div>
    </div>
  );
});
