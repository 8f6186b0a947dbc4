// Live validation: POST /api/validate/ of the current document, debounced, with the in-flight request
// aborted when a newer document is sent. Positions (`ui`) are left out of the request, so moving nodes or
// changing the selection never re-validates.
import { useEffect, useRef, useState } from "react";
import { ApiError, apiJson } from "../api";
import type { Diagnostic, GraphDoc, ValidateResult } from "../graph";

export interface ValidationState {
  result: ValidateResult | null;
  pending: boolean;
  /** A transport problem (network, 5xx); graph problems come back as diagnostics. */
  error: string | null;
}

const payloadCache = new WeakMap<GraphDoc, GraphDoc>();

/** The document without canvas positions (what the engine needs). */
export function validationPayload(doc: GraphDoc): GraphDoc {
  let payload = payloadCache.get(doc);
  if (!payload) {
    payload = {
      ...doc,
      nodes: doc.nodes.map((node) => {
        if (node.ui === undefined) return node;
        const { ui, ...rest } = node;
        void ui;
        return rest;
      }),
    };
    payloadCache.set(doc, payload);
  }
  return payload;
}

export function useValidation(doc: GraphDoc, url: string, delayMs = 250): ValidationState {
  const [state, setState] = useState<ValidationState>({ result: null, pending: true, error: null });
  const lastSent = useRef<string | null>(null);
  const inFlight = useRef<AbortController | null>(null);
  const lastChange = useRef(-Infinity);

  useEffect(() => {
    // A change after a quiet spell (one edit of a field) is checked at once; the changes of a burst (typing,
    // dragging a node) wait until it pauses.
    const now = performance.now();
    const quiet = now - lastChange.current >= delayMs;
    lastChange.current = now;
    const timer = window.setTimeout(() => {
      const payload = validationPayload(doc);
      const signature = JSON.stringify(payload);
      if (signature === lastSent.current) return;
      lastSent.current = signature;
      inFlight.current?.abort();
      const controller = new AbortController();
      inFlight.current = controller;
      setState((s) => (s.pending ? s : { ...s, pending: true }));
      apiJson<ValidateResult>(url, { body: { graph: payload }, signal: controller.signal })
        .then((result) => {
          if (controller.signal.aborted) return;
          setState({ result, pending: false, error: null });
        })
        .catch((error: unknown) => {
          if (controller.signal.aborted || (error instanceof DOMException && error.name === "AbortError")) return;
          if (error instanceof ApiError && error.status === 400 && error.body && typeof error.body === "object") {
            // The engine refused the document as a whole (PARSE, LIMIT) or a request field was invalid.
            const body = error.body as { diagnostics?: Diagnostic[]; detail?: string };
            const diagnostics: Diagnostic[] = body.diagnostics ?? [{ severity: "error", code: "PARSE", message: body.detail ?? error.message }];
            setState({ result: { ok: false, diagnostics, shapes: {} }, pending: false, error: null });
            return;
          }
          lastSent.current = null; // try again on the next change
          setState((s) => ({ ...s, pending: false, error: error instanceof Error ? error.message : String(error) }));
        });
    }, lastSent.current === null || quiet ? 0 : delayMs);
    return () => window.clearTimeout(timer);
  }, [doc, url, delayMs]);

  useEffect(() => () => inFlight.current?.abort(), []);
  return state;
}
