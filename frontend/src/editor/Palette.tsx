// The node palette: categories from the registry, the document's blocks, the user's library blocks, a
// search box. Items are dragged onto the canvas (HTML5 drag and drop) or added at the centre with a click.
import { type DragEvent, memo, useMemo, useState } from "react";
import { DND_TYPE, entryKey, GRAPH_BLOCKS_CATEGORY, LIBRARY_CATEGORY, type PaletteEntry, searchEntries } from "./entries";

// Registry categories whose plain capitalisation reads wrong.
const CATEGORY_TITLES: Record<string, string> = { io: "Input / output" };

interface Props {
  entries: PaletteEntry[];
  categories: string[];
  readOnly: boolean;
  libraryError: string | null;
  onAdd: (entry: PaletteEntry) => void;
}

export const Palette = memo(function Palette({ entries, categories, readOnly, libraryError, onAdd }: Props) {
  const [query, setQuery] = useState("");
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const found = useMemo(() => searchEntries(entries, query), [entries, query]);
  const groups = useMemo(() => {
    const order = [...categories, GRAPH_BLOCKS_CATEGORY, LIBRARY_CATEGORY];
    const map = new Map<string, PaletteEntry[]>();
    for (const entry of found) {
      const list = map.get(entry.category);
      if (list) list.push(entry);
      else map.set(entry.category, [entry]);
    }
    const known = order.filter((c) => map.has(c)).map((c) => [c, map.get(c)!] as const);
    const rest = [...map.keys()].filter((c) => !order.includes(c)).map((c) => [c, map.get(c)!] as const);
    return [...known, ...rest];
  }, [found, categories]);

  const searching = query.trim() !== "";

  function onDragStart(event: DragEvent, entry: PaletteEntry) {
    event.dataTransfer.setData(DND_TYPE, entryKey(entry));
    event.dataTransfer.setData("text/plain", entry.type);
    event.dataTransfer.effectAllowed = "copy";
  }

  function toggle(category: string) {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(category)) next.delete(category);
      else next.add(category);
      return next;
    });
  }

  return (
    <aside className="cv-palette" aria-label="Node palette">
      <input
        className="cv-input cv-palette-search"
        type="search"
        placeholder="Search layers…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && found[0] && !readOnly) onAdd(found[0]);
          if (e.key === "Escape") setQuery("");
        }}
        data-testid="palette-search"
        aria-label="Search node types"
      />
      <div className="cv-palette-list">
        {groups.length === 0 ? <p className="cv-muted cv-small cv-pad">No node type matches “{query}”.</p> : null}
        {groups.map(([category, items]) => {
          const open = searching || !collapsed.has(category);
          return (
            <section key={category} className="cv-palette-group">
              <button type="button" className="cv-palette-cat" onClick={() => toggle(category)} aria-expanded={open}>
                <span className="cv-dot" style={{ background: items[0]?.color }} />
                {category === LIBRARY_CATEGORY ? "Library" : category === GRAPH_BLOCKS_CATEGORY ? "This graph's blocks" : (CATEGORY_TITLES[category] ?? category)}
                <span className="cv-muted cv-small">{items.length}</span>
              </button>
              {open ? (
                <ul>
                  {items.map((entry) => (
                    <li key={entryKey(entry)}>
                      <button
                        type="button"
                        className="cv-palette-item"
                        draggable={!readOnly}
                        disabled={readOnly}
                        onDragStart={(e) => onDragStart(e, entry)}
                        onClick={() => onAdd(entry)}
                        title={`${entry.doc}${readOnly ? "" : "\nDrag onto the canvas, or click to add it in the middle."}`}
                        data-testid={entry.kind === "library" ? `palette-library-${entry.type}` : `palette-item-${entry.type}`}
                        style={{ borderLeftColor: entry.color }}
                      >
                        {entry.type}
                        {entry.kind === "library" && entry.block ? <span className="cv-muted cv-small"> v{entry.block.head}</span> : null}
                      </button>
                    </li>
                  ))}
                </ul>
              ) : null}
            </section>
          );
        })}
        {libraryError ? <p className="cv-muted cv-small cv-pad">Library unavailable: {libraryError}</p> : null}
      </div>
    </aside>
  );
});
