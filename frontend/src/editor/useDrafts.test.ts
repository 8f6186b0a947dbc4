import { act, cleanup, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { draftKey, readDraft, writeDraft } from "../lib/draft";
import { testBoot } from "../panels/testBoot";
import { type DraftOptions, useDrafts } from "./useDrafts";

function graph(...ids: string[]): GraphDoc {
  return { version: "0.2", nodes: ids.map((id) => ({ id, type: "ReLU", params: {} })), edges: [], inputs: [], outputs: [] };
}

const saved = graph("a");
const edited = graph("a", "b");

function setup(options: Partial<DraftOptions> = {}) {
  const edit = vi.fn();
  const dispatch = vi.fn();
  const rebase = vi.fn();
  const props: DraftOptions = {
    boot: testBoot,
    readOnly: false,
    doc: saved,
    dirty: false,
    base: { version: 3, doc: saved },
    baseVersion: 3,
    draft: null,
    staleDraft: null,
    edit,
    dispatch,
    rebase,
    ...options,
  };
  const hook = renderHook((p: DraftOptions) => useDrafts(p), { initialProps: props });
  return { hook, props, edit, dispatch, rebase };
}

beforeEach(() => {
  localStorage.clear();
  vi.useFakeTimers();
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("useDrafts", () => {
  it("writes the draft 400 ms after the last edit, and drops it once the document is the base again", () => {
    const { hook, props } = setup();
    hook.rerender({ ...props, doc: edited, dirty: true });
    act(() => vi.advanceTimersByTime(399));
    expect(readDraft(12, 3)).toBeNull();
    act(() => vi.advanceTimersByTime(1));
    expect(readDraft(12, 3)?.doc).toEqual(edited);

    hook.rerender({ ...props, doc: saved, dirty: false }); // undone
    act(() => vi.advanceTimersByTime(400));
    expect(readDraft(12, 3)).toBeNull();
  });

  it("writes the latest document at once when the page goes away", () => {
    const { hook, props } = setup();
    hook.rerender({ ...props, doc: edited, dirty: true });
    window.dispatchEvent(new Event("pagehide"));
    expect(readDraft(12, 3)?.doc).toEqual(edited);
  });

  it("keeps no draft of a read-only canvas", () => {
    const { hook, props } = setup({ readOnly: true });
    hook.rerender({ ...props, doc: edited, dirty: true });
    act(() => vi.advanceTimersByTime(1000));
    window.dispatchEvent(new Event("pagehide"));
    expect(localStorage.length).toBe(0);
  });

  it("shows the restored draft's notice until it is kept, or discarded (back to the base, draft gone)", () => {
    const kept = setup({ draft: { savedAt: 1000 }, doc: edited, dirty: true });
    expect(kept.hook.result.current.restoredAt).toBe(1000);
    act(() => kept.hook.result.current.dismissNotice());
    expect(kept.hook.result.current.restoredAt).toBeNull();

    writeDraft(12, 3, edited);
    const discarded = setup({ draft: { savedAt: 1000 }, doc: edited, dirty: true });
    act(() => discarded.hook.result.current.discardDraft());
    expect(discarded.dispatch).toHaveBeenCalledWith({ type: "reset", doc: saved });
    expect(discarded.hook.result.current.restoredAt).toBeNull();
    expect(localStorage.getItem(draftKey(12, 3))).toBeNull();
  });

  it("restores edits made on an older version as an edit on that version, so saving asks first", () => {
    const stale = { base: 2, doc: edited, savedAt: 500 };
    const { hook, edit, rebase } = setup({ staleDraft: stale });
    expect(hook.result.current.stale).toEqual(stale);
    act(() => hook.result.current.restoreStale());
    expect(edit).toHaveBeenCalledTimes(1);
    expect(edit.mock.calls[0][0](saved)).toEqual({ doc: edited, select: [] });
    expect(rebase).toHaveBeenCalledWith(2, "Your edits on v2 (v3 is newer)");
    expect(hook.result.current.stale).toBeNull();
  });

  it("discards edits made on an older version: their draft is removed and nothing is edited", () => {
    writeDraft(12, 2, edited);
    const { hook, edit, rebase } = setup({ staleDraft: { base: 2, doc: edited, savedAt: 500 } });
    act(() => hook.result.current.discardStale());
    expect(localStorage.getItem(draftKey(12, 2))).toBeNull();
    expect(hook.result.current.stale).toBeNull();
    expect(edit).not.toHaveBeenCalled();
    expect(rebase).not.toHaveBeenCalled();
  });
});
