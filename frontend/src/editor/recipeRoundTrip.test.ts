// A document of issue 15 (named outputs, a `training` block, stage / trainable / init on nodes) loaded and
// saved without edits keeps all of it, through every path a document takes in the editor.
import { act, cleanup, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { fromFlow, toFlow } from "../lib/convert";
import { copyNodes, pasteClip } from "../lib/docops";
import { readDraft, writeDraft } from "../lib/draft";
import { ensurePositions } from "../lib/layout";
import { SpecIndex } from "../lib/specs";
import { checkGraph } from "../panels/jsonImport";
import { fakeFetch, testBoot } from "../panels/testBoot";
import { RECIPE_DOC as DOC, RECIPE_REGISTRY } from "../test/recipe";
import { editorReducer, initEditor } from "./store";
import { useSave } from "./useSave";
import { validationPayload } from "./useValidation";

const specs = new SpecIndex(RECIPE_REGISTRY);

beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("a recipe document round-trips unchanged", () => {
  it("through loading, the canvas and saving", async () => {
    const loaded = ensurePositions(structuredClone(DOC));
    const state = initEditor(loaded);
    const flow = toFlow(state.history.present, { specs });
    const back = fromFlow(flow.nodes, flow.edges, state.history.present);
    expect(back).toEqual(DOC);

    const { fetch, calls } = fakeFetch({ "POST /api/graphs/12/versions/": () => ({ status: 201, body: { number: 2, created: true } }) });
    vi.stubGlobal("fetch", fetch);
    const hook = renderHook(() => useSave({ boot: testBoot, readOnly: false, doc: back, baseVersion: 1, initial: loaded, dir: "TB", show: () => undefined, flash: () => undefined }));
    await act(() => hook.result.current.save());
    const saved = (calls[0].body as { document: GraphDoc }).document;
    expect(JSON.stringify(saved)).toBe(JSON.stringify(DOC)); // key order too: the object form's order is the dict's
  });

  it("through an unrelated edit and its undo, a draft, the import check and the validation request", () => {
    let state = initEditor(structuredClone(DOC));
    state = editorReducer(state, { type: "edit", fn: (d) => ({ ...d, metadata: { name: "other" } }) });
    state = editorReducer(state, { type: "undo" });
    expect(state.history.present).toEqual(DOC);

    writeDraft(12, 1, DOC);
    expect(readDraft(12, 1)!.doc).toEqual(DOC);
    expect(checkGraph(JSON.parse(JSON.stringify(DOC)))).toEqual(DOC);
    const payload = validationPayload(DOC);
    expect(payload.outputs).toBe(DOC.outputs);
    expect(payload.training).toBe(DOC.training);
    expect(payload.nodes[2]).toEqual({ id: "body", type: "Linear", params: { out_features: 8 }, trainable: false, init: { type: "normal", std: 0.01 } });
  });

  it("through copy and paste of the recipe's nodes (fresh ids, the fields kept)", () => {
    const clip = copyNodes(DOC, ["body", "ce"])!;
    const pasted = pasteClip(DOC, clip, { x: 40, y: 40 });
    const [body, ce] = pasted.ids.map((id) => pasted.doc.nodes.find((n) => n.id === id)!);
    expect(body).toMatchObject({ type: "Linear", trainable: false, init: { type: "normal", std: 0.01 } });
    expect(ce.type).toBe("CrossEntropyLoss");
    expect(pasted.doc.outputs).toBe(DOC.outputs);
    expect(pasted.doc.training).toBe(DOC.training);
  });
});
