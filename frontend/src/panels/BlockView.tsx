// A read-only look inside a block: the inner graph of a user-defined block (laid out by dagre) with each
// node's type and params and the block's declared params; for a built-in block, its registry doc.
import dagre from "@dagrejs/dagre";
import { Background, type Edge, Handle, type Node, type NodeProps, Position, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { type JSX, useMemo } from "react";
import type { CompositeDefinition, GraphDoc, GraphNode } from "../graph";
import { edgeSource } from "../lib/grouping";
import { Modal } from "./Modal";
import "./panels.css";

const NODE_WIDTH = 190;

type InnerNodeData = { node: GraphNode; isInput: boolean; isOutput: boolean };
type InnerNode = Node<InnerNodeData, "tcInner">;

function formatValue(value: unknown): string {
  return typeof value === "string" && !value.includes("$") ? JSON.stringify(value) : Array.isArray(value) ? JSON.stringify(value) : String(value);
}

function InnerNodeBox(props: NodeProps<InnerNode>) {
  const { node, isInput, isOutput } = props.data;
  const params = Object.entries(node.params ?? {});
  return (
    <div className={`tc-inner-node${isInput ? " tc-inner-input" : ""}${isOutput ? " tc-inner-output" : ""}${node.disabled ? " tc-inner-disabled" : ""}`}>
      {!isInput && <Handle type="target" position={Position.Top} isConnectable={false} />}
      <div className="tc-inner-title">
        <strong>{node.label || node.id}</strong>
        <span className="tc-inner-type">{isInput ? "input" : node.type}</span>
      </div>
      {node.path ? <div className="tc-inner-path">{node.path}</div> : null}
      {params.length > 0 && (
        <ul className="tc-inner-params">
          {params.map(([key, value]) => (
            <li key={key}>
              {key} = <code className={typeof value === "string" && value.includes("$") ? "tc-ref" : undefined}>{formatValue(value)}</code>
            </li>
          ))}
        </ul>
      )}
      {isOutput && <div className="tc-inner-tag">output</div>}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { tcInner: InnerNodeBox };

/** React Flow nodes and edges of a definition, positioned top to bottom by dagre. */
export function layoutDefinition(definition: CompositeDefinition): { nodes: InnerNode[]; edges: Edge[] } {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 36, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const heights = new Map<string, number>();
  for (const node of definition.nodes) {
    const height = 44 + 18 * Object.keys(node.params ?? {}).length + (definition.outputs.includes(node.id) ? 16 : 0) + (node.path ? 16 : 0);
    heights.set(node.id, height);
    g.setNode(node.id, { width: NODE_WIDTH, height });
  }
  const ids = new Set(definition.nodes.map((n) => n.id));
  const edges: Edge[] = [];
  definition.edges.forEach((edge, index) => {
    const source = edgeSource(edge[0], ids);
    if (!ids.has(source.node) || !ids.has(edge[1])) return;
    g.setEdge(source.node, edge[1]);
    const label = [source.output !== null ? `out ${source.output}` : null, edge[2] ?? null].filter(Boolean).join(" → ");
    edges.push({ id: `e${index}`, source: source.node, target: edge[1], label: label || undefined, selectable: false });
  });
  dagre.layout(g);
  const nodes: InnerNode[] = definition.nodes.map((node) => {
    const placed = g.node(node.id);
    const height = heights.get(node.id) ?? 44;
    return {
      id: node.id,
      type: "tcInner",
      position: { x: (placed?.x ?? 0) - NODE_WIDTH / 2, y: (placed?.y ?? 0) - height / 2 },
      data: { node, isInput: definition.inputs.includes(node.id), isOutput: definition.outputs.includes(node.id) },
      draggable: false,
      selectable: false,
      connectable: false,
    };
  });
  return { nodes, edges };
}

function BlockGraph(props: { definition: CompositeDefinition }) {
  const { nodes, edges } = useMemo(() => layoutDefinition(props.definition), [props.definition]);
  return (
    <div className="tc-block-flow" data-testid="block-view-graph">
      <ReactFlowProvider>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          fitView
          fitViewOptions={{ padding: 0.15 }}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          edgesFocusable={false}
          nodesFocusable={false}
          minZoom={0.2}
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={16} size={1} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}

export function BlockView(props: { graph: GraphDoc; type: string; onClose: () => void; doc?: string }): JSX.Element {
  const definition = props.graph.composites?.[props.type];
  const library = (props.graph.metadata?.library as Record<string, { block?: number; version?: number }> | undefined)?.[props.type];
  return (
    <Modal title={`Inside ${props.type}`} onClose={props.onClose} closeOnBackdrop wide testId="block-view">
      {definition ? (
        <div className="tc-block-view">
          {definition.doc && <p className="tc-doc">{definition.doc}</p>}
          <p className="tc-small tc-muted">
            Defined in this graph{library?.block ? ` (library block ${library.block}, version ${library.version ?? "head"})` : ""}:{" "}
            {definition.nodes.length - definition.inputs.length} layer{definition.nodes.length - definition.inputs.length === 1 ? "" : "s"}, one input
            and one output.
          </p>
          <BlockGraph definition={definition} />
          <h3 className="tc-heading">Parameters</h3>
          {definition.params && definition.params.length > 0 ? (
            <table className="tc-table" data-testid="block-view-params">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Default</th>
                  <th scope="col">Range</th>
                </tr>
              </thead>
              <tbody>
                {definition.params.map((param) => (
                  <tr key={param.name}>
                    <td>
                      <code>{param.name}</code>
                      {param.doc && <div className="tc-small tc-muted">{param.doc}</div>}
                    </td>
                    <td>{param.type ?? "int"}</td>
                    <td>{param.default === undefined ? <span className="tc-muted">required</span> : <code>{JSON.stringify(param.default)}</code>}</td>
                    <td>
                      {param.min !== undefined || param.max !== undefined ? `${param.min ?? "…"} – ${param.max ?? "…"}` : <span className="tc-muted">—</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="tc-small tc-muted">This block takes no parameters (besides its input size).</p>
          )}
        </div>
      ) : (
        <div className="tc-block-view" data-testid="block-view-builtin">
          <p className="tc-small tc-muted">{props.type} is a built-in block of the engine.</p>
          {props.doc ? <p className="tc-doc">{props.doc}</p> : <p className="tc-muted">No description is available.</p>}
        </div>
      )}
    </Modal>
  );
}
