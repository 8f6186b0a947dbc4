// What can be added to the canvas: registry types, the document's own blocks, and library blocks
// (GET /api/composites/); one ranked search shared by the palette and the double-click popup.
import type { GraphDoc, Registry } from "../graph";

export interface LibraryBlock {
  id: number;
  name: string;
  library: string;
  owner: string | null;
  team: string | null;
  description: string;
  head: number | null;
}

export interface PaletteEntry {
  kind: "type" | "library";
  /** Node type (registry or document block), or the library block's name. */
  type: string;
  category: string;
  color: string;
  doc: string;
  aliases: string[];
  block?: LibraryBlock;
}

export const LIBRARY_CATEGORY = "library";
export const GRAPH_BLOCKS_CATEGORY = "this graph";

export function buildEntries(registry: Registry | null, composites: GraphDoc["composites"], library: LibraryBlock[]): PaletteEntry[] {
  const entries: PaletteEntry[] = [];
  const colors = new Map((registry?.categories ?? []).map((c) => [c.name, c.color]));
  for (const spec of registry?.nodes ?? []) {
    if (spec.palette === false) continue;
    entries.push({ kind: "type", type: spec.type, category: spec.category, color: spec.color, doc: spec.doc, aliases: spec.aliases ?? [] });
  }
  for (const [name, def] of Object.entries(composites ?? {})) {
    entries.push({ kind: "type", type: name, category: GRAPH_BLOCKS_CATEGORY, color: colors.get("block") ?? "#f97316", doc: def.doc ?? "A block defined in this graph.", aliases: [] });
  }
  for (const block of library) {
    if (block.head === null) continue;
    entries.push({
      kind: "library",
      type: block.name,
      category: LIBRARY_CATEGORY,
      color: colors.get("block") ?? "#f97316",
      doc: block.description || `${block.library} · v${block.head}`,
      aliases: [],
      block,
    });
  }
  return entries;
}

/** Entries matching `query`: exact and prefix matches on the type first, then aliases, then docs. */
export function searchEntries(entries: PaletteEntry[], query: string): PaletteEntry[] {
  const q = query.trim().toLowerCase();
  if (!q) return entries;
  const scored: { entry: PaletteEntry; score: number; i: number }[] = [];
  entries.forEach((entry, i) => {
    const type = entry.type.toLowerCase();
    let score = -1;
    if (type === q) score = 0;
    else if (type.startsWith(q)) score = 1;
    else if (entry.aliases.some((a) => a.toLowerCase().startsWith(q))) score = 2;
    else if (type.includes(q)) score = 3;
    else if (entry.category.toLowerCase().startsWith(q)) score = 4;
    else if (q.length >= 3 && entry.doc.toLowerCase().includes(q)) score = 5;
    if (score >= 0) scored.push({ entry, score, i });
  });
  scored.sort((a, b) => a.score - b.score || a.i - b.i);
  return scored.map((s) => s.entry);
}

export const DND_TYPE = "application/x-torchcanvas-node";

export function entryKey(entry: PaletteEntry): string {
  return entry.kind === "library" ? `library:${entry.block!.id}` : `type:${entry.type}`;
}
