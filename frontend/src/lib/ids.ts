// Readable, unique node ids: `conv1d`, `conv1d_2`, … valid under the engine's id rules (BAD_ID: 1 to 100
// characters, no control characters). Generated ids also avoid ":" so they never read as "split:1" sources.

export const MAX_ID_LENGTH = 100;

/** `Conv1d` → `conv1d`, `Permute_BCT_to_BTH` → `permute_bct_to_bth`, `MyBlock` → `myblock`. */
export function baseIdForType(type: string): string {
  let base = type
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!base) base = "node";
  if (/^[0-9]/.test(base)) base = `n${base}`;
  return base.slice(0, 60);
}

/** The first of `base`, `base_2`, `base_3`, … not in `taken`. */
export function uniqueId(base: string, taken: { has(id: string): boolean }): string {
  const stem = base.slice(0, 60) || "node";
  if (!taken.has(stem)) return stem;
  for (let n = 2; ; n++) {
    const candidate = `${stem}_${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

export function newIdForType(type: string, taken: { has(id: string): boolean }): string {
  return uniqueId(baseIdForType(type), taken);
}

/** Why `id` cannot be used for a node (null when it can). `current` is the node's own id when renaming. */
export function idProblem(id: string, taken: { has(id: string): boolean }, current?: string): string | null {
  if (!id) return "The id cannot be empty.";
  if (id.length > MAX_ID_LENGTH) return `At most ${MAX_ID_LENGTH} characters.`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\u0000-\u001f\u007f]/.test(id)) return "No control characters.";
  if (id.includes(":")) return 'No ":" (it would read as a "node:output" reference).';
  if (id !== id.trim()) return "No leading or trailing spaces.";
  if (id !== current && taken.has(id)) return `Another node is already called "${id}".`;
  return null;
}
