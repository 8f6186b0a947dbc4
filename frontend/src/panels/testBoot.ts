// Stand-ins for the panels' tests: a Boot with the URLs the Django page gives the island, fetch (the WebSocket's: lib/testSocket.ts).
import type { Boot } from "../boot";

export const testBoot: Boot = {
  graphId: 12,
  graphName: "My net",
  names: { package: "my_net", py: "my_net.py", json: "my_net.json" },
  headVersion: 3,
  canEdit: true,
  csrfToken: "token",
  runDefaults: { batch_size: 8, steps: 30, epochs: 1, optimizer: "adam", lr: 0.001, loss: "auto", device: "auto", precision: "fp32", data: "fixed", seed: 0, val_fraction: 0.2, early_stop_metric: "val_loss", early_stop_patience: 0 },
  urls: {
    registry: "/api/registry/",
    validate: "/api/validate/",
    document: "/api/document/",
    codegen: "/api/codegen/",
    exportZip: "/api/export/zip/",
    diagram: "/api/diagram/",
    graph: "/api/graphs/12/",
    versions: "/api/graphs/12/versions/",
    composites: "/api/composites/",
    runs: "/api/runs/",
    runsWs: "/ws/runs/",
    datasets: "/api/datasets/",
    graphPage: "/graphs/12/",
  },
};

type Handler = (
  body: unknown,
  init: RequestInit,
) => { status?: number; body?: unknown; blob?: Blob; headers?: Record<string, string> } | undefined;

/** A request's JSON body as a value; any other text (a YAML body) as it is. */
function parsedBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A fetch stand-in: `routes["POST /api/runs/"]` answers that request; every call is recorded. */
export function fakeFetch(routes: Record<string, Handler>) {
  const calls: { method: string; url: string; body: unknown }[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const method = (init.method ?? "GET").toUpperCase();
    const body = typeof init.body === "string" ? parsedBody(init.body) : undefined;
    calls.push({ method, url, body });
    if (init.signal?.aborted) throw new DOMException("aborted", "AbortError");
    const path = url.split("?")[0];
    const handler = routes[`${method} ${url}`] ?? routes[`${method} ${path}`];
    const answer = handler?.(body, init) ?? { status: 404, body: { detail: "Not found." } };
    const status = answer.status ?? 200;
    if (answer.blob) return new Response(answer.blob, { status, headers: answer.headers });
    return new Response(answer.body === undefined ? "" : JSON.stringify(answer.body), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  };
  return { fetch, calls };
}
