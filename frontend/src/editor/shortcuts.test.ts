import { describe, expect, it } from "vitest";
import { shortcutFor } from "./shortcuts";

function press(target: Element, key: string, mods: Partial<Record<"ctrlKey" | "metaKey" | "shiftKey", boolean>> = {}) {
  const event = new KeyboardEvent("keydown", { key, bubbles: true, ...mods });
  target.dispatchEvent(event);
  return shortcutFor(event);
}

describe("shortcutFor", () => {
  const canvas = document.createElement("div");
  const message = document.createElement("input");
  message.setAttribute("data-testid", "save-message");
  const notes = document.createElement("textarea");
  document.body.append(canvas, message, notes);

  it("saves with Ctrl+S or Cmd+S from the canvas and from text fields alike", () => {
    expect(press(canvas, "s", { ctrlKey: true })).toBe("save");
    expect(press(message, "s", { ctrlKey: true })).toBe("save");
    expect(press(message, "S", { metaKey: true })).toBe("save");
    expect(press(notes, "s", { ctrlKey: true })).toBe("save");
  });

  it("leaves every other shortcut to the text field being typed in", () => {
    for (const [key, mods] of [
      ["Delete", {}],
      ["Backspace", {}],
      ["z", { ctrlKey: true }],
      ["z", { ctrlKey: true, shiftKey: true }],
      ["c", { ctrlKey: true }],
      ["v", { metaKey: true }],
      ["a", { ctrlKey: true }],
    ] as const) {
      expect(press(message, key, mods)).toBeNull();
      expect(press(canvas, key, mods)).not.toBeNull();
    }
  });

  it("maps the canvas keys", () => {
    expect(press(canvas, "z", { ctrlKey: true })).toBe("undo");
    expect(press(canvas, "Z", { ctrlKey: true, shiftKey: true })).toBe("redo");
    expect(press(canvas, "y", { metaKey: true })).toBe("redo");
    expect(press(canvas, "x", { ctrlKey: true })).toBe("cut");
    expect(press(canvas, "Delete")).toBe("delete");
    expect(press(canvas, "Escape")).toBe("deselect");
    expect(press(canvas, "s")).toBeNull();
    expect(press(canvas, "s", { ctrlKey: true, shiftKey: true })).toBeNull();
  });
});
