// What the Django page hands the island (templates/graphs/graph_canvas.html, json_script "canvas-boot").
export interface Boot {
  graphId: number;
  graphName: string;
  /** What the server names the graph's downloads (codegen.package_name / download_name): the canvas has no rule of its own. */
  names: { package: string; py: string; json: string };
  /** Head version number, or null for a graph without versions. */
  headVersion: number | null;
  canEdit: boolean;
  csrfToken: string;
  /** The Content-Security-Policy nonce for <style> elements (CodeMirror's). */
  styleNonce?: string;
  /** A run config's defaults (training/config.py DEFAULTS and DATASET_DEFAULTS): what the run panel's form starts from. */
  runDefaults: Record<string, string | number>;
  urls: {
    registry: string;
    validate: string;
    document: string; // POST a YAML document: its JSON value (the canvas's YAML import)
    codegen: string;
    exportZip: string;
    diagram: string; // POST a drawing: SVG, PNG or Mermaid
    graph: string; // /api/graphs/<id>/
    versions: string; // /api/graphs/<id>/versions/
    composites: string; // /api/composites/
    runs: string; // /api/runs/
    runsWs: string; // /ws/runs/ (append "<id>/")
    datasets: string; // /api/datasets/
    graphPage: string; // the graph's page
  };
}

export function readBoot(): Boot {
  const el = document.getElementById("canvas-boot");
  if (!el?.textContent) throw new Error("canvas-boot data is missing from the page");
  return JSON.parse(el.textContent) as Boot;
}
