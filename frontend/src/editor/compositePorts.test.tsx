import "../panels/testSetup";
import { cleanup, render } from "@testing-library/react";
import { ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { afterEach, describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { flowEdgeToGraphEdge, fromFlow, targetHandleIds, toFlow } from "../lib/convert";
import { connect, connectionProblem } from "../lib/docops";
import { ungroupNode } from "../lib/grouping";
import { SpecIndex } from "../lib/specs";
import { REGISTRY } from "../test/registry";
import { LayerNode } from "./LayerNode";

const specs = new SpecIndex(REGISTRY);

// U-Net's decoder stage takes two inputs (ports x and skip); Halves gives two outputs.
function unet(): GraphDoc {
  return {
    version: "0.2",
    nodes: [
      { id: "inp", type: "Input", params: { shape: [3, 16, 16] }, ui: { x: 0, y: 0 } },
      { id: "enc", type: "Conv2d", params: { out_channels: 8, kernel_size: 3, padding: 1 }, ui: { x: 0, y: 100 } },
      { id: "bottom", type: "Conv2d", params: { out_channels: 16, kernel_size: 3, stride: 2, padding: 1 }, ui: { x: 0, y: 200 } },
      { id: "up1", type: "Up", params: {}, ui: { x: 0, y: 300 } },
      { id: "heads", type: "Halves", params: {}, ui: { x: 0, y: 400 } },
      { id: "a", type: "ReLU", params: {}, ui: { x: 0, y: 500 } },
      { id: "b", type: "ReLU", params: {}, ui: { x: 200, y: 500 } },
    ],
    edges: [
      ["inp", "enc"],
      ["enc", "bottom"],
      ["enc", "up1", "skip"],
      ["bottom", "up1"],
      ["up1", "heads"],
      ["heads:1", "b"],
      ["heads:0", "a"],
    ],
    inputs: ["inp"],
    outputs: ["a", "b"],
    composites: {
      Up: {
        params: [{ name: "out_channels", type: "int", default: "$skip_channels" }],
        nodes: [
          { id: "x", type: "Input" },
          { id: "skip", type: "Input" },
          { id: "up", type: "Conv2d", params: { out_channels: 8, kernel_size: 1 } },
          { id: "cat", type: "Concat" },
        ],
        edges: [
          ["x", "up"],
          ["skip", "cat"],
          ["up", "cat"],
        ],
        inputs: ["x", "skip"],
        outputs: ["cat"],
      },
      Halves: {
        nodes: [
          { id: "x", type: "Input" },
          { id: "ch", type: "Chunk", params: { chunks: 2 } },
          { id: "left", type: "ReLU" },
          { id: "right", type: "ReLU" },
        ],
        edges: [
          ["x", "ch"],
          ["ch:0", "left"],
          ["ch:1", "right"],
        ],
        inputs: ["x"],
        outputs: ["left", "right"],
      },
    },
  };
}

afterEach(cleanup);

describe("user blocks with several inputs and outputs", () => {
  it("give a block one input handle per port and one output handle per output", () => {
    const flow = toFlow(unet(), { specs });
    const up = flow.nodes.find((n) => n.id === "up1")!.data;
    expect(up.info.ports).toEqual(["x", "skip"]);
    expect([up.info.minInputs, up.info.maxInputs]).toEqual([2, 2]);
    expect(targetHandleIds(up.info, up.inCount)).toEqual(["x", "skip"]);
    const heads = flow.nodes.find((n) => n.id === "heads")!.data;
    expect(heads.outCount).toBe(2);
    expect(heads.info.outputNames).toEqual(["left", "right"]);
    // A one-input, one-output block keeps the plain handles.
    const single = specs.info("Halves", unet().composites);
    expect([single.ports, targetHandleIds(single, 1)]).toEqual([["x"], ["x"]]);
  });

  it("put a named edge on its port, an unnamed one on the free port, and read outputs by position", () => {
    const flow = toFlow(unet(), { specs });
    const intoUp = flow.edges.filter((e) => e.target === "up1");
    expect(intoUp.map((e) => [e.source, e.targetHandle, e.data!.slot])).toEqual([
      ["enc", "skip", "skip"],
      ["bottom", "x", "x"],
    ]);
    const fromHeads = flow.edges.filter((e) => e.source === "heads");
    expect(fromHeads.map((e) => [e.target, e.sourceHandle])).toEqual([
      ["b", "out1"],
      ["a", "out0"],
    ]);
  });

  it("write a new connection to a port with the port's name, and round-trip the document", () => {
    const doc = unet();
    const flow = toFlow(doc, { specs });
    const up = flow.nodes.find((n) => n.id === "up1")!.data.info;
    expect(flowEdgeToGraphEdge({ source: "inp", target: "up1", sourceHandle: "out", targetHandle: "skip" }, up)).toEqual(["inp", "up1", "skip"]);
    expect(flowEdgeToGraphEdge({ source: "heads", target: "a", sourceHandle: "out1", targetHandle: "x" })).toEqual(["heads:1", "a"]);
    expect(fromFlow(flow.nodes, flow.edges, doc)).toEqual(unet());
  });

  it("connect to a free port by its name and refuse a port already fed", () => {
    const doc = unet();
    doc.edges = doc.edges.filter((e) => !(e[0] === "enc" && e[1] === "up1"));
    expect(connectionProblem(doc, specs, { source: "inp", target: "up1", targetHandle: "x" })).toBe("Port x of up1 is already connected.");
    const conn = { source: "enc", sourceHandle: "out", target: "up1", targetHandle: "skip" };
    expect(connectionProblem(doc, specs, conn)).toBeNull();
    const connected = connect(doc, specs, conn);
    expect(connected.edges.at(-1)).toEqual(["enc", "up1", "skip"]);
    expect(connectionProblem(connected, specs, { source: "inp", target: "up1", targetHandle: "skip" })).toBe("up1 takes 2 inputs; remove the existing edge first.");
  });

  it("ungroup only blocks with one port and values it can compute", () => {
    expect(() => ungroupNode(unet(), "up1")).toThrow("Block Up must have exactly one input and one output to be ungrouped.");
    const doc = unet();
    doc.composites!.Halves.outputs = ["left"];
    doc.composites!.Halves.params = [{ name: "width", type: "int", default: "$in_channels" }];
    doc.edges = doc.edges.filter((e) => e[0] !== "heads:1");
    doc.edges = doc.edges.map((e) => (e[0] === "heads:0" ? ["heads", e[1]] : e));
    expect(() => ungroupNode(doc, "heads")).toThrow('`heads` leaves "width" to its computed default $in_channels; set it on the node first.');
    doc.nodes.find((n) => n.id === "heads")!.params = { width: 8 };
    expect(ungroupNode(doc, "heads").nodes.map((n) => n.id)).toContain("heads_left");
  });

  it("render the handles, labelled with the ports and the outputs' names", () => {
    const flow = toFlow(unet(), { specs });
    const { container } = render(
      <ReactFlowProvider>
        <div style={{ width: 800, height: 600 }}>
          <ReactFlow nodes={flow.nodes} edges={flow.edges} nodeTypes={{ layer: LayerNode }} />
        </div>
      </ReactFlowProvider>,
    );
    const handles = (id: string, kind: "target" | "source") =>
      [...container.querySelectorAll(`[data-testid="node-${id}"] .react-flow__handle-${kind === "target" ? "top" : "bottom"}`)].map((h) => [
        h.getAttribute("data-handleid"),
        h.textContent,
      ]);
    expect(handles("up1", "target")).toEqual([
      ["x", "x"],
      ["skip", "skip"],
    ]);
    expect(handles("up1", "source")).toEqual([["out", ""]]);
    expect(handles("heads", "source")).toEqual([
      ["out0", "left"],
      ["out1", "right"],
    ]);
  });
});
