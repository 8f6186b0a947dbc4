// The diagnostics of the last validation, errors first. Clicking one selects and centres its node; its
// suggestion (when the engine made one) is applied with one click, as one undo step.
import { memo, useMemo } from "react";
import type { Diagnostic, Suggestion } from "../graph";
import { canApply, describeSuggestion } from "../lib/suggestions";
import type { ValidationState } from "./useValidation";

interface Props {
  validation: ValidationState;
  /** Why the chosen dataset could not be checked (the check's diagnostic itself is in `validation`). */
  datasetError?: string | null;
  readOnly: boolean;
  onFocus: (d: Diagnostic) => void;
  onApply: (s: Suggestion) => void;
}

export const ProblemsPanel = memo(function ProblemsPanel({ validation, datasetError, readOnly, onFocus, onApply }: Props) {
  const sorted = useMemo(() => {
    const list = validation.result?.diagnostics ?? [];
    return [...list.filter((d) => d.severity === "error"), ...list.filter((d) => d.severity !== "error")];
  }, [validation.result]);

  return (
    <div className="cv-panel-body" data-testid="problems">
      <div className="cv-problems-head cv-small">
        {validation.pending ? <span className="cv-muted">Checking…</span> : null}
        {validation.error ? <span className="cv-field-error">Validation unavailable: {validation.error}</span> : null}
        {datasetError ? (
          <span className="cv-field-error" data-testid="dataset-check-error">
            {datasetError}
          </span>
        ) : null}
        {!validation.pending && validation.result && sorted.length === 0 ? <span className="cv-ok">✓ No problems: every shape fits.</span> : null}
      </div>
      <ul className="cv-diag-list">
        {sorted.map((d, i) => (
          <li key={`${d.code}-${d.node ?? ""}-${i}`} className={`cv-diag cv-diag--${d.severity}`} data-testid="diagnostic" data-code={d.code} data-node={d.node ?? ""} data-severity={d.severity}>
            <button type="button" className="cv-diag-main" onClick={() => onFocus(d)} disabled={!d.node && !d.edge}>
              <span className="cv-diag-sev" aria-label={d.severity}>
                {d.severity === "error" ? "✕" : "!"}
              </span>
              <span className="cv-diag-code">{d.code}</span>
              {d.node ? <span className="cv-diag-node">{d.node}</span> : null}
              <span className="cv-diag-msg">{d.message}</span>
            </button>
            {d.suggestion && canApply(d.suggestion) && !readOnly ? (
              <button type="button" className="cv-button cv-button--small cv-button--fix" onClick={() => onApply(d.suggestion!)} data-testid="apply-suggestion">
                Fix: {describeSuggestion(d.suggestion)}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
    </div>
  );
});
