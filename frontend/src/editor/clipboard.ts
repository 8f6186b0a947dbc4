// The copy/paste buffer: in memory, mirrored to localStorage so a copy in one tab pastes in another.
import { type Clip, isClip } from "../lib/docops";

const KEY = "torchcanvas:clipboard";
let current: Clip | null = null;

export function writeClip(clip: Clip): void {
  current = clip;
  try {
    window.localStorage.setItem(KEY, JSON.stringify(clip));
  } catch {
    /* storage disabled or full: in-memory only */
  }
}

export function readClip(): Clip | null {
  try {
    const raw = window.localStorage.getItem(KEY);
    if (raw) {
      const parsed: unknown = JSON.parse(raw);
      if (isClip(parsed)) return parsed;
    }
  } catch {
    /* fall back to memory */
  }
  return current;
}
