// The 409 answer to a save: someone saved a newer version since this editor's base. Nothing was saved;
// the person chooses to load the newer head (discarding their edits; undo brings them back), to keep
// editing, or to save their version on top of the newer head knowingly.
import { formatOutputs } from "../lib/outputs";

export interface VersionInfo {
  number: number;
  author: string | null;
  message: string;
  created_at: string;
}

export interface Conflict {
  detail: string;
  head: VersionInfo;
  diff: Record<string, unknown>;
}

interface ListDiff {
  added?: unknown[];
  removed?: unknown[];
  changed?: Record<string, unknown> | unknown[];
  moved?: unknown[];
}

function ids(list: unknown[] | undefined): string {
  return (list ?? [])
    .map((x) => (x && typeof x === "object" && "id" in x ? String((x as { id: unknown }).id) : Array.isArray(x) ? x.join(" → ") : String(x)))
    .slice(0, 6)
    .join(", ");
}

/** One line per kind of change in graphs/diff.py's diff_documents answer. */
export function summarizeDiff(diff: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const nodes = (diff.nodes ?? {}) as ListDiff;
  const edges = (diff.edges ?? {}) as ListDiff;
  const changed = nodes.changed && !Array.isArray(nodes.changed) ? Object.keys(nodes.changed) : [];
  if (nodes.added?.length) lines.push(`${nodes.added.length} node${nodes.added.length > 1 ? "s" : ""} added: ${ids(nodes.added)}`);
  if (nodes.removed?.length) lines.push(`${nodes.removed.length} node${nodes.removed.length > 1 ? "s" : ""} removed: ${ids(nodes.removed)}`);
  if (changed.length) lines.push(`${changed.length} node${changed.length > 1 ? "s" : ""} changed: ${changed.slice(0, 6).join(", ")}`);
  if (nodes.moved?.length) lines.push(`${nodes.moved.length} node${nodes.moved.length > 1 ? "s" : ""} moved`);
  if (edges.added?.length) lines.push(`${edges.added.length} edge${edges.added.length > 1 ? "s" : ""} added`);
  if (edges.removed?.length) lines.push(`${edges.removed.length} edge${edges.removed.length > 1 ? "s" : ""} removed`);
  for (const key of ["inputs", "outputs"]) {
    const change = diff[key] as { old: unknown; new: unknown } | null | undefined;
    if (change) lines.push(`${key}: ${formatOutputs(change.old)} → ${formatOutputs(change.new)}`);
  }
  const blocks = diff.composites as ListDiff | undefined;
  const blockCount = (blocks?.added?.length ?? 0) + (blocks?.removed?.length ?? 0) + (Array.isArray(blocks?.changed) ? blocks!.changed.length : 0);
  if (blockCount) lines.push(`${blockCount} block definition${blockCount > 1 ? "s" : ""} changed`);
  const metadata = diff.metadata;
  if (Array.isArray(metadata) ? metadata.length : metadata && typeof metadata === "object" && Object.keys(metadata).length) lines.push("metadata changed");
  if (lines.length === 0) lines.push(diff.identical ? "No differences in the document." : "Changes in the document.");
  return lines;
}

interface Props {
  conflict: Conflict;
  base: number | null;
  busy: boolean;
  onLoadHead: () => void;
  onKeepEditing: () => void;
  onOverwrite: () => void;
}

export function ConflictDialog({ conflict, base, busy, onLoadHead, onKeepEditing, onOverwrite }: Props) {
  const head = conflict.head;
  const when = head.created_at ? new Date(head.created_at).toLocaleString() : "";
  return (
    <div className="cv-modal-backdrop" role="presentation">
      <div className="cv-modal" role="alertdialog" aria-modal="true" aria-labelledby="cv-conflict-title" data-testid="conflict-dialog">
        <h3 id="cv-conflict-title">Not saved: v{head.number} is newer than your v{base ?? "?"}</h3>
        <p>
          <strong>{head.author ?? "Someone"}</strong> saved v{head.number}
          {when ? ` (${when})` : ""}
          {head.message ? <> — “{head.message}”</> : null}. Your edits were made on v{base ?? "?"}; nothing was overwritten.
        </p>
        <p className="cv-small cv-muted">What changed from v{base ?? "?"} to v{head.number}:</p>
        <ul className="cv-diff-summary" data-testid="conflict-diff">
          {summarizeDiff(conflict.diff).map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ul>
        <div className="cv-row cv-row--end cv-gap-top">
          <button type="button" className="cv-button" onClick={onKeepEditing} disabled={busy} data-testid="conflict-keep">
            Keep editing
          </button>
          <button type="button" className="cv-button" onClick={onOverwrite} disabled={busy} data-testid="conflict-overwrite" title={`Saves your document as v${head.number + 1}, replacing v${head.number}'s changes in the new head (v${head.number} stays in the history).`}>
            Save mine as v{head.number + 1} anyway
          </button>
          <button type="button" className="cv-button cv-button--primary" onClick={onLoadHead} disabled={busy} data-testid="conflict-load">
            Load v{head.number} (discard my edits)
          </button>
        </div>
      </div>
    </div>
  );
}
