import { act, cleanup, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { draftKey } from "../lib/draft";
import { fakeFetch, testBoot } from "../panels/testBoot";
import type { Conflict } from "./ConflictDialog";
import { type SaveOptions, useSave } from "./useSave";

function graph(...ids: string[]): GraphDoc {
  return { version: "0.2", nodes: ids.map((id, i) => ({ id, type: "ReLU", params: {}, ui: { x: 0, y: i * 100 } })), edges: [], inputs: [], outputs: [] };
}

const loaded = graph("a");
const edited = graph("a", "b");
const conflict: Conflict = { detail: "Someone saved v5.", head: { number: 5, author: "bob", message: "", created_at: "2026-01-01T00:00:00Z" }, diff: {} };

function setup(routes: Parameters<typeof fakeFetch>[0], options: Partial<SaveOptions> = {}) {
  const { fetch, calls } = fakeFetch(routes);
  vi.stubGlobal("fetch", fetch);
  const show = vi.fn();
  const flash = vi.fn();
  const props: SaveOptions = { boot: testBoot, readOnly: false, doc: edited, baseVersion: 3, initial: loaded, dir: "TB", show, flash, ...options };
  const hook = renderHook((p: SaveOptions) => useSave(p), { initialProps: props });
  return { hook, calls, show, flash };
}

beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("useSave", () => {
  it("saves on the base with the message, then the saved document is the base and the message is cleared", async () => {
    localStorage.setItem(draftKey(12, 3), "{}");
    const { hook, calls } = setup({ "POST /api/graphs/12/versions/": () => ({ status: 201, body: { number: 4, created: true } }) });
    expect(hook.result.current.dirty).toBe(true);
    expect(hook.result.current.status).toBe("v3");
    act(() => hook.result.current.setMessage("add b"));

    let saved: boolean | undefined;
    await act(async () => {
      saved = await hook.result.current.save();
    });

    expect(saved).toBe(true);
    expect(calls).toEqual([{ method: "POST", url: "/api/graphs/12/versions/", body: { document: edited, message: "add b", base: 3 } }]);
    const { base, dirty, status, message, saving } = hook.result.current;
    expect(base).toEqual({ version: 4, doc: edited });
    expect({ dirty, status, message, saving }).toEqual({ dirty: false, status: "Saved v4", message: "", saving: false });
    expect(localStorage.getItem(draftKey(12, 3))).toBeNull(); // the draft made on v3 is in v4 now
  });

  it("says so when the server had nothing new to save", async () => {
    const { hook } = setup({ "POST /api/graphs/12/versions/": () => ({ body: { number: 3, created: false } }) });
    await act(() => hook.result.current.save());
    expect(hook.result.current.status).toBe("No changes since v3");
  });

  it("opens the conflict on a 409, keeps the edits unsaved, and can load the newer head as the base", async () => {
    const head = graph("x", "y");
    localStorage.setItem(draftKey(12, 3), "{}");
    const { hook, calls, show } = setup({
      "POST /api/graphs/12/versions/": () => ({ status: 409, body: conflict }),
      "GET /api/graphs/12/versions/5/": () => ({ body: { number: 5, document: head } }),
    });

    let saved: boolean | undefined;
    await act(async () => {
      saved = await hook.result.current.save();
    });
    expect(saved).toBe(false);
    expect(hook.result.current.conflict).toEqual(conflict);
    expect(hook.result.current.status).toBe("Not saved: v5 is newer");
    expect(hook.result.current.base.version).toBe(3);
    expect(hook.result.current.dirty).toBe(true);

    await act(() => hook.result.current.loadHead());
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(["POST /api/graphs/12/versions/", "GET /api/graphs/12/versions/5/"]);
    expect(show).toHaveBeenCalledWith(head);
    expect(hook.result.current.base).toEqual({ version: 5, doc: head });
    expect(hook.result.current.status).toBe("Loaded v5");
    expect(hook.result.current.conflict).toBeNull();
    expect(localStorage.getItem(draftKey(12, 3))).toBeNull();
  });

  it("overwrites knowingly: a save on the newer head sends that head as the base", async () => {
    const { hook, calls } = setup({ "POST /api/graphs/12/versions/": (body) => ((body as { base: number }).base === 5 ? { status: 201, body: { number: 6, created: true } } : { status: 409, body: conflict }) });
    await act(() => hook.result.current.save());
    expect(hook.result.current.conflict).not.toBeNull();
    await act(() => hook.result.current.save(5));
    expect(calls.map((c) => (c.body as { base: number }).base)).toEqual([3, 5]);
    expect(hook.result.current.conflict).toBeNull();
    expect(hook.result.current.status).toBe("Saved v6");
  });

  it("keeps the conflict's head unloaded and flashes why when it cannot be fetched", async () => {
    const { hook, show, flash } = setup({ "POST /api/graphs/12/versions/": () => ({ status: 409, body: conflict }) });
    await act(() => hook.result.current.save());
    await act(() => hook.result.current.loadHead());
    expect(show).not.toHaveBeenCalled();
    expect(flash).toHaveBeenCalledWith("Could not load v5: Not found.");
    expect(hook.result.current.conflict).toEqual(conflict);
    expect(hook.result.current.saving).toBe(false);
  });

  it("reports a failed save in the status line and stays dirty", async () => {
    const { hook } = setup({ "POST /api/graphs/12/versions/": () => ({ status: 500, body: { detail: "Server error." } }) });
    await act(() => hook.result.current.save());
    expect(hook.result.current.status).toBe("Save failed: Server error.");
    expect(hook.result.current.dirty).toBe(true);
    expect(hook.result.current.conflict).toBeNull();
  });

  it("sends nothing on a read-only canvas, nor while a save is under way", async () => {
    const readOnly = setup({}, { readOnly: true });
    await act(async () => expect(await readOnly.hook.result.current.save()).toBe(false));
    expect(readOnly.calls).toEqual([]);

    let answer: (() => void) | undefined;
    const { fetch, calls } = fakeFetch({ "POST /api/graphs/12/versions/": () => ({ body: { number: 4, created: true } }) });
    vi.stubGlobal("fetch", (input: RequestInfo, init?: RequestInit) => new Promise((resolve) => (answer = () => resolve(fetch(input, init)))));
    const { result } = renderHook(() =>
      useSave({ boot: testBoot, readOnly: false, doc: edited, baseVersion: 3, initial: loaded, dir: "TB", show: vi.fn(), flash: vi.fn() }),
    );
    let first: Promise<boolean> | undefined;
    act(() => {
      first = result.current.save();
    });
    expect(result.current.saving).toBe(true);
    await act(async () => expect(await result.current.save()).toBe(false));
    await act(async () => {
      answer!();
      await first;
    });
    expect(calls).toHaveLength(1);
    expect(result.current.saving).toBe(false);
  });

  it("rebases on an older version without touching the document the edits are compared with", () => {
    const { hook } = setup({});
    act(() => hook.result.current.rebase(2, "Your edits on v2"));
    expect(hook.result.current.base).toEqual({ version: 2, doc: loaded });
    expect(hook.result.current.status).toBe("Your edits on v2");
  });
});
