// Grouping canvas nodes into a user-defined composite block, and the inverse (docs/engine.md,
// "User-defined composite blocks"). Pure functions on the graph document: nothing here touches React.
//
// A block has exactly one input and one output. Grouping copies the selected nodes into a definition
// whose inner Input is "in", replaces them by one node of the new type at their centroid, and rewires
// the outside edges (target ports kept). The members' module paths go inside, less the prefix they all
// share, which the block node takes, so their state_dict keys stay the same. Ungrouping inlines a definition
// with ids prefixed by the block node's id ("se1_conv"), substituting "$param" references and their
// `+ - * //` integer expressions; inner paths go back under the block's place.

import type { CompositeDefinition, CompositeParam, GraphDoc, GraphEdge, GraphNode, ParamValue } from "../graph";
import { mapOutputs, outputRefs } from "./outputs";
import { commonStrictPrefix, flatModuleName, joinPath } from "./paths";

/** One inner param value turned into a block param: `node.params[param]` becomes `"$name"`. */
export interface ExposedParam {
  node: string;
  param: string;
  /** The block param's name (default: `param`). Two entries may share a name when their values agree. */
  name?: string;
  /** Declared type; default from the value (integer → int, other number → float, boolean → bool, text → choice). */
  type?: "int" | "float" | "bool" | "choice";
  /** The value to use when the node has none set (its registry default). */
  value?: ParamValue;
  /** Allowed values of a `choice` param (default: just the current value). */
  choices?: string[];
  doc?: string;
}

export interface GroupOptions {
  exposed?: ExposedParam[];
  doc?: string;
  /** Node types (and aliases) of the registry: a block may not take one of their names. */
  registryTypes?: Iterable<string>;
  /** Id of the new node (default: the block name in snake_case, made unique). */
  nodeId?: string;
}

// Names the engine refuses for block classes (codegen/render.py, codegen/naming.py): keywords, capitalised
// builtins, and names generated modules define at top level.
const PY_KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type _".split(
    " ",
  ),
);
const CAPITALISED_BUILTINS = new Set(
  ("ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError BrokenPipeError BufferError " +
    "BytesWarning ChildProcessError ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError " +
    "DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception ExceptionGroup FileExistsError " +
    "FileNotFoundError FloatingPointError FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError " +
    "IndexError InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ModuleNotFoundError " +
    "NameError NotADirectoryError NotImplemented NotImplementedError OSError OverflowError PendingDeprecationWarning " +
    "PermissionError ProcessLookupError RecursionError ReferenceError ResourceWarning RuntimeError RuntimeWarning " +
    "StopAsyncIteration StopIteration SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError TypeError " +
    "UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning " +
    "ValueError Warning ZeroDivisionError F INPUT_SHAPES").split(" "),
);
// Parameter names a block class body relies on (codegen/render.py _BODY_NAMES).
const RESERVED_PARAM_NAMES = new Set(["self", "super", "nn", "torch", "F", "in_channels", "in_features"]);

const BLOCK_NAME = /^[A-Z][A-Za-z0-9_]{0,63}$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Why `name` cannot name a new block in `graph`, or null when it can. */
export function blockNameProblem(name: string, graph: GraphDoc, registryTypes: Iterable<string> = []): string | null {
  if (!name) return "Give the block a name, e.g. ConvBNReLU.";
  if (!BLOCK_NAME.test(name)) {
    return `"${name}" is not a valid block name: use 1 to 64 ASCII letters, digits and underscores, starting with a capital letter (e.g. ConvBNReLU).`;
  }
  if (PY_KEYWORDS.has(name) || CAPITALISED_BUILTINS.has(name)) {
    return `"${name}" is a Python keyword or builtin, or a name generated code uses; choose another name.`;
  }
  const taken = new Set(registryTypes);
  if (taken.has(name)) return `"${name}" is a built-in node type; choose another name.`;
  if (graph.composites && Object.prototype.hasOwnProperty.call(graph.composites, name)) {
    return `This graph already has a block named "${name}"; choose another name.`;
  }
  return null;
}

/** Why `name` cannot name a block param, or null when it can. */
export function paramNameProblem(name: string): string | null {
  if (!PARAM_NAME.test(name)) return `"${name}" is not a valid parameter name: use ASCII letters, digits and underscores, not starting with a digit.`;
  if (PY_KEYWORDS.has(name)) return `"${name}" is a Python keyword; choose another parameter name.`;
  // Python mangles `__c` inside a class and `__class__` hides what super() needs (codegen/render.py).
  if (name.startsWith("__")) return `"${name}" starts with two underscores, which Python reserves; choose another parameter name.`;
  if (RESERVED_PARAM_NAMES.has(name)) {
    return name === "in_channels" || name === "in_features"
      ? `"${name}" is passed to the block automatically from its input; choose another parameter name.`
      : `"${name}" is reserved in generated code; choose another parameter name.`;
  }
  return null;
}

/** `"split:1"` → `{node: "split", output: "1"}` when `split` is a node (the engine's rule: a real id wins). */
export function edgeSource(source: string, ids: Set<string>): { node: string; output: string | null } {
  if (!ids.has(source)) {
    const at = source.lastIndexOf(":");
    if (at > 0) {
      const head = source.slice(0, at);
      const tail = source.slice(at + 1);
      if (ids.has(head) && /^[0-9]{1,3}$/.test(tail)) return { node: head, output: tail };
    }
  }
  return { node: source, output: null };
}

function withSource(edge: GraphEdge, source: string): GraphEdge {
  return edge.length === 3 ? [source, edge[1], edge[2]] : [source, edge[1]];
}

function withTarget(edge: GraphEdge, target: string): GraphEdge {
  return edge.length === 3 ? [edge[0], target, edge[2]] : [edge[0], target];
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function list(names: string[]): string {
  return names.map((n) => `\`${n}\``).join(", ");
}

/** "ConvBNReLU" → "conv_bn_relu". */
export function snakeCase(name: string): string {
  const snake = name
    .replace(/([A-Z][a-z])LU(?![a-z])/g, (_, head: string) => `${head}lu`) // ReLU, SiLU, GeLU: one word
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
  return snake || "block";
}

function uniqueId(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) {
    const candidate = `${base}_${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

function isPlainValue(value: ParamValue | undefined): value is number | string | boolean {
  return typeof value === "number" || typeof value === "string" || typeof value === "boolean";
}

function declaredType(value: number | string | boolean, type: ExposedParam["type"]): CompositeParam["type"] {
  if (type) return type;
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "choice";
  return Number.isInteger(value) ? "int" : "float";
}

/**
 * Group the nodes `ids` of `graph` into a new block `name`; returns a new document (the input is untouched).
 * Throws an Error whose message says what is wrong with the selection or the options.
 */
export function groupSelection(graph: GraphDoc, ids: string[], name: string, options: GroupOptions = {}): GraphDoc {
  const nameProblem = blockNameProblem(name, graph, options.registryTypes);
  if (nameProblem) throw new Error(nameProblem);
  const selected = new Set(ids);
  if (selected.size === 0) throw new Error("Select the nodes to group first.");
  const byId = new Map(graph.nodes.map((n) => [n.id, n] as const));
  const missing = [...selected].filter((id) => !byId.has(id));
  if (missing.length) throw new Error(`The selection names nodes that are not in the graph: ${list(missing)}.`);
  const inputs = graph.nodes.filter((n) => selected.has(n.id) && (n.type === "Input" || graph.inputs.includes(n.id)));
  if (inputs.length) {
    throw new Error(
      `The selection contains the graph input ${list(inputs.map((n) => n.id))}: a block gets its input from outside, so leave Input nodes out of it.`,
    );
  }
  const nodeIds = new Set(byId.keys());
  const members = graph.nodes.filter((n) => selected.has(n.id)); // graph order

  // Classify edges by which side of the selection their ends lie.
  const incoming: GraphEdge[] = [];
  const outgoing: GraphEdge[] = [];
  const internal: GraphEdge[] = [];
  for (const edge of graph.edges) {
    const from = edgeSource(edge[0], nodeIds).node;
    const inSource = selected.has(from);
    const inTarget = selected.has(edge[1]);
    if (inSource && inTarget) internal.push(edge);
    else if (inTarget) incoming.push(edge);
    else if (inSource) outgoing.push(edge);
  }

  // One input: every edge from outside must come from the same source (it may feed several inner nodes).
  const sources = [...new Set(incoming.map((e) => e[0]))];
  if (sources.length > 1) {
    const detail = sources
      .map((src) => `${src} → ${[...new Set(incoming.filter((e) => e[0] === src).map((e) => e[1]))].join(", ")}`)
      .join("; ");
    throw new Error(
      `The selection has ${sources.length} inputs from outside: ${detail}. A block takes exactly one input: add the nodes where they join to the selection, or group a smaller part.`,
    );
  }
  let heads: string[] = [];
  if (sources.length === 0) {
    const fed = new Set(internal.map((e) => e[1]));
    heads = members.filter((n) => !fed.has(n.id)).map((n) => n.id);
    if (heads.length !== 1) {
      throw new Error(
        `The selection has no input from outside and ${heads.length} nodes where it starts${heads.length ? ` (${list(heads)})` : ""}; a block takes exactly one input.`,
      );
    }
  }

  // One output: the value leaving the selection, through edges or the graph's outputs.
  const leaving = new Map<string, string[]>(); // source as written → where it goes
  for (const edge of outgoing) leaving.set(edge[0], [...(leaving.get(edge[0]) ?? []), `\`${edge[1]}\``]);
  for (const out of outputRefs(graph.outputs)) {
    if (selected.has(edgeSource(out, nodeIds).node)) leaving.set(out, [...(leaving.get(out) ?? []), "the graph outputs"]);
  }
  let output: string;
  if (leaving.size > 1) {
    const detail = [...leaving].map(([src, to]) => `${src} → ${to.join(", ")}`).join("; ");
    throw new Error(
      `The selection has ${leaving.size} outputs used outside: ${detail}. A block has exactly one output: include the nodes that use them, or group a smaller part.`,
    );
  } else if (leaving.size === 1) {
    output = [...leaving.keys()][0];
    const parsed = edgeSource(output, nodeIds);
    if (parsed.output !== null) {
      throw new Error(
        `The selection's output is output ${parsed.output} of \`${parsed.node}\` (${output}); a block's output must be a whole node: include the node that reads it, or leave \`${parsed.node}\` out.`,
      );
    }
  } else {
    const feeding = new Set(internal.map((e) => edgeSource(e[0], nodeIds).node));
    const sinks = members.filter((n) => !feeding.has(n.id)).map((n) => n.id);
    if (sinks.length !== 1) {
      throw new Error(
        `Nothing outside uses the selection and it ends in ${sinks.length} nodes${sinks.length ? ` (${list(sinks)})` : ""}; a block has exactly one output.`,
      );
    }
    output = sinks[0];
  }

  // Exposed params: inner values become "$name" references and block params.
  const innerParams = new Map(members.map((n) => [n.id, clone(n.params ?? {})] as const));
  const declared: CompositeParam[] = [];
  const values: Record<string, ParamValue> = {};
  for (const exposed of options.exposed ?? []) {
    if (!selected.has(exposed.node)) throw new Error(`Cannot expose ${exposed.node}.${exposed.param}: \`${exposed.node}\` is not in the selection.`);
    const params = innerParams.get(exposed.node)!;
    const current = Object.prototype.hasOwnProperty.call(params, exposed.param) ? params[exposed.param] : exposed.value;
    if (current === undefined || current === null) {
      throw new Error(`Cannot expose ${exposed.node}.${exposed.param}: it has no value; set one first.`);
    }
    if (!isPlainValue(current)) {
      throw new Error(
        `Cannot expose ${exposed.node}.${exposed.param}: it is a list; only single numbers, true/false and choices can become block parameters.`,
      );
    }
    if (typeof current === "string" && current.includes("$")) {
      throw new Error(`Cannot expose ${exposed.node}.${exposed.param}: it already refers to a parameter (${current}).`);
    }
    const pname = exposed.name ?? exposed.param;
    const problem = paramNameProblem(pname);
    if (problem) throw new Error(`${exposed.node}.${exposed.param}: ${problem}`);
    const type = declaredType(current, exposed.type);
    const already = declared.find((p) => p.name === pname);
    if (already) {
      if (already.type !== type || values[pname] !== current) {
        throw new Error(
          `Block parameter "${pname}" is used for two different values (${JSON.stringify(values[pname])} and ${JSON.stringify(current)}); give them different names.`,
        );
      }
    } else {
      const param: CompositeParam = { name: pname, type, default: current };
      if (type === "choice") (param as CompositeParam & { choices?: string[] }).choices = exposed.choices ?? [String(current)];
      if (exposed.doc) param.doc = exposed.doc;
      declared.push(param);
      values[pname] = current;
    }
    params[exposed.param] = `$${pname}`;
  }

  // The definition. Inner nodes keep their place relative to the centroid, so ungrouping restores the layout.
  const placed = members.filter((n) => typeof n.ui?.x === "number" && typeof n.ui?.y === "number");
  const centroid = placed.length
    ? {
        x: placed.reduce((s, n) => s + (n.ui!.x as number), 0) / placed.length,
        y: placed.reduce((s, n) => s + (n.ui!.y as number), 0) / placed.length,
      }
    : null;
  const inner = uniqueId("in", new Set(members.map((n) => n.id)));
  const innerNodes: GraphNode[] = [{ id: inner, type: "Input" }];
  const blockPath = liftedPath(graph, members, selected);
  for (const node of members) {
    const copy: GraphNode = { id: node.id, type: node.type, params: innerParams.get(node.id)! };
    if (node.label !== undefined) copy.label = node.label;
    if (node.disabled !== undefined) copy.disabled = node.disabled;
    if (node.path !== undefined) copy.path = blockPath ? node.path.slice(blockPath.length + 1) : node.path;
    if (centroid && typeof node.ui?.x === "number" && typeof node.ui?.y === "number") {
      copy.ui = { x: Math.round(node.ui.x - centroid.x), y: Math.round(node.ui.y - centroid.y) };
    }
    innerNodes.push(copy);
  }
  const innerEdges: GraphEdge[] = [];
  for (const edge of graph.edges) {
    if (internal.includes(edge)) innerEdges.push(clone(edge));
    else if (incoming.includes(edge)) innerEdges.push(withSource(clone(edge), inner));
  }
  if (heads.length === 1) innerEdges.unshift([inner, heads[0]]);
  const definition: CompositeDefinition = {
    ...(options.doc ? { doc: options.doc } : {}),
    params: declared,
    nodes: innerNodes,
    edges: innerEdges,
    inputs: [inner],
    outputs: [output],
  };

  // The block node replaces the selection, at the place of its first member.
  const others = new Set(graph.nodes.filter((n) => !selected.has(n.id)).map((n) => n.id));
  const blockId = options.nodeId ?? uniqueId(snakeCase(name), others);
  if (others.has(blockId)) throw new Error(`A node with id \`${blockId}\` already exists.`);
  const block: GraphNode = { id: blockId, type: name, params: values };
  if (blockPath) block.path = blockPath;
  if (centroid) block.ui = { x: Math.round(centroid.x), y: Math.round(centroid.y) };
  const nodes: GraphNode[] = [];
  for (const node of graph.nodes) {
    if (!selected.has(node.id)) nodes.push(clone(node));
    else if (node.id === members[0].id) nodes.push(block);
  }

  const edges: GraphEdge[] = [];
  let wiredInput = false;
  for (const edge of graph.edges) {
    if (internal.includes(edge)) continue;
    if (incoming.includes(edge)) {
      if (!wiredInput) edges.push([edge[0], blockId]);
      wiredInput = true;
    } else if (outgoing.includes(edge)) {
      edges.push(withSource(clone(edge), blockId));
    } else {
      edges.push(clone(edge));
    }
  }

  return {
    ...clone(graph),
    nodes,
    edges,
    outputs: mapOutputs(graph.outputs, (o) => (o === output ? blockId : o)),
    composites: { ...clone(graph.composites ?? {}), [name]: definition },
  };
}

/**
 * The path the new block node takes so that its members' modules keep their state_dict keys: the prefix
 * the members' paths share ("layer1.0" for "layer1.0.conv1", "layer1.0.bn1"), which the inner paths then
 * lose. None when no member has a path, or when a node left outside sits at or under that prefix (it
 * would have to live inside the block's module).
 */
function liftedPath(graph: GraphDoc, members: GraphNode[], selected: Set<string>): string | null {
  const prefix = commonStrictPrefix(members.map((n) => n.path));
  if (!prefix) return null;
  const clash = graph.nodes.some((n) => !selected.has(n.id) && n.path !== undefined && (n.path === prefix || n.path.startsWith(`${prefix}.`)));
  return clash ? null : prefix;
}

// --- ungrouping --------------------------------------------------------------------------------

type Token = { kind: "num"; value: number } | { kind: "name"; value: string } | { kind: "op"; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+)|\$?([A-Za-z_][A-Za-z0-9_]*)|(\/\/|[-+*()]))/y;
  let at = 0;
  const source = text.trim();
  while (at < source.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(source);
    if (!match) throw new Error(`${JSON.stringify(text)} may only use parameter names, integers and + - * //`);
    if (match[1] !== undefined) tokens.push({ kind: "num", value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: "name", value: match[2] });
    else tokens.push({ kind: "op", value: match[3] });
    at = pattern.lastIndex;
  }
  return tokens;
}

/**
 * The value of a param reference: `"$c"` is the value of `c` (any type); `"$c * 2"`, `"$c // $r + 1"` are
 * integer expressions over declared values with `+ - * //` and parentheses (as the engine allows).
 */
export function evaluateReference(text: string, values: Record<string, ParamValue>): ParamValue {
  const tokens = tokenize(text);
  const known = Object.keys(values).sort().join(", ") || "none";
  const lookup = (name: string): ParamValue => {
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      throw new Error(`${JSON.stringify(text)} refers to unknown parameter "${name}" (declared: ${known})`);
    }
    return values[name];
  };
  if (tokens.length === 1 && tokens[0].kind === "name") return lookup(tokens[0].value);
  let index = 0;
  const bad = () => new Error(`${JSON.stringify(text)} may only use parameter names, integers and + - * //`);
  const number = (value: ParamValue, name: string): number => {
    if (typeof value !== "number") throw new Error(`${JSON.stringify(text)}: "${name}" is ${JSON.stringify(value)}, not a number`);
    return value;
  };
  const factor = (): number => {
    const token = tokens[index++];
    if (!token) throw bad();
    if (token.kind === "num") return token.value;
    if (token.kind === "name") return number(lookup(token.value), token.value);
    if (token.value === "(") {
      const value = sum();
      if (tokens[index]?.value !== ")") throw bad();
      index += 1;
      return value;
    }
    throw bad();
  };
  const product = (): number => {
    let value = factor();
    while (tokens[index]?.kind === "op" && (tokens[index].value === "*" || tokens[index].value === "//")) {
      const op = tokens[index++].value;
      const right = factor();
      if (op === "*") value *= right;
      else {
        if (right === 0) throw new Error(`${JSON.stringify(text)} divides by zero`);
        value = Math.floor(value / right);
      }
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (tokens[index]?.kind === "op" && (tokens[index].value === "+" || tokens[index].value === "-")) {
      const op = tokens[index++].value;
      const right = product();
      value = op === "+" ? value + right : value - right;
    }
    return value;
  };
  const result = sum();
  if (index !== tokens.length) throw bad();
  return result;
}

function substitute(value: ParamValue, values: Record<string, ParamValue>, where: string): ParamValue {
  if (typeof value === "string" && value.includes("$")) {
    try {
      return evaluateReference(value, values);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, values, `${where}[${i}]`));
  return value;
}

/** Whether any node of the graph or of another block definition has type `type`. */
function typeInUse(graph: GraphDoc, type: string, except: { node?: string; block?: string }): boolean {
  if (graph.nodes.some((n) => n.type === type && n.id !== except.node)) return true;
  return Object.entries(graph.composites ?? {}).some(
    ([name, definition]) => name !== except.block && name !== type && definition.nodes.some((n) => n.type === type),
  );
}

/** Layered positions (rows by depth from the input) for inner nodes without their own `ui` offsets. */
function layeredOffsets(definition: CompositeDefinition): Map<string, { x: number; y: number }> {
  const ids = new Set(definition.nodes.map((n) => n.id));
  const depth = new Map<string, number>(definition.inputs.map((id) => [id, 0] as const));
  for (let round = 0; round < definition.nodes.length; round += 1) {
    let changed = false;
    for (const edge of definition.edges) {
      const from = edgeSource(edge[0], ids).node;
      const d = (depth.get(from) ?? 0) + 1;
      if (d > (depth.get(edge[1]) ?? 0) && d <= definition.nodes.length) {
        depth.set(edge[1], d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map<number, string[]>();
  for (const node of definition.nodes) {
    if (definition.inputs.includes(node.id)) continue;
    const d = depth.get(node.id) ?? 1;
    rows.set(d, [...(rows.get(d) ?? []), node.id]);
  }
  const maxDepth = Math.max(1, ...rows.keys());
  const offsets = new Map<string, { x: number; y: number }>();
  for (const [d, row] of rows) {
    row.forEach((id, i) => offsets.set(id, { x: (i - (row.length - 1) / 2) * 200, y: (d - (maxDepth + 1) / 2) * 100 }));
  }
  return offsets;
}

/** Replace the block node `nodeId` by the inside of its definition; returns a new document. */
export function ungroupNode(graph: GraphDoc, nodeId: string): GraphDoc {
  const node = graph.nodes.find((n) => n.id === nodeId);
  if (!node) throw new Error(`There is no node \`${nodeId}\`.`);
  const definition = graph.composites?.[node.type];
  if (!definition) {
    throw new Error(`\`${nodeId}\` is a ${node.type}, not a block defined in this graph: only blocks of this graph can be ungrouped.`);
  }
  if (definition.inputs.length !== 1 || definition.outputs.length !== 1) {
    throw new Error(`Block ${node.type} must have exactly one input and one output to be ungrouped.`);
  }
  const inner = definition.inputs[0];
  const output = definition.outputs[0];
  if (output === inner) throw new Error(`Block ${node.type} passes its input straight through; there is nothing to ungroup.`);

  // The instance's values: its params, else the declared defaults.
  const values: Record<string, ParamValue> = {};
  for (const param of definition.params ?? []) {
    const given = node.params?.[param.name];
    if (given !== undefined && given !== null) values[param.name] = given;
    else if (typeof param.default === "string" && param.default.startsWith("$") && (param.type ?? "int") === "int") {
      // Computed from other values or the input's size (`$in_channels`), which only validation knows.
      throw new Error(`\`${nodeId}\` leaves "${param.name}" to its computed default ${param.default}; set it on the node first.`);
    } else if (param.default !== undefined) values[param.name] = param.default;
    else throw new Error(`\`${nodeId}\` has no value for the block parameter "${param.name}", which has no default; set it first.`);
  }

  const feeding = graph.edges.filter((e) => e[1] === nodeId);
  if (feeding.length > 1) throw new Error(`\`${nodeId}\` has ${feeding.length} inputs; a block takes one. Remove the extra edges first.`);
  const source = feeding[0]?.[0] ?? null;

  // New ids: "<block id>_<inner id>", unique in the graph.
  const taken = new Set(graph.nodes.filter((n) => n.id !== nodeId).map((n) => n.id));
  const rename = new Map<string, string>();
  for (const innerNode of definition.nodes) {
    if (innerNode.id === inner) continue;
    const id = uniqueId(`${nodeId}_${innerNode.id}`, taken);
    taken.add(id);
    rename.set(innerNode.id, id);
  }
  const innerIds = new Set(definition.nodes.map((n) => n.id));
  const mapSource = (src: string): string => {
    const parsed = edgeSource(src, innerIds);
    const id = rename.get(parsed.node) ?? parsed.node;
    return parsed.output === null ? id : `${id}:${parsed.output}`;
  };

  // Inner paths are relative to the block's module: they go under the block's own place (its path, else the
  // attribute named after its id), so the inlined modules keep the state_dict keys they had in the block.
  const modulePrefix = node.path ?? flatModuleName(node.id);
  const origin = typeof node.ui?.x === "number" && typeof node.ui?.y === "number" ? { x: node.ui.x, y: node.ui.y } : null;
  const fallback = layeredOffsets(definition);
  const expanded: GraphNode[] = [];
  for (const innerNode of definition.nodes) {
    if (innerNode.id === inner) continue;
    const copy: GraphNode = { id: rename.get(innerNode.id)!, type: innerNode.type };
    const params: Record<string, ParamValue> = {};
    for (const [key, value] of Object.entries(innerNode.params ?? {})) {
      params[key] = substitute(clone(value), values, `${node.type}.${innerNode.id}.${key}`);
    }
    copy.params = params;
    if (innerNode.label !== undefined) copy.label = innerNode.label;
    if (innerNode.disabled !== undefined) copy.disabled = innerNode.disabled;
    if (innerNode.path !== undefined) {
      const path = joinPath(modulePrefix, innerNode.path);
      if (path) copy.path = path;
    }
    if (origin) {
      const offset =
        typeof innerNode.ui?.x === "number" && typeof innerNode.ui?.y === "number"
          ? { x: innerNode.ui.x, y: innerNode.ui.y }
          : fallback.get(innerNode.id) ?? { x: 0, y: 0 };
      copy.ui = { x: Math.round(origin.x + offset.x), y: Math.round(origin.y + offset.y) };
    }
    expanded.push(copy);
  }

  const innerEdges: GraphEdge[] = [];
  for (const edge of definition.edges) {
    if (edge[0] === inner) {
      if (source !== null) innerEdges.push(withTarget(withSource(clone(edge), source), rename.get(edge[1]) ?? edge[1]));
    } else {
      innerEdges.push(withTarget(withSource(clone(edge), mapSource(edge[0])), rename.get(edge[1]) ?? edge[1]));
    }
  }
  const outputId = rename.get(output) ?? output;
  const edges: GraphEdge[] = [];
  let placed = false;
  for (const edge of graph.edges) {
    if (edge[1] === nodeId) {
      edges.push(...innerEdges);
      placed = true;
    } else if (edge[0] === nodeId) {
      if (!placed) {
        edges.push(...innerEdges);
        placed = true;
      }
      edges.push(withSource(clone(edge), outputId));
    } else {
      edges.push(clone(edge));
    }
  }
  if (!placed) edges.push(...innerEdges);

  const nodes: GraphNode[] = [];
  for (const other of graph.nodes) {
    if (other.id === nodeId) nodes.push(...expanded);
    else nodes.push(clone(other));
  }

  const result: GraphDoc = {
    ...clone(graph),
    nodes,
    edges,
    outputs: mapOutputs(graph.outputs, (o) => (o === nodeId ? outputId : o)),
  };
  if (!typeInUse(result, node.type, {})) {
    const composites = { ...result.composites };
    delete composites[node.type];
    if (Object.keys(composites).length) result.composites = composites;
    else delete result.composites;
    const library = (result.metadata as { library?: Record<string, unknown> } | undefined)?.library;
    if (library && typeof library === "object" && node.type in library) {
      const rest = { ...library };
      delete rest[node.type];
      result.metadata = { ...result.metadata, library: rest };
    }
  }
  return result;
}
