import { describe, expect, it } from "vitest";
import { canRedo, canUndo, commit, createHistory, HISTORY_LIMIT, redo, seal, undo } from "./history";

describe("history", () => {
  it("undoes and redoes commits in order", () => {
    let h = createHistory("a");
    h = commit(h, "b");
    h = commit(h, "c");
    expect(h.present).toBe("c");
    h = undo(h);
    expect(h.present).toBe("b");
    h = undo(h);
    expect(h.present).toBe("a");
    expect(canUndo(h)).toBe(false);
    h = undo(h);
    expect(h.present).toBe("a");
    h = redo(h);
    h = redo(h);
    expect(h.present).toBe("c");
    expect(canRedo(h)).toBe(false);
  });

  it("drops the redo branch on a new commit", () => {
    let h = createHistory(1);
    h = commit(h, 2);
    h = undo(h);
    h = commit(h, 3);
    expect(canRedo(h)).toBe(false);
    expect(undo(h).present).toBe(1);
  });

  it("coalesces commits with the same key into one step (one drag = one undo)", () => {
    let h = createHistory({ x: 0 });
    const start = h.present;
    for (let x = 1; x <= 30; x++) h = commit(h, { x }, "move:1");
    expect(h.present).toEqual({ x: 30 });
    expect(h.past).toHaveLength(1);
    h = commit(h, { x: 40 }, "move:2"); // the next drag is a new step
    expect(h.past).toHaveLength(2);
    h = undo(h);
    expect(h.present).toEqual({ x: 30 });
    h = undo(h);
    expect(h.present).toBe(start);
  });

  it("does not coalesce across undo or seal", () => {
    let h = createHistory("a");
    h = commit(h, "ab", "type:name");
    h = seal(h);
    h = commit(h, "abc", "type:name");
    expect(h.past).toEqual(["a", "ab"]);
    h = undo(h);
    h = commit(h, "abd", "type:name");
    expect(h.past).toEqual(["a", "ab"]);
  });

  it("ignores commits that change nothing", () => {
    const h = createHistory("a");
    expect(commit(h, "a")).toBe(h);
  });

  it("keeps at most HISTORY_LIMIT steps", () => {
    let h = createHistory(0);
    for (let i = 1; i <= HISTORY_LIMIT + 50; i++) h = commit(h, i);
    expect(h.past).toHaveLength(HISTORY_LIMIT);
    expect(h.past[0]).toBe(50); // states 0..250: the oldest 50 fell off
  });
});
