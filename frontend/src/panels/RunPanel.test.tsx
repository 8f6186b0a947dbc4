import "./testSetup";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RunPanel, buildConfig, buildLabels, initialForm, openInputs } from "./RunPanel";
import type { RunMessage } from "../lib/runStream";
import { FakeSocket } from "../lib/testSocket";
import { formatNumber } from "../lib/numbers";
import { fakeFetch, testBoot } from "./testBoot";

const noDataset = { id: null, choose: () => undefined, problem: null };

/** A message from the server on `socket`, inside act() as it updates the panel. */
function emit(socket: FakeSocket, message: RunMessage) {
  act(() => socket.send(message));
}

function run(overrides: object = {}) {
  return {
    id: 41,
    name: "My net v3 #41",
    tags: [],
    graph: { id: 12, name: "My net" },
    version: 3,
    user: "demo",
    status: "queued",
    config: {},
    queue: "embedded",
    cancel_requested: false,
    created_at: "2026-01-01T00:00:00Z",
    finished_at: null,
    worker: "",
    device: "",
    torch_version: "",
    params_total: null,
    progress: { step: 0, total: 30, loss: null },
    metrics: null,
    error: "",
    can_cancel: true,
    url: "/runs/41/",
    ...overrides,
  };
}

const version3 = {
  number: 3,
  document: { version: "0.2", nodes: [{ id: "inp", type: "Input", params: { shape: [9, 256] } }], edges: [], inputs: ["inp"], outputs: [] },
};

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("buildConfig", () => {
  const form = initialForm(testBoot.runDefaults);
  it("starts the form from the server's defaults", () => {
    expect(form).toEqual({ steps: "30", batch_size: "8", epochs: "1", optimizer: "adam", lr: "0.001", device: "auto", loss: "auto", data: "fixed", precision: "fp32", seed: "0", val_fraction: "0.2", early_stop_metric: "val_loss", early_stop_patience: "0" });
  });
  it("turns the form into a config, with input shapes", () => {
    expect(buildConfig({ ...form, steps: "5" }, { inp: "3, 32x32" })).toEqual({
      config: { steps: 5, batch_size: 8, epochs: 1, seed: 0, lr: 0.001, optimizer: "adam", device: "auto", loss: "auto", data: "fixed", precision: "fp32", input_shapes: { inp: [3, 32, 32] } },
    });
  });
  it("names the first wrong field", () => {
    expect(buildConfig({ ...form, steps: "0" }, {})).toEqual({ error: "Steps must be a whole number of at least 1." });
    expect(buildConfig({ ...form, lr: "-1" }, {})).toEqual({ error: "The learning rate must be a number above 0 and at most 10." });
    expect(buildConfig(form, { inp: "a, b" })).toEqual({ error: "Shape of inp: give 1 to 8 whole sizes without the batch, such as 3, 32, 32." });
  });
  it("finds inputs without a shape", () => {
    expect(openInputs({ version: "0.2", nodes: [{ id: "a", type: "Input" }, { id: "b", type: "Input", params: { shape: [3] } }], edges: [], inputs: ["a", "b"], outputs: [] })).toEqual(["a"]);
  });
});

describe("buildLabels", () => {
  it("trims the name and cleans the tags", () => {
    expect(buildLabels("  Wide GRU ", " Baseline, lr-sweep,,baseline ")).toEqual({ name: "Wide GRU", tags: ["baseline", "lr-sweep"] });
    expect(buildLabels("", "")).toEqual({ name: "", tags: [] });
  });
  it("says what is wrong", () => {
    expect(buildLabels("x".repeat(121), "")).toEqual({ error: "The name may have at most 120 characters (it has 121)." });
    expect(buildLabels("", "ok, <b>")).toEqual({ error: 'Tag "<b>": up to 40 letters, digits, spaces and . + # - _ only.' });
    expect(buildLabels("", Array.from({ length: 11 }, (_, i) => `t${i}`).join(","))).toEqual({ error: "At most 10 tags (got 11)." });
  });
});

describe("RunPanel", () => {
  it("explains why it cannot run without a saved version, and warns about unsaved edits", async () => {
    const { fetch } = fakeFetch({ "GET /api/runs/": () => ({ body: { count: 0, results: [] } }) });
    vi.stubGlobal("fetch", fetch);
    const { rerender } = render(<RunPanel boot={testBoot} version={null} dirty={false} dataset={noDataset} />);
    expect(screen.getByTestId("run-queue")).toHaveProperty("disabled", true);
    expect(screen.getByTestId("run-no-version").textContent).toContain("save the graph first");
    rerender(<RunPanel boot={testBoot} version={3} dirty dataset={noDataset} />);
    expect(screen.getByTestId("run-queue").textContent).toBe("Queue run of v3");
    expect(screen.getByTestId("run-dirty").textContent).toContain("Unsaved edits are not included");
    await waitFor(() => expect(screen.getByText("No runs yet.")).toBeTruthy());
  });

  it("queues a run, follows it live and shows the metrics", async () => {
    const { fetch, calls } = fakeFetch({
      "GET /api/runs/": () => ({ body: { count: 0, results: [] } }),
      "GET /api/graphs/12/versions/3/": () => ({ body: version3 }),
      "POST /api/runs/": () => ({ status: 201, body: run() }),
      "GET /api/runs/41/": () => ({ body: run({ status: "succeeded", device: "cpu", can_cancel: false }) }),
    });
    vi.stubGlobal("fetch", fetch);
    render(<RunPanel boot={testBoot} version={3} dirty={false} dataset={noDataset} />);
    fireEvent.change(screen.getByTestId("run-steps"), { target: { value: "5" } });
    fireEvent.click(screen.getByTestId("run-queue"));
    await waitFor(() => expect(FakeSocket.all).toHaveLength(1));
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toMatchObject({ graph: 12, version: 3, config: { steps: 5, batch_size: 8, optimizer: "adam", lr: 0.001, device: "auto" } });
    expect(FakeSocket.all[0].url).toBe("ws://localhost:3000/ws/runs/41/".replace("localhost:3000", window.location.host));
    expect(screen.getByTestId("run-link").getAttribute("href")).toBe("/runs/41/");

    const socket = FakeSocket.all[0];
    act(() => socket.onopen?.(new Event("open")));
    emit(socket, { type: "status", seq: 1, status: "queued" });
    emit(socket, { type: "status", seq: 2, status: "running" });
    emit(socket, { type: "progress", seq: 3, step: 2, total: 5, epoch: 1, loss: 1.25, samples_per_s: 321.5, elapsed_s: 0.4 });
    emit(socket, { type: "progress", seq: 3, step: 2, total: 5, epoch: 1, loss: 1.25, samples_per_s: 321.5, elapsed_s: 0.4 });
    expect(screen.getByTestId("run-status").textContent).toBe("Running");
    expect(screen.getByTestId("run-progress").getAttribute("aria-valuenow")).toBe("2");
    expect(screen.getByTestId("run-progress").getAttribute("aria-valuemax")).toBe("5");
    expect(screen.getByTestId("run-samples").textContent).toBe("321.5");
    expect(screen.getByTestId("run-chart").getAttribute("data-points")).toBe("1");
    expect(screen.getByTestId("run-cancel")).toBeTruthy();

    emit(socket, { type: "done", seq: 4, metrics: { loss: 0.5, first_loss: 1.5, samples_per_s: 400, loss_curve: [[1, 1.5], [5, 0.5]] } });
    emit(socket, { type: "status", seq: 5, status: "succeeded" });
    expect(screen.getByTestId("run-status").textContent).toBe("Succeeded");
    expect(screen.getByTestId("run-progress").getAttribute("aria-valuenow")).toBe("5");
    expect(screen.getByTestId("run-metrics").textContent).toContain("Final loss0.5");
    expect(screen.queryByTestId("run-cancel")).toBeNull();
    await waitFor(() => expect(screen.getByTestId("run-metrics").textContent).toContain("Devicecpu"));
  });

  it("shows why a run was refused, and why it failed", async () => {
    let refuse = true;
    const { fetch } = fakeFetch({
      "GET /api/runs/": () => ({ body: [] }),
      "GET /api/graphs/12/versions/3/": () => ({ body: version3 }),
      "POST /api/runs/": () =>
        refuse ? { status: 429, body: { detail: "You already have 2 runs queued or running, the most allowed." } } : { status: 201, body: run() },
      "GET /api/runs/41/": () => ({ body: run({ status: "failed", error: "Training failed at step 1: boom", can_cancel: false }) }),
    });
    vi.stubGlobal("fetch", fetch);
    render(<RunPanel boot={testBoot} version={3} dirty={false} dataset={noDataset} />);
    fireEvent.click(screen.getByTestId("run-queue"));
    await waitFor(() => expect(screen.getByTestId("run-form-error").textContent).toBe("You already have 2 runs queued or running, the most allowed."));
    refuse = false;
    fireEvent.click(screen.getByTestId("run-queue"));
    await waitFor(() => expect(FakeSocket.all).toHaveLength(1));
    emit(FakeSocket.all[0], { type: "error", seq: 2, message: "Training failed at step 1: boom" });
    emit(FakeSocket.all[0], { type: "status", seq: 3, status: "failed" });
    expect(screen.getByTestId("run-error").textContent).toBe("Run failed: Training failed at step 1: boom");
  });

  it("cancels a run", async () => {
    const { fetch, calls } = fakeFetch({
      "GET /api/runs/": () => ({ body: { results: [run({ status: "running" })] } }),
      "GET /api/graphs/12/versions/3/": () => ({ body: version3 }),
      "POST /api/runs/41/cancel/": () => ({ body: run({ status: "running", cancel_requested: true }) }),
    });
    vi.stubGlobal("fetch", fetch);
    render(<RunPanel boot={testBoot} version={3} dirty={false} dataset={noDataset} />);
    // Watch the running run from the recent list.
    fireEvent.click(await screen.findByText("#41 · v3"));
    emit(FakeSocket.all[0], { type: "status", seq: 1, status: "running" });
    fireEvent.click(screen.getByTestId("run-cancel"));
    await waitFor(() => expect(screen.getByText("Cancel requested: the run stops after its current step.")).toBeTruthy());
    expect(calls.some((c) => c.method === "POST" && c.url === "/api/runs/41/cancel/")).toBe(true);
  });

  it("names and tags the run it queues, and shows them", async () => {
    const { fetch, calls } = fakeFetch({
      "GET /api/runs/": () => ({ body: [] }),
      "GET /api/graphs/12/versions/3/": () => ({ body: version3 }),
      "POST /api/runs/": () => ({ status: 201, body: run({ name: "Wide", tags: ["baseline", "gru"] }) }),
    });
    vi.stubGlobal("fetch", fetch);
    render(<RunPanel boot={testBoot} version={3} dirty={false} dataset={noDataset} />);
    fireEvent.change(screen.getByTestId("run-tags"), { target: { value: "x/y" } });
    fireEvent.click(screen.getByTestId("run-queue"));
    await waitFor(() => expect(screen.getByTestId("run-form-error").textContent).toContain('Tag "x/y"'));
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    fireEvent.change(screen.getByTestId("run-name"), { target: { value: " Wide " } });
    fireEvent.change(screen.getByTestId("run-tags"), { target: { value: "Baseline, gru" } });
    fireEvent.click(screen.getByTestId("run-queue"));
    await waitFor(() => expect(screen.getByTestId("run-labels").textContent).toBe("Widebaselinegru"));
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ name: "Wide", tags: ["baseline", "gru"] });
  });

  it("asks for the sizes of inputs without a shape", async () => {
    const shapeless = { number: 3, document: { ...version3.document, nodes: [{ id: "inp", type: "Input", params: {} }] } };
    const { fetch, calls } = fakeFetch({
      "GET /api/runs/": () => ({ body: [] }),
      "GET /api/graphs/12/versions/3/": () => ({ body: shapeless }),
      "POST /api/runs/": () => ({ status: 201, body: run() }),
    });
    vi.stubGlobal("fetch", fetch);
    render(<RunPanel boot={testBoot} version={3} dirty={false} dataset={noDataset} />);
    fireEvent.change(await screen.findByTestId("run-shape-inp"), { target: { value: "9, 256" } });
    fireEvent.click(screen.getByTestId("run-queue"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ config: { input_shapes: { inp: [9, 256] } } });
  });
});

describe("RunPanel with a dataset", () => {
  const moons = { id: 7, name: "Two moons", facts: { samples: 600, input_shape: [2], task: "classification" } };
  const shapes = { id: 8, name: "Shapes 16×16", facts: { samples: 400, input_shape: [1, 16, 16], task: "classification" } };

  it("offers the datasets, and remembers the choice through the editor", async () => {
    const { fetch } = fakeFetch({ "GET /api/runs/": () => ({ body: [] }), "GET /api/datasets/": () => ({ body: { count: 2, results: [moons, shapes] } }) });
    vi.stubGlobal("fetch", fetch);
    const choose = vi.fn();
    const { rerender } = render(<RunPanel boot={testBoot} version={3} dirty={false} dataset={{ id: null, choose, problem: null }} />);
    await screen.findByText("Shapes 16×16 · 1×16×16 · 400 samples");
    expect(screen.getByTestId("run-steps")).toBeTruthy();
    fireEvent.change(screen.getByTestId("run-dataset"), { target: { value: "7" } });
    expect(choose).toHaveBeenLastCalledWith(7);
    const problem = "The Input has shape [4]; the dataset's samples are [2]. Set the Input's shape to [2].";
    rerender(<RunPanel boot={testBoot} version={3} dirty={false} dataset={{ id: 7, choose, problem }} />);
    expect(screen.getByTestId("run-dataset-problem").textContent).toBe(`${problem} The Problems tab has the fix.`);
    expect(screen.queryByTestId("run-steps")).toBeNull(); // one pass over the training split per epoch
    expect(screen.getByTestId("run-dataset-note").textContent).toContain("validation loss and accuracy");
    const metrics = [...screen.getByTestId("run-stop-metric").querySelectorAll("option")].map((o) => o.value);
    expect(metrics).toEqual(["val_loss", "val_accuracy"]); // Two moons is a classification
    fireEvent.change(screen.getByTestId("run-dataset"), { target: { value: "" } });
    expect(choose).toHaveBeenLastCalledWith(null);
  });

  it("trains on the chosen dataset and shows the validation metrics of each epoch", async () => {
    const { fetch, calls } = fakeFetch({
      "GET /api/runs/": () => ({ body: [] }),
      "GET /api/datasets/": () => ({ body: { count: 1, results: [moons] } }),
      "GET /api/graphs/12/versions/3/": () => ({ body: version3 }),
      "POST /api/runs/": () => ({ status: 201, body: run({ config: { dataset: 7 } }) }),
    });
    vi.stubGlobal("fetch", fetch);
    render(<RunPanel boot={testBoot} version={3} dirty={false} dataset={{ id: 7, choose: () => undefined, problem: null }} />);
    await screen.findByText("Two moons · 2 · 600 samples");
    fireEvent.click(screen.getByTestId("run-queue"));
    await waitFor(() => expect(FakeSocket.all).toHaveLength(1));
    const config = (calls.find((c) => c.method === "POST")?.body as { config: Record<string, unknown> }).config;
    expect(config).toMatchObject({ dataset: 7, batch_size: 8, epochs: 1, val_fraction: 0.2, early_stop_metric: "val_loss" });
    expect(config).not.toHaveProperty("steps");
    expect(config).not.toHaveProperty("data");
    expect(screen.queryByTestId("run-val-loss")).toBeNull();
    emit(FakeSocket.all[0], { type: "epoch", seq: 3, epoch: 1, epochs: 2, step: 60, train_loss: 0.6, val_loss: 0.4567, val_accuracy: 0.875, val_mae: null, best: true });
    expect(screen.getByTestId("run-val-loss").textContent).toBe(formatNumber(0.4567));
    expect(screen.getByTestId("run-val-accuracy").textContent).toBe("87.5 %");
    expect(screen.getByTestId("run-best-epoch").textContent).toBe("1");
    expect(screen.queryByTestId("run-val-mae")).toBeNull();
  });

  it("leaves steps and data out of the config, and sends the validation share and early stop", () => {
    const form = initialForm(testBoot.runDefaults);
    const defaults = { batch_size: 8, epochs: 1, seed: 0, lr: 0.001, optimizer: "adam", device: "auto", loss: "auto", precision: "fp32", dataset: 7 };
    expect(buildConfig({ ...form, steps: "0" }, {}, 7)).toEqual({ config: { ...defaults, val_fraction: 0.2, early_stop_patience: 0, early_stop_metric: "val_loss" } });
    expect(buildConfig({ ...form, val_fraction: "0.1", early_stop_patience: "3", early_stop_metric: "val_accuracy" }, {}, 7)).toEqual({
      config: { ...defaults, val_fraction: 0.1, early_stop_patience: 3, early_stop_metric: "val_accuracy" },
    });
    expect(buildConfig({ ...form, val_fraction: "0.7" }, {}, 7)).toEqual({ error: "The validation share must be a number from 0 to 0.5." });
    expect(buildConfig({ ...form, early_stop_patience: "-1" }, {}, 7)).toEqual({ error: "Early-stop patience must be a whole number of at least 0." });
  });
});
