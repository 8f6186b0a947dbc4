import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { useReducer } from "react";
import { afterEach, describe, expect, it } from "vitest";
import type { GraphDoc, ValidateResult } from "../graph";
import { SpecIndex } from "../lib/specs";
import { RECIPE_REGISTRY } from "../test/recipe";
import { REGISTRY } from "../test/registry";
import { PropertiesPanel } from "./PropertiesPanel";
import { type EditorAction, editorReducer, type EditorState, initEditor } from "./store";

const specs = new SpecIndex(REGISTRY);

const base: GraphDoc = {
  version: "0.2",
  nodes: [
    { id: "inp", type: "Input", params: { shape: [3, 32, 32] } },
    { id: "Conv-1", type: "Conv2d", params: { out_channels: 8, kernel_size: 3 }, path: "features.0" },
    { id: "act", type: "ReLU", params: {} },
  ],
  edges: [
    ["inp", "Conv-1"],
    ["Conv-1", "act"],
  ],
  inputs: ["inp"],
  outputs: ["act"],
};

/** The panel's props with every callback a no-op: what a test overrides is spread after them. */
function inertPanel(doc: GraphDoc, selected: string[], validation: ValidateResult | null, registry = specs) {
  const none = () => undefined;
  return {
    doc,
    specs: registry,
    selected,
    validation,
    readOnly: false,
    edit: none,
    seal: none,
    onApplySuggestion: none,
    onFocusNode: none,
    onGroup: none,
    onDelete: none,
    onUngroup: none,
    onLookInside: none,
    onExpandInPlace: none,
    canGroup: false,
  };
}

/** The panel over a real editor store, wired as the editor wires it; reports the store and its dispatch. */
function Harness(props: {
  selected: string;
  validation?: ValidateResult;
  doc?: GraphDoc;
  specs?: SpecIndex;
  onState: (state: EditorState, dispatch: (action: EditorAction) => void) => void;
}) {
  const { selected, onState } = props;
  const [state, dispatch] = useReducer(editorReducer, props.doc ?? base, initEditor);
  onState(state, dispatch);
  return (
    <PropertiesPanel
      {...inertPanel(state.history.present, [selected], props.validation ?? null, props.specs)}
      edit={(fn, key) => dispatch({ type: "edit", fn, key })}
      seal={() => dispatch({ type: "seal" })}
    />
  );
}

function open(selected: string, options: { doc?: GraphDoc; specs?: SpecIndex; validation?: ValidateResult } = {}) {
  let latest: EditorState | null = null;
  let send: (action: EditorAction) => void = () => undefined;
  render(
    <Harness
      selected={selected}
      {...options}
      onState={(s, dispatch) => {
        latest = s;
        send = dispatch;
      }}
    />,
  );
  const node = (id: string) => latest!.history.present.nodes.find((n) => n.id === id)!;
  return { node, field: screen.queryByTestId("node-path") as HTMLInputElement, state: () => latest!, dispatch: (action: EditorAction) => act(() => send(action)) };
}

afterEach(cleanup);

describe("the module path field", () => {
  it("shows the stored path, and the name the node gets without one as the placeholder", () => {
    const { field } = open("Conv-1");
    expect(field.value).toBe("features.0");
    expect(field.placeholder).toBe("conv_1");
    cleanup();
    expect(open("act").field.value).toBe("");
  });

  it("applies a well-formed path as it is typed, as one undo step", () => {
    const { field, node, state } = open("act");
    for (const text of ["f", "features", "features.1"]) fireEvent.change(field, { target: { value: text } });
    fireEvent.blur(field);
    expect(node("act").path).toBe("features.1");
    expect(state().history.past).toHaveLength(1);
  });

  it("explains a malformed path inline and does not apply it", () => {
    const { field, node } = open("act");
    fireEvent.change(field, { target: { value: "features" } });
    fireEvent.change(field, { target: { value: "features." } });
    expect(screen.getByTestId("node-path-error").textContent).toBe(
      'Part 2 of 2 is empty: write names and numbers separated by single dots, e.g. "features.0". Not applied.',
    );
    expect(field.getAttribute("aria-invalid")).toBe("true");
    expect(node("act").path).toBe("features");
    fireEvent.change(field, { target: { value: "features.class" } });
    expect(screen.getByTestId("node-path-error").textContent).toMatch(/^"class" is a Python keyword/);
    fireEvent.keyDown(field, { key: "Escape" });
    expect(field.value).toBe("features");
    expect(screen.queryByTestId("node-path-error")).toBeNull();
  });

  it("refuses the path of another node", () => {
    const { field, node } = open("act");
    fireEvent.change(field, { target: { value: "features.0" } });
    expect(screen.getByTestId("node-path-error").textContent).toBe('Node "Conv-1" already has the path features.0; two modules cannot share one. Not applied.');
    expect("path" in node("act")).toBe(false);
  });

  it("removes the key when cleared, and follows undo and redo", () => {
    const { field, state, dispatch } = open("Conv-1");
    fireEvent.change(field, { target: { value: "" } });
    expect(state().history.present.nodes[1]).toEqual({ id: "Conv-1", type: "Conv2d", params: { out_channels: 8, kernel_size: 3 } });
    expect(screen.queryByTestId("node-path-error")).toBeNull();
    dispatch({ type: "undo" });
    expect(field.value).toBe("features.0");
    dispatch({ type: "redo" });
    expect(field.value).toBe("");
  });

  it("shows the engine's PATH warning under the field without marking the path invalid", () => {
    const message = "ReLU is a function in forward, with no module or learned tensor of its own, so its module path `features.1` places nothing; clear it";
    const validation: ValidateResult = { ok: true, shapes: {}, diagnostics: [{ severity: "warning", code: "PATH", message, node: "act", path: "nodes[2].path" }] };
    render(<Harness selected="act" validation={validation} onState={() => undefined} />);
    expect(screen.getByTestId("node-path-warning").textContent).toBe(message);
    expect(screen.getByTestId("node-path").getAttribute("aria-invalid")).toBeNull();
    expect(screen.getByTestId("properties").querySelectorAll(".cv-diag")).toHaveLength(0);
  });

  it("shows the engine's PATH diagnostics under the field, not in the node's general list", () => {
    // Messages as the engine writes them (codegen/hierarchy.py); the second is about a block's inner node.
    const message = "module path `training` uses `training`, which Python or nn.Module reserves; rename that segment";
    const inner = "inside block Blk at `c`: module path `a..b` has the segment ``: each segment is a Python identifier";
    const validation: ValidateResult = {
      ok: false,
      shapes: {},
      diagnostics: [
        { severity: "error", code: "PATH", message, node: "act", path: "nodes[2].path" },
        { severity: "error", code: "PATH", message: inner, node: "act" },
        { severity: "warning", code: "OTHER", message: "Something else.", node: "act" },
      ],
    };
    render(<Harness selected="act" validation={validation} onState={() => undefined} />);
    expect(screen.getByTestId("node-path-error").textContent).toBe(message);
    expect(screen.getByTestId("node-path").getAttribute("aria-invalid")).toBe("true");
    const general = screen.getByTestId("properties").querySelectorAll(".cv-diag");
    expect([...general].map((li) => li.textContent)).toEqual([`PATH ${inner}`, "OTHER Something else."]);
  });

  it("is not offered on Input nodes, which have no module", () => {
    render(<Harness selected="inp" onState={() => undefined} />);
    expect(screen.queryByTestId("node-path")).toBeNull();
  });
});

describe("the graph summary", () => {
  it("says the activation memory is per sample", () => {
    const validation = { ok: true, diagnostics: [], shapes: {}, params_total: 224, memory_bytes: 2048 } as unknown as ValidateResult;
    render(<PropertiesPanel {...inertPanel(base, [], validation)} />);
    const label = screen.getByText("Activations per sample");
    expect(label.getAttribute("title")).toBe("Forward activations of one sample, fp32");
    expect(label.nextElementSibling?.textContent).toBe("2 KiB");
  });
});

describe("the model's cost", () => {
  const figures = { params_trainable: 224, params_frozen: 0, activation_bytes: 30 * 30 * 8 * 4 };
  const validation: ValidateResult = {
    ok: true,
    diagnostics: [],
    shapes: {},
    params_total: 224,
    summary: {
      name: "Model",
      batch_size: 1,
      activation_memory: "bytes per sample, fp32",
      nodes: [
        { id: "inp", type: "Input", output_shapes: [["B", 3, 32, 32]], params: 0, params_trainable: 0, params_frozen: 0, flops: 0, macs: 0, activation_bytes: 12288 },
        { id: "Conv-1", type: "Conv2d", output_shapes: [["B", 8, 30, 30]], params: 224, flops: 388_800, macs: 194_400, ...figures },
        { id: "act", type: "ReLU", output_shapes: [["B", 8, 30, 30]], params: 0, params_trainable: 0, params_frozen: 0, flops: 0, macs: 0, activation_bytes: 28_800 },
      ],
      totals: { params: 224, params_trainable: 224, params_frozen: 0, flops: 388_800, macs: 194_400, activation_bytes: 69_888 },
    },
  };

  function facts(testId: string): Record<string, string> {
    const items = screen.getByTestId(testId).querySelectorAll("dt");
    return Object.fromEntries([...items].map((dt) => [dt.textContent ?? "", dt.nextElementSibling?.textContent ?? ""]));
  }

  it("shows the selected node's parameters, FLOPs with MACs and activations per sample", () => {
    render(<PropertiesPanel {...inertPanel(base, ["Conv-1"], validation)} />);
    expect(facts("node-cost")).toEqual({
      Parameters: "224 (all trainable)",
      FLOPs: "389k FLOPs (194k MACs)",
      "Activations per sample": "28.1 KiB",
    });
  });

  it("says which figures wait for the input shapes", () => {
    const open = structuredClone(validation);
    Object.assign(open.summary!.nodes[1], { params: null, params_trainable: null, params_frozen: null, flops: null, macs: null, activation_bytes: null });
    render(<PropertiesPanel {...inertPanel(base, ["Conv-1"], open)} />);
    expect(Object.values(facts("node-cost"))).toEqual(Array(3).fill("unknown until the input shapes are"));
  });

  it("shows the model's FLOPs next to its parameters", () => {
    render(<PropertiesPanel {...inertPanel(base, [], validation)} />);
    const flops = screen.getByTestId("graph-flops");
    expect(flops.textContent).toBe("389k FLOPs (194k MACs)");
    const label = flops.previousElementSibling;
    expect(label?.textContent).toBe("FLOPs");
    expect(label?.previousElementSibling?.previousElementSibling?.textContent).toBe("Parameters");
  });

  it("shows a dash for the model's FLOPs before the first validation answers", () => {
    render(<PropertiesPanel {...inertPanel(base, [], null)} />);
    expect(screen.getByTestId("graph-flops").textContent).toBe("—");
  });
});

describe("the training recipe's fields", () => {
  const recipeSpecs = new SpecIndex(RECIPE_REGISTRY);
  const recipe: GraphDoc = {
    ...base,
    nodes: [...base.nodes, { id: "y", type: "Target", params: { shape: [] } }, { id: "ce", type: "CrossEntropyLoss" }],
    edges: [...base.edges, ["act", "ce", "input"], ["y", "ce", "target"]],
  };
  const withParams = (counts: Record<string, number>): ValidateResult => ({ ok: true, diagnostics: [], shapes: {}, params: counts });

  it("freezes a layer with the Trainable box, and trains it again without a trainable key", () => {
    const { node, state } = open("Conv-1", { validation: withParams({ "Conv-1": 224 }) });
    const box = screen.getByTestId("node-trainable") as HTMLInputElement;
    expect(box.checked).toBe(true);
    fireEvent.click(box);
    expect(node("Conv-1").trainable).toBe(false);
    expect(box.checked).toBe(false);
    fireEvent.click(box);
    expect("trainable" in node("Conv-1")).toBe(false);
    expect(state().history.past).toHaveLength(2);
  });

  it("offers Trainable and init only where there are weights", () => {
    open("act", { validation: withParams({ act: 0 }) });
    expect(screen.queryByTestId("node-trainable")).toBeNull();
    expect(screen.queryByTestId("param-init")).toBeNull();
    expect((screen.getByTestId("node-stage-select") as HTMLSelectElement).value).toBe("model");
    cleanup();
    open("y", { doc: recipe, specs: recipeSpecs });
    expect(screen.queryByTestId("node-stage-select")).toBeNull();
    expect(screen.queryByTestId("node-trainable")).toBeNull();
  });

  it("sets the stage of a model node, storing only Loss and Metrics; a loss keeps its type's", () => {
    const { node } = open("act", { doc: recipe, specs: recipeSpecs });
    const select = screen.getByTestId("node-stage-select") as HTMLSelectElement;
    expect(select.value).toBe("model");
    expect([...select.options].map((o) => o.textContent)).toEqual(["Model", "Loss", "Metrics"]);
    fireEvent.change(select, { target: { value: "metrics" } });
    expect(node("act").stage).toBe("metrics");
    expect(screen.queryByTestId("node-trainable")).toBeNull(); // only the model's layers train
    fireEvent.change(select, { target: { value: "model" } });
    expect("stage" in node("act")).toBe(false);
    cleanup();
    open("ce", { doc: recipe, specs: recipeSpecs });
    expect(screen.queryByTestId("node-stage-select")).toBeNull();
    expect(screen.queryByTestId("node-output")).toBeNull(); // the model returns its own values, not a loss
  });

  it("chooses an init and its settings", () => {
    const { node } = open("Conv-1", { validation: withParams({ "Conv-1": 224 }) });
    fireEvent.change(screen.getByTestId("param-init"), { target: { value: "normal" } });
    expect(node("Conv-1").init).toBe("normal");
    fireEvent.change(screen.getByTestId("param-init.std"), { target: { value: "0.02" } });
    expect(node("Conv-1").init).toEqual({ type: "normal", std: 0.02 });
    fireEvent.change(screen.getByTestId("param-init"), { target: { value: "kaiming_normal" } });
    expect(node("Conv-1").init).toBe("kaiming_normal");
    expect(screen.queryByTestId("param-init.std")).toBeNull();
    fireEvent.change(screen.getByTestId("param-init.nonlinearity"), { target: { value: "relu" } });
    expect(node("Conv-1").init).toEqual({ type: "kaiming_normal", nonlinearity: "relu" });
    fireEvent.change(screen.getByTestId("param-init"), { target: { value: "" } });
    expect("init" in node("Conv-1")).toBe(false);
  });

  it("names an output: the list becomes the named form, and a bad name is explained, not applied", () => {
    const { state } = open("act");
    const field = screen.getByTestId("output-name") as HTMLInputElement;
    expect(field.value).toBe("");
    fireEvent.change(field, { target: { value: "logits!" } });
    expect(screen.getByTestId("output-name-error").textContent).toBe("Letters, digits, _, -, . and / only, starting with a letter, a digit or _.");
    fireEvent.change(field, { target: { value: "logits" } });
    fireEvent.keyDown(field, { key: "Enter" });
    expect(state().history.present.outputs).toEqual({ logits: "act" });
    expect((screen.getByTestId("output-name") as HTMLInputElement).value).toBe("logits");
  });

  it("names an output that is one port of a node", () => {
    const halves: GraphDoc = { ...base, nodes: [...base.nodes, { id: "fork", type: "Chunk", params: { chunks: 2 } }], edges: [...base.edges, ["act", "fork"]], outputs: ["act", "fork:1"] };
    const { state } = open("fork", { doc: halves });
    expect(screen.queryByTestId("node-output")).toBeNull(); // a Chunk is returned by its outputs, not whole
    expect([0, 1].map((k) => (screen.getByTestId(`node-output-${k}`) as HTMLInputElement).checked)).toEqual([false, true]);
    const field = screen.getByTestId("output-name-1");
    fireEvent.change(field, { target: { value: "std" } });
    fireEvent.blur(field);
    expect(state().history.present.outputs).toEqual({ act: "act", std: "fork:1" });
    fireEvent.click(screen.getByTestId("node-output-0"));
    expect(state().history.present.outputs).toEqual({ act: "act", std: "fork:1", fork_0: "fork:0" });
  });

  it("lists named outputs and the training block on the graph, and drops the names on request", () => {
    const named: GraphDoc = { ...base, outputs: { logits: "act" }, training: { optimizer: { type: "SGD", lr: 0.05 }, scheduler: { type: "StepLR", step_size: 10 } } };
    const { state } = open("nothing", { doc: named });
    expect(screen.getByTestId("graph-outputs").textContent).toContain("logits →act");
    expect(screen.getByTestId("graph-training").textContent).toBe("SGD lr 0.05 · StepLR step_size 10");
    fireEvent.click(screen.getByTestId("outputs-unname"));
    expect(state().history.present.outputs).toEqual(["act"]);
  });
});
