import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../graph";
import { addNode, moveNodes, removeItems, setPath } from "../lib/docops";
import { editorReducer, initEditor } from "./store";

const base: GraphDoc = {
  version: "0.2",
  nodes: [
    { id: "a", type: "Input", ui: { x: 0, y: 0 } },
    { id: "b", type: "ReLU", ui: { x: 0, y: 100 } },
  ],
  edges: [["a", "b"]],
  inputs: ["a"],
  outputs: ["b"],
};

describe("editor store", () => {
  it("one drag is one undo step; the next drag is another", () => {
    let s = initEditor(base);
    for (let y = 1; y <= 10; y++) s = editorReducer(s, { type: "edit", fn: (d) => moveNodes(d, new Map([["b", { x: 0, y: 100 + y }]])), key: "move:1" });
    s = editorReducer(s, { type: "edit", fn: (d) => moveNodes(d, new Map([["b", { x: 5, y: 5 }]])), key: "move:2" });
    expect(s.history.past).toHaveLength(2);
    s = editorReducer(s, { type: "undo" });
    expect(s.history.present.nodes[1].ui).toEqual({ x: 0, y: 110 });
    s = editorReducer(s, { type: "undo" });
    expect(s.history.present).toBe(base);
  });

  it("selects what an edit asks for and prunes deleted nodes from the selection on undo/redo", () => {
    let s = initEditor(base);
    s = editorReducer(s, { type: "edit", fn: (d) => { const r = addNode(d, { type: "ReLU", position: { x: 0, y: 0 } }); return { doc: r.doc, select: r.id }; } });
    expect([...s.selectedNodes]).toEqual(["relu"]);
    s = editorReducer(s, { type: "undo" });
    expect(s.selectedNodes.size).toBe(0);
    s = editorReducer(s, { type: "toggle", nodes: [["a", true], ["b", true]] });
    s = editorReducer(s, { type: "toggle", nodes: [["a", false]] });
    expect([...s.selectedNodes]).toEqual(["b"]);
    s = editorReducer(s, { type: "edit", fn: (d) => removeItems(d, ["b"]) });
    expect(s.selectedNodes.size).toBe(0);
  });

  it("typing a path is one undo step; undo and redo restore the path and its absence", () => {
    let s = initEditor(base);
    for (const text of ["l", "layer1", "layer1.0"]) s = editorReducer(s, { type: "edit", fn: (d) => setPath(d, "b", text), key: "path:b" });
    s = editorReducer(s, { type: "seal" });
    s = editorReducer(s, { type: "edit", fn: (d) => setPath(d, "b", ""), key: "path:b" });
    expect("path" in s.history.present.nodes[1]).toBe(false);
    s = editorReducer(s, { type: "undo" });
    expect(s.history.present.nodes[1].path).toBe("layer1.0");
    s = editorReducer(s, { type: "undo" });
    expect(s.history.present).toBe(base);
    s = editorReducer(s, { type: "redo" });
    expect(s.history.present.nodes[1].path).toBe("layer1.0");
  });

  it("ignores edits that change nothing and keeps the edge selection while edges are unchanged", () => {
    let s = initEditor(base);
    s = editorReducer(s, { type: "toggle", edges: [["a->b", true]] });
    const same = editorReducer(s, { type: "edit", fn: () => null });
    expect(same).toBe(s);
    s = editorReducer(s, { type: "edit", fn: (d) => moveNodes(d, new Map([["a", { x: 9, y: 9 }]])) });
    expect([...s.selectedEdges]).toEqual(["a->b"]);
    s = editorReducer(s, { type: "edit", fn: (d) => removeItems(d, [], [0]) });
    expect(s.selectedEdges.size).toBe(0);
  });
});
