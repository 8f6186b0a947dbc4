// Module paths (`nodes[].path`, docs/engine.md "Module paths"): where a node's module sits in the generated
// nn.Module, e.g. "features.0" or "layer1.0.conv1", so state_dict keys can be torchvision's. The format rule
// mirrors the engine's (codegen/hierarchy.py split_path): at most 200 characters and 16 dot-separated
// segments, each an ASCII Python identifier or a number without leading zeros up to 9999; no keywords, no
// leading "__". Names nn.Module itself has (`training`, `forward`) and clashes between paths are left to the
// engine, whose PATH diagnostics the properties panel shows under the field.

export const MAX_PATH_LENGTH = 200;
const MAX_PATH_DEPTH = 16;
const MAX_INDEX = 9999;

const PY_KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield".split(
    " ",
  ),
);
const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_]*|0|[1-9][0-9]*)$/;

/** Why `path` is not a well-formed module path (null when it is). The empty string is "no path". */
export function pathFormatProblem(path: string): string | null {
  if (path.length > MAX_PATH_LENGTH) return `At most ${MAX_PATH_LENGTH} characters (this one has ${path.length}).`;
  const segments = path.split(".");
  if (segments.length > MAX_PATH_DEPTH) return `At most ${MAX_PATH_DEPTH} levels (this one has ${segments.length}).`;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (!segment) {
      return `Part ${i + 1} of ${segments.length} is empty: write names and numbers separated by single dots, e.g. "features.0".`;
    }
    if (!SEGMENT.test(segment)) {
      return `"${segment}" is neither a Python name (ASCII letters, digits, underscores, not starting with a digit) nor a number without leading zeros.`;
    }
    if (/^[0-9]/.test(segment) && Number(segment) > MAX_INDEX) return `"${segment}": numbers go up to ${MAX_INDEX}.`;
    if (PY_KEYWORDS.has(segment)) return `"${segment}" is a Python keyword; choose another name.`;
    if (segment.startsWith("__")) return `"${segment}" starts with two underscores, which Python reserves; choose another name.`;
  }
  return null;
}

/**
 * Why `path` cannot be the path of node `id` among `nodes` (one body: the model or one block's inside), or
 * null when it can. Two nodes of a body cannot share a path: one module per attribute.
 */
export function pathProblem(path: string, nodes: readonly { id: string; path?: string }[], id: string): string | null {
  if (!path) return null;
  const format = pathFormatProblem(path);
  if (format) return format;
  const other = nodes.find((n) => n.id !== id && n.path === path);
  return other ? `Node "${other.id}" already has the path ${path}; two modules cannot share one.` : null;
}

/**
 * The attribute name the engine gives a node without a path (codegen/naming.py `sanitize`): the id in ASCII
 * lower_snake case. The engine may still add `_1` when that name is taken or reserved (`input`, `training`).
 */
export function flatModuleName(id: string): string {
  const ascii = id.normalize("NFKD").replace(/\P{ASCII}/gu, "");
  let name = ascii
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^0-9a-zA-Z_]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase()
    .replace(/_+/g, "_")
    .slice(0, 48)
    .replace(/_+$/, "");
  if (!name) name = "node";
  if (/^[0-9]/.test(name)) name = `node_${name}`;
  return name;
}

/** `prefix.rest`, or null when the result would not be a valid path (too long, a keyword from the id). */
export function joinPath(prefix: string, rest: string): string | null {
  const joined = `${prefix}.${rest}`;
  return pathFormatProblem(joined) ? null : joined;
}

/**
 * The longest dotted prefix shared by the given paths that is shorter than each of them ("layer1.0" for
 * "layer1.0.conv1" and "layer1.0.bn1"); nodes without a path (an Add, a ReLU) do not count. Null when
 * there is no such prefix or no path at all.
 */
export function commonStrictPrefix(paths: readonly (string | undefined)[]): string | null {
  const split = paths.filter((p): p is string => !!p).map((p) => p.split("."));
  if (split.length === 0) return null;
  let n = Math.min(...split.map((s) => s.length)) - 1; // strict: every path keeps at least one part
  for (let i = 0; i < n; i++) {
    if (split.some((s) => s[i] !== split[0][i])) {
      n = i;
      break;
    }
  }
  return n > 0 ? split[0].slice(0, n).join(".") : null;
}
