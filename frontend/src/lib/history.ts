// Undo/redo over immutable documents. A commit with the same `key` as the previous commit replaces the
// present instead of pushing a step: one drag ("move:7"), or one burst of typing in one field
// ("param:conv:kernel_size"), is one undo step.

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  /** Coalescing key of the last commit; null after undo/redo/reset or an uncoalesced commit. */
  lastKey: string | null;
}

export const HISTORY_LIMIT = 200;

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: null };
}

export function commit<T>(history: History<T>, next: T, key?: string | null): History<T> {
  if (next === history.present) return key ? { ...history, lastKey: key } : history;
  if (key && key === history.lastKey) {
    return { past: history.past, present: next, future: [], lastKey: key };
  }
  const past = history.past.length >= HISTORY_LIMIT ? history.past.slice(history.past.length - HISTORY_LIMIT + 1) : history.past.slice();
  past.push(history.present);
  return { past, present: next, future: [], lastKey: key ?? null };
}

export function undo<T>(history: History<T>): History<T> {
  if (history.past.length === 0) return history;
  const past = history.past.slice(0, -1);
  return { past, present: history.past[history.past.length - 1], future: [history.present, ...history.future], lastKey: null };
}

export function redo<T>(history: History<T>): History<T> {
  if (history.future.length === 0) return history;
  const [next, ...future] = history.future;
  return { past: [...history.past, history.present], present: next, future, lastKey: null };
}

export function canUndo<T>(history: History<T>): boolean {
  return history.past.length > 0;
}

export function canRedo<T>(history: History<T>): boolean {
  return history.future.length > 0;
}

/** Ends coalescing: the next commit is a new step even with the same key. */
export function seal<T>(history: History<T>): History<T> {
  return history.lastKey === null ? history : { ...history, lastKey: null };
}
