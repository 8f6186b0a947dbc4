import { act, cleanup, fireEvent, render, renderHook, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { Diagnostic, GraphDoc } from "../graph";
import { applySuggestion } from "../lib/suggestions";
import { fakeFetch } from "../panels/testBoot";
import { ProblemsPanel } from "./ProblemsPanel";
import { datasetKey, useChosenDataset, useDatasetCheck, withDatasetProblem } from "./useDatasetCheck";

const drawing = (shape: number[], x = 0): GraphDoc => ({
  version: "0.2",
  nodes: [
    { id: "inp", type: "Input", params: { shape }, ui: { x, y: 0 } },
    { id: "fc", type: "Linear", params: { out_features: 2 } },
  ],
  edges: [["inp", "fc"]],
  inputs: ["inp"],
  outputs: ["fc"],
});

/** The server's check (training/datasets.py input_shape_problem) for Two moons, id 7: samples of shape [2]. */
function moonsCheck(body: unknown) {
  const doc = (body as { document: GraphDoc }).document;
  const shape = doc.nodes.find((n) => n.type === "Input")?.params?.shape;
  if (JSON.stringify(shape) === "[2]") return { body: { ok: true, diagnostic: null } };
  const diagnostic: Diagnostic = {
    severity: "error",
    code: "DATASET",
    node: "inp",
    message: `The Input has shape ${JSON.stringify(shape)}; the dataset's samples are [2]. Set the Input's shape to [2].`,
    suggestion: { action: "set_param", node: "inp", param: "shape", value: [2] },
  };
  return { body: { ok: false, diagnostic } };
}

beforeEach(() => window.localStorage.clear());
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** The editor's wiring in small: the drawing, the chosen dataset's check, the Problems panel and its fixes. */
function Harness(props: { initial: GraphDoc; dataset: number | null }) {
  const [doc, setDoc] = useState(props.initial);
  const check = useDatasetCheck(doc, props.dataset, "/api/datasets/", 0);
  const validation = withDatasetProblem({ result: { ok: true, diagnostics: [], shapes: {} }, pending: false, error: null }, check.diagnostic);
  return (
    <>
      <output data-testid="shape">{JSON.stringify(doc.nodes[0].params?.shape)}</output>
      <ProblemsPanel
        validation={validation}
        datasetError={check.error}
        readOnly={false}
        onFocus={() => undefined}
        onApply={(s) => setDoc((d) => applySuggestion(d, s)?.doc ?? d)}
      />
    </>
  );
}

it("checks the unsaved drawing against the chosen dataset, and its one-click fix sets the Input's shape", async () => {
  const { fetch, calls } = fakeFetch({ "POST /api/datasets/7/check/": moonsCheck });
  vi.stubGlobal("fetch", fetch);
  render(<Harness initial={drawing([4])} dataset={7} />);
  const problem = await screen.findByText(/the dataset's samples are \[2\]/);
  expect(problem.closest("[data-testid=diagnostic]")?.getAttribute("data-code")).toBe("DATASET");
  // The drawing goes without canvas positions, as to /api/validate/.
  expect(calls[0].body).toEqual({ document: { ...drawing([4]), nodes: [{ id: "inp", type: "Input", params: { shape: [4] } }, drawing([4]).nodes[1]] } });
  fireEvent.click(screen.getByTestId("apply-suggestion"));
  expect(screen.getByTestId("shape").textContent).toBe("[2]");
  await waitFor(() => expect(calls).toHaveLength(2));
  expect(screen.getByText("✓ No problems: every shape fits.")).toBeTruthy();
  expect(screen.queryByTestId("diagnostic")).toBeNull();
});

it("checks nothing without a dataset, and says when the dataset cannot be checked", async () => {
  const { fetch, calls } = fakeFetch({});
  vi.stubGlobal("fetch", fetch);
  const { rerender } = render(<Harness initial={drawing([4])} dataset={null} />);
  await act(() => new Promise((r) => setTimeout(r, 20)));
  expect(calls).toHaveLength(0);
  rerender(<Harness initial={drawing([4])} dataset={99} />);
  expect((await screen.findByTestId("dataset-check-error")).textContent).toBe("The dataset check failed: the dataset no longer exists, or you cannot see it.");
});

it("re-checks when an Input changes, not when a node moves, and a refused drawing is left to the validation", async () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  let refuse = false;
  const { fetch, calls } = fakeFetch({
    "POST /api/datasets/7/check/": (body) => (refuse ? { status: 400, body: { detail: "The graph cannot be used: …" } } : moonsCheck(body)),
  });
  vi.stubGlobal("fetch", fetch);
  const wait = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));
  const { result, rerender } = renderHook(({ doc }) => useDatasetCheck(doc, 7, "/api/datasets/", 250), { initialProps: { doc: drawing([4]) } });
  await wait(250);
  expect(result.current.diagnostic?.code).toBe("DATASET");
  rerender({ doc: drawing([4], 300) }); // a move
  await wait(500);
  expect(calls).toHaveLength(1);
  rerender({ doc: drawing([3]) });
  expect(result.current.diagnostic).toBeNull(); // about the old shape: its fix no longer applies
  rerender({ doc: drawing([3], 10) }); // a move just after does not cancel the check
  await wait(250);
  expect(calls).toHaveLength(2);
  expect(result.current.diagnostic?.message).toContain("has shape [3]");
  refuse = true;
  rerender({ doc: drawing([5]) });
  await wait(250);
  expect(result.current).toEqual({ diagnostic: null, error: null });
});

it("remembers the chosen dataset per graph", () => {
  const first = renderHook(() => useChosenDataset(12));
  expect(first.result.current[0]).toBeNull();
  act(() => first.result.current[1](7));
  expect(window.localStorage.getItem(datasetKey(12))).toBe("7");
  expect(renderHook(() => useChosenDataset(12)).result.current[0]).toBe(7);
  expect(renderHook(() => useChosenDataset(13)).result.current[0]).toBeNull();
  act(() => first.result.current[1](null));
  expect(window.localStorage.getItem(datasetKey(12))).toBeNull();
  window.localStorage.setItem(datasetKey(12), "nonsense");
  expect(renderHook(() => useChosenDataset(12)).result.current[0]).toBeNull();
});

it("adds the dataset's diagnostic to the validation's, as an error", () => {
  const validation = { result: { ok: true, diagnostics: [], shapes: { fc: [1, 2] } }, pending: false, error: null };
  expect(withDatasetProblem(validation, null)).toBe(validation);
  const diagnostic: Diagnostic = { severity: "error", code: "DATASET", message: "m" };
  expect(withDatasetProblem(validation, diagnostic).result).toEqual({ ok: false, diagnostics: [diagnostic], shapes: { fc: [1, 2] } });
});
