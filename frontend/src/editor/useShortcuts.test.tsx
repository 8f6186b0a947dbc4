import { cleanup, render } from "@testing-library/react";
import { useRef } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { type ShortcutActions, useShortcuts } from "./useShortcuts";

const doc: GraphDoc = { version: "0.2", nodes: [{ id: "a", type: "ReLU", params: {} }, { id: "b", type: "ReLU", params: {} }], edges: [], inputs: [], outputs: [] };

function Canvas(props: Omit<ShortcutActions, "wrapper">) {
  const wrapper = useRef<HTMLDivElement>(null);
  useShortcuts({ ...props, wrapper });
  return (
    <div className="tc-canvas">
      <div ref={wrapper} tabIndex={0} data-testid="canvas" />
    </div>
  );
}

function setup(copied: unknown = { nodes: [] }) {
  const actions = { doc, dispatch: vi.fn(), copy: vi.fn(() => copied), paste: vi.fn(), deleteSelection: vi.fn(), openGroup: vi.fn(), save: vi.fn(async () => true) };
  const view = render(
    <>
      <Canvas {...actions} />
      <button type="button" data-testid="elsewhere" />
    </>,
  );
  return { ...actions, view };
}

function press(key: string, mods: Partial<KeyboardEventInit> = {}) {
  const event = new KeyboardEvent("keydown", { key, cancelable: true, ...mods });
  window.dispatchEvent(event);
  return event;
}

afterEach(cleanup);

describe("useShortcuts", () => {
  it("routes the shortcuts to the editor's actions, and keeps the browser's own copy", () => {
    const { dispatch, copy, paste, deleteSelection, openGroup, save } = setup();
    expect(press("z", { ctrlKey: true }).defaultPrevented).toBe(true);
    expect(dispatch).toHaveBeenLastCalledWith({ type: "undo" });
    press("z", { ctrlKey: true, shiftKey: true });
    expect(dispatch).toHaveBeenLastCalledWith({ type: "redo" });
    press("a", { metaKey: true });
    expect(dispatch).toHaveBeenLastCalledWith({ type: "select", nodes: new Set(["a", "b"]), edges: new Set() });
    expect(press("c", { ctrlKey: true }).defaultPrevented).toBe(false);
    expect(copy).toHaveBeenCalledTimes(1);
    press("v", { ctrlKey: true });
    expect(paste).toHaveBeenCalledTimes(1);
    press("g", { ctrlKey: true });
    expect(openGroup).toHaveBeenCalledTimes(1);
    press("s", { ctrlKey: true });
    expect(save).toHaveBeenCalledTimes(1);
    press("Delete");
    expect(deleteSelection).toHaveBeenCalledTimes(1);
    press("Escape");
    expect(dispatch).toHaveBeenLastCalledWith({ type: "select", nodes: new Set(), edges: new Set() });
  });

  it("cuts only what was copied", () => {
    const nothing = setup(null);
    press("x", { ctrlKey: true });
    expect(nothing.copy).toHaveBeenCalledTimes(1);
    expect(nothing.deleteSelection).not.toHaveBeenCalled();
    cleanup();
    const some = setup();
    press("x", { ctrlKey: true });
    expect(some.deleteSelection).toHaveBeenCalledTimes(1);
  });

  it("leaves the keys alone while the focus is elsewhere on the page or a dialog is open", () => {
    const { dispatch, view } = setup();
    view.getByTestId("elsewhere").focus();
    expect(press("z", { ctrlKey: true }).defaultPrevented).toBe(false);
    view.getByTestId("canvas").focus();
    const modal = document.body.appendChild(Object.assign(document.createElement("div"), { className: "cv-modal" }));
    press("z", { ctrlKey: true });
    modal.remove();
    expect(dispatch).not.toHaveBeenCalled();
    press("z", { ctrlKey: true });
    expect(dispatch).toHaveBeenCalledWith({ type: "undo" });
  });

  it("stops listening once the editor is gone", () => {
    const { dispatch, view } = setup();
    view.unmount();
    press("z", { ctrlKey: true });
    expect(dispatch).not.toHaveBeenCalled();
  });
});
