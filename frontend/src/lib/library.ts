// Library blocks (GET/POST /api/composites/) and the graph's `composites`: what a published block must
// carry, and how a fetched version enters a document. Pure functions; nothing here touches React.
import type { CompositeDefinition, GraphDoc } from "../graph";
import type { SpecIndex } from "./specs";

/** GET /api/composites/{id}/versions/{n}/ answer (the fields the canvas uses). */
export interface LibraryVersion {
  definition: CompositeDefinition;
  reference: { block: number; version: number };
  /** The user blocks the definition uses, directly or through each other; absent from older servers. */
  composites?: Record<string, CompositeDefinition>;
}

function has(composites: Record<string, CompositeDefinition>, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(composites, name);
}

function same(a: CompositeDefinition, b: CompositeDefinition): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The blocks of `composites` that block `name` uses, directly or through each other (not `name` itself): what publishing it must send. */
export function blocksUsedBy(composites: Record<string, CompositeDefinition>, name: string): Record<string, CompositeDefinition> {
  const used: Record<string, CompositeDefinition> = {};
  const visit = (definition: CompositeDefinition) => {
    for (const node of definition.nodes) {
      // Built-in types are not in `composites`; `used` doubles as the guard against cycles.
      if (node.type === name || has(used, node.type) || !has(composites, node.type)) continue;
      used[node.type] = composites[node.type];
      visit(composites[node.type]);
    }
  };
  visit(composites[name]);
  return used;
}

/** The name a library block takes in `composites`: its own unless taken by another definition or a built-in, else `NameV<version>[x<n>]`. */
function libraryAlias(composites: Record<string, CompositeDefinition>, specs: SpecIndex, name: string, version: number, definition: CompositeDefinition): string {
  if (has(composites, name) && same(composites[name], definition)) return name;
  if (!has(composites, name) && !specs.byType.has(name)) return name;
  let alias = `${name}V${version}`;
  for (let n = 2; (has(composites, alias) && !same(composites[alias], definition)) || specs.byType.has(alias); n++) alias = `${name}V${version}x${n}`;
  return alias;
}

/**
 * `doc` with library block `name` (the fetched `version`) ready to be used as a node `type`: the block under its
 * alias, linked in `metadata.library`, and the blocks it uses under their own names (never aliased: the
 * block's nodes name them), or why it cannot be added.
 */
export function withLibraryBlock(doc: GraphDoc, specs: SpecIndex, name: string, version: LibraryVersion): { doc: GraphDoc; type: string } | { error: string } {
  const composites = { ...(doc.composites ?? {}) };
  for (const [inner, definition] of Object.entries(version.composites ?? {})) {
    if (!has(composites, inner)) composites[inner] = definition;
    else if (!same(composites[inner], definition)) {
      return { error: `Cannot add ${name}: it uses its own ${inner}, which differs from this graph's ${inner}; rename this graph's ${inner} first.` };
    }
  }
  const alias = libraryAlias(composites, specs, name, version.reference.version, version.definition);
  const libraryRefs = (doc.metadata?.library as Record<string, unknown> | undefined) ?? {};
  return {
    type: alias,
    doc: {
      ...doc,
      metadata: { ...(doc.metadata ?? {}), library: { ...libraryRefs, [alias]: version.reference } },
      composites: { ...composites, [alias]: version.definition },
    },
  };
}
