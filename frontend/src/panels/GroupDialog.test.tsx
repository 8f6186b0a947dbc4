import "./testSetup";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CompositeDefinition, GraphDoc, Registry } from "../graph";
import { BlockView, layoutDefinition } from "./BlockView";
import { GroupDialog } from "./GroupDialog";
import { fakeFetch, testBoot } from "./testBoot";

const graph: GraphDoc = {
  version: "0.2",
  nodes: [
    { id: "inp", type: "Input", params: { shape: [3, 32, 32] } },
    { id: "conv", type: "Conv2d", params: { out_channels: 16, kernel_size: 3 } },
    { id: "bn", type: "BatchNorm2d", params: {} },
    { id: "act", type: "ReLU", params: {} },
  ],
  edges: [
    ["inp", "conv"],
    ["conv", "bn"],
    ["bn", "act"],
  ],
  inputs: ["inp"],
  outputs: ["act"],
};

const spec = (type: string, params: Registry["nodes"][number]["params"] = []) => ({
  type,
  category: "layers",
  doc: "",
  params,
  ports: [],
  variadic: false,
  min_inputs: 1,
  max_inputs: 1,
  outputs: 1,
  aliases: [],
  summary: [],
  color: "#000",
  composite: false,
});

const registry: Registry = {
  engine_version: "1",
  graph_version: "0.2",
  categories: [],
  diagnostic_codes: {},
  nodes: [
    spec("Conv2d", [
      { name: "out_channels", type: "int", required: true },
      { name: "kernel_size", type: "ints", required: true },
      { name: "padding", type: "padding", default: 0 },
    ]),
    spec("BatchNorm2d", [{ name: "eps", type: "float", default: 1e-5 }]),
    spec("ReLU"),
    spec("SEBlock"),
  ],
};

function routes(extra = {}) {
  return fakeFetch({
    "GET /api/registry/": () => ({ body: registry }),
    "GET /api/teams/": () => ({
      body: {
        count: 2,
        results: [
          { slug: "lab", name: "Lab", role: "editor" },
          { slug: "ro", name: "Read only", role: "viewer" },
        ],
      },
    }),
    ...extra,
  });
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("GroupDialog", () => {
  it("groups the selection with the chosen params exposed", async () => {
    const { fetch } = routes();
    vi.stubGlobal("fetch", fetch);
    const onDone = vi.fn();
    render(<GroupDialog boot={testBoot} graph={graph} selection={["conv", "bn", "act"]} onDone={onDone} onCancel={() => undefined} />);
    fireEvent.change(screen.getByTestId("group-name"), { target: { value: "ConvBNReLU" } });
    fireEvent.click(screen.getByTestId("group-param-conv.out_channels"));
    fireEvent.change(screen.getByTestId("group-param-name-conv.out_channels"), { target: { value: "c" } });
    // A registry default can be exposed too, once the registry has arrived.
    fireEvent.click(await screen.findByTestId("group-param-bn.eps"));
    fireEvent.click(screen.getByTestId("group-confirm"));
    expect(onDone).toHaveBeenCalledTimes(1);
    const grouped = onDone.mock.calls[0][0] as GraphDoc;
    expect(grouped.nodes.map((n) => n.type)).toEqual(["Input", "ConvBNReLU"]);
    expect(grouped.composites!.ConvBNReLU.params).toEqual([
      { name: "c", type: "int", default: 16 },
      { name: "eps", type: "float", default: 1e-5 },
    ]);
    expect(grouped.composites!.ConvBNReLU.nodes[2].params).toEqual({ eps: "$eps" });
    // Teams where the user may not publish are not offered.
    const options = [...(screen.getByTestId("group-library") as HTMLSelectElement).options].map((o) => o.value);
    expect(options).toEqual(["none", "personal", "lab"]);
  });

  it("explains a bad name or selection without closing", async () => {
    const { fetch } = routes();
    vi.stubGlobal("fetch", fetch);
    const onDone = vi.fn();
    render(<GroupDialog boot={testBoot} graph={graph} selection={["conv", "bn", "act"]} onDone={onDone} onCancel={() => undefined} />);
    await waitFor(() => expect(screen.getByTestId("group-param-bn.eps")).toBeTruthy());
    fireEvent.change(screen.getByTestId("group-name"), { target: { value: "SEBlock" } });
    fireEvent.click(screen.getByTestId("group-confirm"));
    expect(screen.getByTestId("group-error").textContent).toBe('"SEBlock" is a built-in node type; choose another name.');
    cleanup();
    render(<GroupDialog boot={testBoot} graph={graph} selection={["inp", "conv"]} onDone={onDone} onCancel={() => undefined} />);
    fireEvent.click(screen.getByTestId("group-confirm"));
    expect(screen.getByTestId("group-error").textContent).toMatch(/graph input `inp`/);
    expect(onDone).not.toHaveBeenCalled();
  });

  it("publishes to a team's library and links the graph to the published version", async () => {
    const { fetch, calls } = routes({
      "POST /api/composites/": (body: { name: string }) =>
        body.name === "Taken"
          ? { status: 400, body: { detail: "name: Taken is a built-in node type; choose another name." } }
          : { status: 201, body: { block: 5, name: body.name, number: 1, reference: { block: 5, version: 1 }, created: true } },
    });
    vi.stubGlobal("fetch", fetch);
    const onDone = vi.fn();
    render(<GroupDialog boot={testBoot} graph={graph} selection={["conv", "bn"]} onDone={onDone} onCancel={() => undefined} />);
    await waitFor(() => expect((screen.getByTestId("group-library") as HTMLSelectElement).options).toHaveLength(3));
    fireEvent.change(screen.getByTestId("group-library"), { target: { value: "lab" } });
    fireEvent.change(screen.getByTestId("group-name"), { target: { value: "Taken" } });
    fireEvent.click(screen.getByTestId("group-confirm"));
    await waitFor(() => expect(screen.getByTestId("group-error").textContent).toBe("Not saved to the library: name: Taken is a built-in node type; choose another name."));
    expect(onDone).not.toHaveBeenCalled();

    fireEvent.change(screen.getByTestId("group-name"), { target: { value: "ConvBN" } });
    fireEvent.change(screen.getByTestId("group-doc"), { target: { value: "Conv then BN." } });
    fireEvent.click(screen.getByTestId("group-confirm"));
    await waitFor(() => expect(onDone).toHaveBeenCalledTimes(1));
    const post = calls.filter((c) => c.method === "POST").at(-1)!;
    expect(post.body).toMatchObject({ name: "ConvBN", team: "lab", description: "Conv then BN.", definition: { inputs: ["in"], outputs: ["bn"], doc: "Conv then BN." }, composites: {} });
    const grouped = onDone.mock.calls[0][0] as GraphDoc;
    expect(grouped.metadata).toEqual({ library: { ConvBN: { block: 5, version: 1 } } });
  });

  it("publishes the definitions of the graph's blocks the new block uses, directly or through each other", async () => {
    const { fetch, calls } = routes({
      "POST /api/composites/": (body: { name: string }) => ({ status: 201, body: { block: 6, name: body.name, number: 1, reference: { block: 6, version: 1 }, created: true } }),
    });
    vi.stubGlobal("fetch", fetch);
    const leaf = { nodes: [{ id: "in", type: "Input" }, { id: "r", type: "ReLU" }], edges: [["in", "r"]], inputs: ["in"], outputs: ["r"] } satisfies CompositeDefinition;
    const inner = { nodes: [{ id: "in", type: "Input" }, { id: "l", type: "Leaf" }], edges: [["in", "l"]], inputs: ["in"], outputs: ["l"] } satisfies CompositeDefinition;
    const nested: GraphDoc = { ...graph, nodes: graph.nodes.map((n) => (n.id === "act" ? { ...n, type: "Inner" } : n)), composites: { Inner: inner, Leaf: leaf, Unused: leaf } };
    const onDone = vi.fn();
    render(<GroupDialog boot={testBoot} graph={nested} selection={["bn", "act"]} onDone={onDone} onCancel={() => undefined} />);
    fireEvent.change(screen.getByTestId("group-library"), { target: { value: "personal" } });
    fireEvent.change(screen.getByTestId("group-name"), { target: { value: "Wrapped" } });
    fireEvent.click(screen.getByTestId("group-confirm"));
    await waitFor(() => expect(onDone).toHaveBeenCalledTimes(1));
    const post = calls.find((c) => c.method === "POST")!;
    expect((post.body as { composites: unknown }).composites).toEqual({ Inner: inner, Leaf: leaf });
  });

  it("cancels with Escape", () => {
    const { fetch } = routes();
    vi.stubGlobal("fetch", fetch);
    const onCancel = vi.fn();
    render(<GroupDialog boot={testBoot} graph={graph} selection={["conv"]} onDone={() => undefined} onCancel={onCancel} />);
    fireEvent.keyDown(screen.getByTestId("group-name"), { key: "Escape" });
    expect(onCancel).toHaveBeenCalled();
  });
});

describe("BlockView", () => {
  const withBlock: GraphDoc = {
    ...graph,
    composites: {
      SE: {
        doc: "Squeeze and excite.",
        params: [{ name: "c", type: "int", default: 16, min: 1 }],
        nodes: [
          { id: "in", type: "Input" },
          { id: "pool", type: "AdaptiveAvgPool2d", params: { output_size: 1 } },
          { id: "fc", type: "Linear", params: { out_features: "$c // 4" } },
          { id: "mul", type: "Mul" },
        ],
        edges: [
          ["in", "pool"],
          ["pool", "fc"],
          ["in", "mul", "0"],
          ["fc", "mul", "1"],
        ],
        inputs: ["in"],
        outputs: ["mul"],
      },
    },
  };

  it("lays the inside out top to bottom", () => {
    const { nodes, edges } = layoutDefinition(withBlock.composites!.SE);
    const y = Object.fromEntries(nodes.map((n) => [n.id, n.position.y]));
    expect(y.in).toBeLessThan(y.pool);
    expect(y.pool).toBeLessThan(y.fc);
    expect(y.fc).toBeLessThan(y.mul);
    expect(edges.map((e) => e.label ?? "")).toEqual(["", "", "0", "1"]);
  });

  it("shows a block's doc and params, or a built-in's doc", () => {
    const onClose = vi.fn();
    render(<BlockView graph={withBlock} type="SE" onClose={onClose} />);
    expect(screen.getByTestId("block-view").textContent).toContain("Squeeze and excite.");
    expect(screen.getByTestId("block-view-params").textContent).toContain("c");
    expect(screen.getByTestId("block-view-params").textContent).toContain("1 – …");
    fireEvent.keyDown(screen.getByTestId("block-view"), { key: "Escape" });
    expect(onClose).toHaveBeenCalled();
    cleanup();
    render(<BlockView graph={withBlock} type="SEBlock" doc="Squeeze-and-Excitation (Hu et al., 2018)." onClose={onClose} />);
    expect(screen.getByTestId("block-view-builtin").textContent).toContain("Squeeze-and-Excitation (Hu et al., 2018).");
  });
});
