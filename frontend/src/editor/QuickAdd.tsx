// The double-click search popup (ComfyUI style): type to filter, arrows to choose, Enter to insert at the
// point that was double-clicked (or at the end of a connection dropped on empty canvas).
import { useEffect, useMemo, useRef, useState } from "react";
import { entryKey, LIBRARY_CATEGORY, type PaletteEntry, searchEntries } from "./entries";

interface Props {
  entries: PaletteEntry[];
  /** Screen position inside the canvas box. */
  at: { left: number; top: number };
  onPick: (entry: PaletteEntry) => void;
  onClose: () => void;
}

const LIMIT = 12;

export function QuickAdd({ entries, at, onPick, onClose }: Props) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const found = useMemo(() => searchEntries(entries, query).slice(0, LIMIT), [entries, query]);

  useEffect(() => input.current?.focus(), []);

  return (
    <div className="cv-quickadd" style={{ left: at.left, top: at.top }} role="dialog" aria-label="Add a node" data-testid="quick-add" onMouseDown={(e) => e.stopPropagation()}>
      <input
        ref={input}
        className="cv-input"
        placeholder="Add a node…"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onBlur={() => window.setTimeout(onClose, 120)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setActive((a) => Math.min(found.length - 1, a + 1));
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            setActive((a) => Math.max(0, a - 1));
          } else if (e.key === "Enter") {
            e.preventDefault();
            if (found[active]) onPick(found[active]);
          } else if (e.key === "Escape") {
            e.preventDefault();
            onClose();
          }
        }}
        data-testid="quick-add-search"
        aria-label="Search node types"
      />
      <ul role="listbox">
        {found.map((entry, i) => (
          <li key={entryKey(entry)} role="option" aria-selected={i === active}>
            <button
              type="button"
              className={i === active ? "cv-quickadd-item cv-quickadd-item--active" : "cv-quickadd-item"}
              onMouseDown={(e) => {
                e.preventDefault();
                onPick(entry);
              }}
              onMouseEnter={() => setActive(i)}
              data-testid={`quick-add-item-${entry.type}`}
            >
              <span className="cv-dot" style={{ background: entry.color }} />
              <span>{entry.type}</span>
              <span className="cv-muted cv-small">{entry.category === LIBRARY_CATEGORY ? "library" : entry.category}</span>
            </button>
          </li>
        ))}
        {found.length === 0 ? <li className="cv-muted cv-small cv-pad">No match</li> : null}
      </ul>
    </div>
  );
}
