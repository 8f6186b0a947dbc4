// A document's `outputs` in either form (issue 15): a list (the model returns a tensor, or a tuple) or an
// object mapping names to refs (the model returns a dict). A ref is a node id or `"node:k"` for output k of
// a multi-output node. Every edit keeps the form it finds (and the very object when nothing changes), so a
// document loaded and saved without edits keeps its outputs as they were.
import type { GraphDoc, GraphOutputs } from "../graph";
import { nodeIndex, parseSource, type SourceRef } from "./graphutil";

export interface OutputEntry {
  /** The key in the object form; null in the list form. */
  name: string | null;
  ref: string;
}

export const OUTPUT_NAME_MAX = 64;
// The engine's rule (codegen/schema.py OUTPUT_NAME): a dict key it can also write into generated code.
const OUTPUT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_\-./]{0,63}$/;

export function isNamed(outputs: GraphOutputs): outputs is Record<string, string> {
  return !Array.isArray(outputs);
}

export function outputEntries(outputs: GraphOutputs): OutputEntry[] {
  return isNamed(outputs) ? Object.entries(outputs).map(([name, ref]) => ({ name, ref })) : outputs.map((ref) => ({ name: null, ref }));
}

export function outputRefs(outputs: GraphOutputs): string[] {
  return isNamed(outputs) ? Object.values(outputs) : outputs;
}

/** The node and output index a ref names (`"split:1"` → split, 1), read as the engine reads edge sources. */
export function outputSource(doc: GraphDoc, ref: string): SourceRef {
  return parseSource(ref, nodeIndex(doc));
}

function build(entries: OutputEntry[], named: boolean): GraphOutputs {
  return named ? Object.fromEntries(entries.map((e) => [e.name!, e.ref])) : entries.map((e) => e.ref);
}

/**
 * Each ref replaced by `fn(ref)` (null drops the entry), in the same form; the same value when nothing
 * changed. Named outputs that all drop become `[]`: the engine wants at least one name in the object form.
 */
export function mapOutputs(outputs: GraphOutputs, fn: (ref: string) => string | null): GraphOutputs {
  const entries = outputEntries(outputs);
  const mapped = entries.map((e) => ({ name: e.name, ref: fn(e.ref) }));
  if (mapped.every((e, i) => e.ref === entries[i].ref)) return outputs;
  const kept = mapped.filter((e): e is OutputEntry => e.ref !== null);
  return build(kept, isNamed(outputs) && kept.length > 0);
}

/** A valid name for `ref` not in `taken`: the ref with `:` as `_` (`fork:1` → `fork_1`), numbered when taken. */
export function defaultOutputName(ref: string, taken: { has(name: string): boolean }): string {
  const stem = ref.replace(/[^A-Za-z0-9_\-./]/g, "_").replace(/^[^A-Za-z0-9_]/, "_").slice(0, OUTPUT_NAME_MAX - 4) || "output";
  if (!taken.has(stem)) return stem;
  for (let n = 2; ; n++) if (!taken.has(`${stem}_${n}`)) return `${stem}_${n}`;
}

/** Appends `ref` (named after it in the object form); unchanged when it is already an output. */
export function addOutput(outputs: GraphOutputs, ref: string): GraphOutputs {
  if (outputRefs(outputs).includes(ref)) return outputs;
  if (!isNamed(outputs)) return [...outputs, ref];
  return { ...outputs, [defaultOutputName(ref, new Set(Object.keys(outputs)))]: ref };
}

/** Why `name` cannot name an output (null when it can); `current` is the entry's own name when renaming. */
export function outputNameProblem(name: string, outputs: GraphOutputs, current: string | null): string | null {
  if (!name) return "A name cannot be empty.";
  if (name.length > OUTPUT_NAME_MAX) return `At most ${OUTPUT_NAME_MAX} characters.`;
  if (!OUTPUT_NAME.test(name)) return "Letters, digits, _, -, . and / only, starting with a letter, a digit or _.";
  if (name !== current && isNamed(outputs) && Object.prototype.hasOwnProperty.call(outputs, name)) return `Another output is already called "${name}".`;
  return null;
}

/**
 * Names the output at `index` (in entry order) `name`. A list becomes the object form: the model then
 * returns a dict, and the other outputs are named after their refs. Order is kept.
 */
export function nameOutput(outputs: GraphOutputs, index: number, name: string): GraphOutputs {
  const entries = outputEntries(outputs);
  if (!entries[index] || entries[index].name === name) return outputs;
  const taken = new Set([name, ...entries.map((e) => e.name).filter((n): n is string => n !== null)]);
  const named = entries.map((e, i) => {
    if (i === index) return { name, ref: e.ref };
    if (e.name !== null) return e;
    const fresh = defaultOutputName(e.ref, taken);
    taken.add(fresh);
    return { name: fresh, ref: e.ref };
  });
  return build(named, true);
}

/** The list form of named outputs (the model returns a tuple again), in the same order. */
export function unnameOutputs(outputs: GraphOutputs): GraphOutputs {
  return isNamed(outputs) ? Object.values(outputs) : outputs;
}

/** Whether a value has the shape of `outputs`: a list of refs, or an object of names to refs. */
export function isOutputs(value: unknown): value is GraphOutputs {
  if (Array.isArray(value)) return value.every((ref) => typeof ref === "string");
  return !!value && typeof value === "object" && Object.values(value).every((ref) => typeof ref === "string");
}

/**
 * `next` (a suggestion's list) in the form of `current`: named outputs stay named, each ref under the
 * name it had (a new one named after its ref), so applying a fix does not turn a dict into a tuple.
 */
export function keepNames(current: GraphOutputs, next: GraphOutputs): GraphOutputs {
  if (!isNamed(current) || isNamed(next)) return isNamed(next) ? { ...next } : [...next];
  const had = new Map(Object.entries(current).map(([name, ref]) => [ref, name]));
  const taken = new Set<string>();
  const named: OutputEntry[] = next.map((ref) => {
    const kept = had.get(ref);
    const name = kept !== undefined && !taken.has(kept) ? kept : defaultOutputName(ref, new Set([...taken, ...Object.keys(current)]));
    taken.add(name);
    return { name, ref };
  });
  return build(named, true);
}

/** One line for people: `"fc"`, `"a, b"` or `"mean → fork:0, std → fork:1"`; "none" when empty. */
export function formatOutputs(outputs: unknown): string {
  if (Array.isArray(outputs)) return outputs.map(String).join(", ") || "none";
  if (outputs && typeof outputs === "object") return Object.entries(outputs).map(([name, ref]) => `${name} → ${String(ref)}`).join(", ") || "none";
  return "none";
}

/** Per node id: its outputs as entries with the output index they read (null: the node itself). */
export function outputsByNode(doc: GraphDoc): Map<string, (OutputEntry & { output: number | null; index: number })[]> {
  const result = new Map<string, (OutputEntry & { output: number | null; index: number })[]>();
  const ids = nodeIndex(doc);
  outputEntries(doc.outputs).forEach((entry, index) => {
    const source = parseSource(entry.ref, ids);
    const list = result.get(source.node) ?? [];
    list.push({ ...entry, output: source.output, index });
    result.set(source.node, list);
  });
  return result;
}
