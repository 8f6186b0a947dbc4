import { act, cleanup, renderHook } from "@testing-library/react";
import { afterEach, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { fakeFetch } from "../panels/testBoot";
import { useValidation } from "./useValidation";

const graph = (outFeatures: number): GraphDoc => ({
  version: "0.2",
  nodes: [{ id: "fc", type: "Linear", params: { out_features: outFeatures } }],
  edges: [],
  inputs: [],
  outputs: ["fc"],
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

it("checks a change after a pause at once, and a burst of changes once it pauses", async () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  const { fetch, calls } = fakeFetch({ "POST /api/validate/": () => ({ body: { ok: true, diagnostics: [], shapes: {} } }) });
  vi.stubGlobal("fetch", fetch);
  const sent = () => calls.map((c) => (c.body as { graph: GraphDoc }).graph.nodes[0]?.params?.out_features);
  const wait = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));
  const { rerender } = renderHook(({ doc }) => useValidation(doc, "/api/validate/", 250), { initialProps: { doc: graph(1) } });
  await wait(0);
  expect(sent()).toEqual([1]);

  await wait(1000);
  rerender({ doc: graph(2) }); // one edit after a pause
  await wait(0);
  expect(sent()).toEqual([1, 2]);

  await wait(100);
  rerender({ doc: graph(3) }); // typing on: each key 100 ms after the last
  await wait(100);
  rerender({ doc: graph(4) });
  await wait(249);
  expect(sent()).toEqual([1, 2]);
  await wait(1);
  expect(sent()).toEqual([1, 2, 4]);
});
