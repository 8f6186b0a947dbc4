// Param forms: text the user types → a JSON value per the registry's param schema, and client-side range
// checks (the server's PARAM_TYPE / PARAM_RANGE diagnostics say the same after validation).
import type { ParamSpec, ParamValue } from "../graph";

export type Parsed = { ok: true; value: ParamValue | undefined } | { ok: false; error: string };

const INT = /^[+-]?\d+$/;

function parseInt(text: string): number | null {
  const t = text.trim();
  if (!INT.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

function parseIntList(text: string): number[] | null {
  const parts = text
    .replace(/^[[(]\s*|\s*[\])]$/g, "")
    .split(/[\s,×x*]+/)
    .filter((p) => p !== "");
  const values = parts.map(parseInt);
  return values.every((v) => v !== null) ? (values as number[]) : null;
}

/**
 * Parses the text of a field. An empty field means "not set" (the engine's default) — or null for
 * nullable params that have no default to fall back to.
 */
export function parseParam(spec: ParamSpec, text: string): Parsed {
  const t = text.trim();
  if (t === "") {
    if (spec.required) return { ok: false, error: "Required." };
    return { ok: true, value: undefined };
  }
  switch (spec.type) {
    case "int": {
      const n = parseInt(t);
      return n === null ? { ok: false, error: "Expected a whole number." } : { ok: true, value: n };
    }
    case "float": {
      const n = Number(t);
      return t && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, error: "Expected a number." };
    }
    case "ints":
    case "padding": {
      if (spec.type === "padding" && (t === "same" || t === "valid")) return { ok: true, value: t };
      const list = parseIntList(t);
      const length = spec.length ?? 1;
      if (!list || list.length === 0) {
        return { ok: false, error: spec.type === "padding" ? 'Expected a number, a list, "same" or "valid".' : "Expected a number or a list of numbers." };
      }
      if (list.length === 1) return { ok: true, value: list[0] };
      if (list.length !== length) return { ok: false, error: `Expected one number or ${length} numbers.` };
      return { ok: true, value: list };
    }
    case "int_list": {
      const list = parseIntList(t);
      return list ? { ok: true, value: list } : { ok: false, error: "Expected numbers separated by commas." };
    }
    case "choice":
      return spec.choices && !spec.choices.includes(t) ? { ok: false, error: `One of ${spec.choices.join(", ")}.` } : { ok: true, value: t };
    case "bool":
      return t === "true" || t === "false" ? { ok: true, value: t === "true" } : { ok: false, error: "true or false." };
    case "kwargs":
      return parseObject(t);
    default:
      return { ok: true, value: t };
  }
}

/** A CustomModule's keyword arguments: a JSON object (the engine checks its keys and values). */
function parseObject(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'Expected a JSON object, e.g. {"dim": 16, "scale": 0.5}.' };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: 'Expected a JSON object, e.g. {"dim": 16, "scale": 0.5}.' };
  }
  return { ok: true, value: value as ParamValue };
}

/** A range problem with a valid value (min/max, list lengths), or null. */
export function rangeProblem(spec: ParamSpec, value: ParamValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  const numbers: number[] = [];
  if (typeof value === "number") numbers.push(value);
  else if (Array.isArray(value)) {
    for (const v of value) if (typeof v === "number") numbers.push(v);
    if (spec.type === "int_list") {
      if (spec.min_length !== undefined && value.length < spec.min_length) return `At least ${spec.min_length} entries.`;
      if (spec.max_length !== undefined && value.length > spec.max_length) return `At most ${spec.max_length} entries.`;
    }
  }
  for (const n of numbers) {
    if (spec.min !== undefined && spec.min !== null && n < spec.min) return `Must be ≥ ${spec.min}.`;
    if (spec.max !== undefined && spec.max !== null) {
      if ((spec as { max_exclusive?: boolean }).max_exclusive ? n >= spec.max : n > spec.max) {
        return `Must be ${(spec as { max_exclusive?: boolean }).max_exclusive ? "<" : "≤"} ${spec.max}.`;
      }
    }
  }
  return null;
}

/** What an unset param falls back to, for placeholders: `3`, `1, 1`, `none`. */
export function defaultText(spec: ParamSpec): string {
  if (spec.default === undefined) return spec.required ? "required" : "";
  if (spec.default === null) return spec.nullable ? "auto" : "";
  if (Array.isArray(spec.default)) return spec.default.join(", ");
  if (typeof spec.default === "object") return JSON.stringify(spec.default);
  return String(spec.default);
}
