// The editor's keyboard shortcuts, decided apart from the component so that the rules can be tested:
// Ctrl/Cmd+S saves from anywhere in the editor, text fields included (type the "What changed?" message,
// press Ctrl+S: the browser's "Save page as" must not open); every other shortcut leaves text fields alone,
// so that Delete, Ctrl+Z, Ctrl+C/V… keep editing the text.

export type Shortcut = "undo" | "redo" | "copy" | "cut" | "paste" | "selectAll" | "group" | "save" | "delete" | "deselect";

/** Whether keys typed at `target` belong to a text field (or the code editor) rather than to the canvas. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable || !!el.closest?.(".cm-editor");
}

type Keys = Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "target">;

/** The shortcut a key press means, or null when it is not one (or belongs to the text field it was typed in). */
export function shortcutFor(event: Keys): Shortcut | null {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (mod && key === "s" && !event.shiftKey) return "save";
  if (isTyping(event.target)) return null;
  if (mod && key === "z") return event.shiftKey ? "redo" : "undo";
  if (mod && key === "y") return "redo";
  if (mod && key === "c") return "copy";
  if (mod && key === "x") return "cut";
  if (mod && key === "v") return "paste";
  if (mod && key === "a") return "selectAll";
  if (mod && key === "g") return "group";
  if (!mod && (event.key === "Delete" || event.key === "Backspace")) return "delete";
  if (event.key === "Escape") return "deselect";
  return null;
}
