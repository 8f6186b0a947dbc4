// The dataset the model trains on, chosen in the Run panel and remembered per graph in localStorage, and the
// server's check of the current drawing against it (POST /api/datasets/<id>/check/, unsaved edits included):
// a DATASET diagnostic whose suggestion sets the Input's shape. Only Input nodes decide the answer, so other
// edits (and moves) never re-check.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, apiJson } from "../api";
import type { Diagnostic, GraphDoc } from "../graph";
import { storage } from "../lib/draft";
import { describeError } from "../panels/util";
import { type ValidationState, validationPayload } from "./useValidation";

export function datasetKey(graphId: number): string {
  return `torchcanvas:dataset:${graphId}`;
}

function readChoice(graphId: number): number | null {
  const value = Number(storage()?.getItem(datasetKey(graphId)) ?? "");
  return Number.isInteger(value) && value > 0 ? value : null;
}

/** The chosen dataset's id (null: generated batches) and its setter, which remembers it for this graph. */
export function useChosenDataset(graphId: number): [number | null, (id: number | null) => void] {
  const [chosen, setChosen] = useState(() => readChoice(graphId));
  const choose = useCallback(
    (id: number | null) => {
      setChosen(id);
      try {
        if (id === null) storage()?.removeItem(datasetKey(graphId));
        else storage()?.setItem(datasetKey(graphId), String(id));
      } catch {
        /* storage full or disabled: the choice lasts this visit */
      }
    },
    [graphId],
  );
  return [chosen, choose];
}

export interface DatasetCheck {
  diagnostic: Diagnostic | null;
  /** Why the check could not be made (the dataset is gone, the network); a graph the engine refuses is not one. */
  error: string | null;
}

const NONE: DatasetCheck = { diagnostic: null, error: null };

export function useDatasetCheck(doc: GraphDoc, datasetId: number | null, datasetsUrl: string, delayMs = 250): DatasetCheck {
  const [state, setState] = useState<DatasetCheck>(NONE);
  const lastSent = useRef<string | null>(null);
  const inFlight = useRef<AbortController | null>(null);
  // Not cleared by the effect's re-runs: a move right after an Input edit must not cancel its check.
  const timer = useRef<number | undefined>(undefined);

  useEffect(() => {
    const signature = datasetId === null ? null : JSON.stringify([datasetId, doc.nodes.filter((n) => n.type === "Input").map(({ id, params }) => [id, params])]);
    if (signature === lastSent.current) return;
    lastSent.current = signature;
    inFlight.current?.abort();
    window.clearTimeout(timer.current);
    setState(NONE); // the last answer was about another Input (or dataset): its fix may no longer apply
    if (datasetId === null) return;
    timer.current = window.setTimeout(() => {
      const controller = new AbortController();
      inFlight.current = controller;
      const base = datasetsUrl.endsWith("/") ? datasetsUrl : `${datasetsUrl}/`;
      apiJson<{ ok: boolean; diagnostic: Diagnostic | null }>(`${base}${datasetId}/check/`, { body: { document: validationPayload(doc) }, signal: controller.signal })
        .then((answer) => {
          if (!controller.signal.aborted) setState({ diagnostic: answer.diagnostic, error: null });
        })
        .catch((error: unknown) => {
          if (controller.signal.aborted || (error instanceof DOMException && error.name === "AbortError")) return;
          lastSent.current = null; // try again on the next change
          // 400: the engine cannot read the drawing, and the validation's own diagnostics say why.
          if (error instanceof ApiError && error.status === 400) return;
          const why = error instanceof ApiError && error.status === 404 ? "the dataset no longer exists, or you cannot see it." : describeError(error);
          setState({ diagnostic: null, error: `The dataset check failed: ${why}` });
        });
    }, delayMs);
  }, [doc, datasetId, datasetsUrl, delayMs]);

  useEffect(
    () => () => {
      window.clearTimeout(timer.current);
      inFlight.current?.abort();
    },
    [],
  );
  return state;
}

/** The validation with the dataset check's diagnostic added: what the Problems panel lists. */
export function withDatasetProblem(validation: ValidationState, diagnostic: Diagnostic | null): ValidationState {
  if (!diagnostic) return validation;
  const result = validation.result ?? { ok: true, diagnostics: [], shapes: {} };
  return { ...validation, result: { ...result, ok: result.ok && diagnostic.severity !== "error", diagnostics: [...result.diagnostics, diagnostic] } };
}
