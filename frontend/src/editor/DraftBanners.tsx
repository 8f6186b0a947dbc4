// The banners over the canvas about unsaved drafts (useDrafts): one restored on load, one made on an older version.
import type { Drafts } from "./useDrafts";

export function DraftBanners({ drafts, baseVersion }: { drafts: Drafts; baseVersion: number | null }) {
  const { restoredAt, stale } = drafts;
  return (
    <>
      {restoredAt !== null ? (
        <div className="cv-banner" role="status" data-testid="draft-notice">
          Restored your unsaved draft from {new Date(restoredAt).toLocaleString()}.
          <button type="button" className="cv-button cv-button--small" onClick={drafts.discardDraft} data-testid="discard-draft">
            Discard
          </button>
          <button type="button" className="cv-link" onClick={drafts.dismissNotice}>
            Keep it
          </button>
        </div>
      ) : null}
      {stale ? (
        <div className="cv-banner" role="status" data-testid="stale-draft-notice">
          You have unsaved edits from {new Date(stale.savedAt).toLocaleString()}, made on v{stale.base ?? "?"}; v{baseVersion ?? "?"} has been saved since.
          <button type="button" className="cv-button cv-button--small" onClick={drafts.restoreStale} data-testid="restore-stale-draft">
            Restore my edits
          </button>
          <button type="button" className="cv-link" onClick={drafts.discardStale} data-testid="discard-stale-draft">
            Discard them
          </button>
        </div>
      ) : null}
    </>
  );
}
