// An edge labelled with the tensor shape that flows along it (the source output's inferred shape), and
// for variadic targets with its argument position.
import { BaseEdge, EdgeLabelRenderer, type EdgeProps, getBezierPath } from "@xyflow/react";
import { memo } from "react";
import type { CanvasEdge } from "../lib/convert";

export const ShapeEdge = memo(function ShapeEdge(props: EdgeProps<CanvasEdge>) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected, markerEnd, source, target } = props;
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const severity = data?.severity ?? "";
  const className = ["cv-edge", severity ? `cv-edge--${severity}` : "", selected ? "cv-edge--selected" : ""].join(" ").trim();
  const slot = data?.slot ?? "";
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} className={className} interactionWidth={16} />
      {data?.shape || slot ? (
        <EdgeLabelRenderer>
          <div
            className={`cv-edge-label${severity ? ` cv-edge-label--${severity}` : ""}`}
            data-edge={`${source}->${target}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {slot ? <span className="cv-edge-slot">{slot}</span> : null}
            {data?.shape ? (
              <span data-testid="edge-shape" data-edge={`${source}->${target}`}>
                {data.shape}
              </span>
            ) : null}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
});
