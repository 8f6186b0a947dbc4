// Checks a pasted or uploaded graph document before the canvas takes it: the v0.2 shape (the seed's format
// loads unchanged), with one clear sentence naming the first problem and where it is.
import type { GraphDoc, GraphEdge, GraphOutputs } from "../graph";
import { isOutputs } from "../lib/outputs";
import { RECIPE_STAGES } from "../lib/recipe";

const GRAPH_KEYS = ["version", "metadata", "nodes", "edges", "inputs", "outputs", "composites", "training"];
const NODE_KEYS = ["id", "type", "params", "disabled", "label", "path", "ui", "stage", "trainable", "init"];
const COMPOSITE_KEYS = ["params", "nodes", "edges", "inputs", "outputs", "doc", "category"];

export class ImportError extends Error {}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === "object") return "an object";
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKeys(data: Record<string, unknown>, allowed: string[], path: string): void {
  const extra = Object.keys(data).filter((k) => !allowed.includes(k));
  if (extra.length) {
    const where = path ? `${path}.${extra[0]}` : extra[0];
    throw new ImportError(`${where}: unknown field (allowed: ${[...allowed].sort().join(", ")}).`);
  }
}

function stringList(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ImportError(`${path} must be a list of node ids, not ${describe(value)}.`);
  value.forEach((item, i) => {
    if (typeof item !== "string") throw new ImportError(`${path}[${i}] must be a node id (a string), not ${describe(item)}.`);
  });
  return value as string[];
}

/** Check nodes and edges of a body (the model or a block's inside); `prefix` is its JSON path. */
function checkBody(data: Record<string, unknown>, prefix: string, strictEdges: boolean): void {
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (!("nodes" in data)) throw new ImportError(`${at("nodes")} is missing: a graph lists its nodes.`);
  if (!Array.isArray(data.nodes)) throw new ImportError(`${at("nodes")} must be a list of nodes, not ${describe(data.nodes)}.`);
  const ids = new Map<string, number>();
  data.nodes.forEach((node, i) => {
    const where = `${at("nodes")}[${i}]`;
    if (!isObject(node)) throw new ImportError(`${where} must be an object with id, type and params, not ${describe(node)}.`);
    if (!("id" in node)) throw new ImportError(`${where} has no id.`);
    if (typeof node.id !== "string" || !node.id) throw new ImportError(`${where}.id must be a non-empty string, not ${describe(node.id)}.`);
    if (!("type" in node)) throw new ImportError(`${where} (${node.id}) has no type.`);
    if (typeof node.type !== "string" || !node.type) throw new ImportError(`${where}.type must be a node type name, not ${describe(node.type)}.`);
    if (node.params !== undefined && node.params !== null && !isObject(node.params)) {
      throw new ImportError(`${where}.params must be an object, not ${describe(node.params)}.`);
    }
    if (node.disabled !== undefined && typeof node.disabled !== "boolean") throw new ImportError(`${where}.disabled must be true or false.`);
    if (node.label !== undefined && node.label !== null && typeof node.label !== "string") throw new ImportError(`${where}.label must be text.`);
    // Only the type here: a malformed path still loads, and the engine's PATH diagnostic names the node.
    if (node.path !== undefined && node.path !== null && typeof node.path !== "string") throw new ImportError(`${where}.path must be a dotted module path (text), e.g. "features.0".`);
    if (node.ui !== undefined && node.ui !== null && !isObject(node.ui)) throw new ImportError(`${where}.ui must be an object.`);
    if (node.stage !== undefined && !RECIPE_STAGES.includes(node.stage as never)) {
      throw new ImportError(`${where}.stage must be one of ${RECIPE_STAGES.join(", ")}, not ${describe(node.stage)}.`);
    }
    if (node.trainable !== undefined && typeof node.trainable !== "boolean") throw new ImportError(`${where}.trainable must be true or false.`);
    if (node.init !== undefined && typeof node.init !== "string" && !(isObject(node.init) && typeof node.init.type === "string")) {
      throw new ImportError(`${where}.init must be an init type such as "kaiming_uniform", or an object with a type.`);
    }
    unknownKeys(node, NODE_KEYS, where);
    const first = ids.get(node.id);
    if (first !== undefined) throw new ImportError(`${where} has the id "${node.id}" of ${at("nodes")}[${first}]: ids must be unique.`);
    ids.set(node.id, i);
  });
  const edges = data.edges ?? [];
  if (!Array.isArray(edges)) throw new ImportError(`${at("edges")} must be a list of [source, target] pairs, not ${describe(edges)}.`);
  edges.forEach((edge, i) => {
    const where = `${at("edges")}[${i}]`;
    if (!Array.isArray(edge) || edge.length < 2 || edge.length > 3 || !edge.every((v) => typeof v === "string")) {
      throw new ImportError(`${where} must be [source, target] or [source, target, port] (strings), not ${JSON.stringify(edge)}.`);
    }
    if (!strictEdges) return;
    const [source, target] = edge as string[];
    if (!ids.has(source) && !resolvesOutput(source, ids)) throw new ImportError(`${where} starts at "${source}", which is not a node.`);
    if (!ids.has(target)) throw new ImportError(`${where} ends at "${target}", which is not a node.`);
  });
  stringList(data.inputs, at("inputs"));
  if (data.outputs !== undefined && !Array.isArray(data.outputs) && isObject(data.outputs)) {
    if (!isOutputs(data.outputs)) throw new ImportError(`${at("outputs")} must map output names to node ids (strings).`);
  } else stringList(data.outputs, at("outputs"));
}

/** "split:1" names output 1 of node "split". */
function resolvesOutput(source: string, ids: Map<string, number>): boolean {
  const at = source.lastIndexOf(":");
  return at > 0 && ids.has(source.slice(0, at)) && /^[0-9]{1,3}$/.test(source.slice(at + 1));
}

/** Check a parsed document; returns it as a GraphDoc (version "0.2" added when left out, lists defaulted). */
export function checkGraph(data: unknown): GraphDoc {
  if (!isObject(data)) {
    throw new ImportError(`The document must be a JSON object with nodes, edges, inputs and outputs, not ${describe(data)}.`);
  }
  if ("version" in data && data.version !== "0.2") {
    throw new ImportError(`version: expected "0.2", got ${typeof data.version === "number" ? data.version : describe(data.version)}.`);
  }
  unknownKeys(data, GRAPH_KEYS, "");
  if (data.metadata !== undefined && !isObject(data.metadata)) throw new ImportError(`metadata must be an object, not ${describe(data.metadata)}.`);
  if (data.training !== undefined && !isObject(data.training)) throw new ImportError(`training must be an object with optimizer and scheduler, not ${describe(data.training)}.`);
  checkBody(data, "", true);
  if (data.composites !== undefined) {
    if (!isObject(data.composites)) throw new ImportError(`composites must be an object mapping block names to definitions.`);
    for (const [name, definition] of Object.entries(data.composites)) {
      const where = `composites.${name}`;
      if (!/^[A-Z][A-Za-z0-9_]*$/.test(name)) throw new ImportError(`${where}: block names are ASCII identifiers starting with a capital letter.`);
      if (!isObject(definition)) throw new ImportError(`${where} must be an object with params, nodes, edges, inputs and outputs.`);
      unknownKeys(definition, COMPOSITE_KEYS, where);
      if (definition.params !== undefined && !Array.isArray(definition.params)) throw new ImportError(`${where}.params must be a list.`);
      checkBody(definition, where, true);
    }
  }
  const copy = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
  const nodes = copy.nodes as Record<string, unknown>[];
  for (const node of nodes) {
    if (node.params === null) delete node.params;
    if (node.label === null) delete node.label;
    if (node.path === null) delete node.path;
    if (node.ui === null) delete node.ui;
  }
  const doc: GraphDoc = {
    version: "0.2",
    ...(copy as Omit<GraphDoc, "version">),
    edges: (copy.edges as GraphEdge[] | undefined) ?? [],
    inputs: (copy.inputs as string[] | undefined) ?? [],
    outputs: (copy.outputs as GraphOutputs | undefined) ?? [],
  };
  return doc;
}

/** Whether a document is YAML, which the server reads: a .yaml/.yml file, or text that does not open as JSON does. */
export function isYaml(text: string, fileName?: string): boolean {
  if (fileName && /\.ya?ml$/i.test(fileName)) return true;
  if (fileName && /\.json$/i.test(fileName)) return false;
  const first = text.trimStart()[0];
  return first !== undefined && first !== "{" && first !== "[";
}

/** Parse JSON text and check it (see checkGraph); errors are ImportError with one sentence. */
export function parseGraphJson(text: string): GraphDoc {
  if (!text.trim()) throw new ImportError("Paste a graph document (JSON) or choose a file first.");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ImportError(`This is not valid JSON: ${(error as Error).message}`);
  }
  return checkGraph(data);
}
