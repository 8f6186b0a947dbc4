// The generated PyTorch source of the graph being edited: one file or the package, refreshed as the graph
// changes (debounced, only while visible), with .py and .zip downloads made by the same engine endpoints.
import { type JSX, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { apiError, apiFetch, apiJson } from "../api";
import type { Boot } from "../boot";
import type { Diagnostic, GraphDoc } from "../graph";
import { CodeView } from "./CodeView";
import { Modal } from "./Modal";
import "./panels.css";
import { useVisible } from "./useVisible";
import { attachmentName, describeError, downloadBlob, errorDiagnostics } from "./util";

type Layout = "file" | "package";

interface Result {
  key: string;
  files?: Record<string, string>;
  error?: string;
  diagnostics?: Diagnostic[];
}

const DEBOUNCE_MS = 400;
const PACKAGE_ORDER = ["__init__.py", "blocks.py", "model.py", "train.py"];

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function orderFiles(files: Record<string, string>): string[] {
  const rank = (path: string) => {
    const index = PACKAGE_ORDER.indexOf(basename(path));
    return index < 0 ? PACKAGE_ORDER.length : index;
  };
  return Object.keys(files).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The editor's live validation of the same graph (the shape of useValidation's state). */
export interface CodeValidation {
  pending: boolean;
  result: { diagnostics: Diagnostic[] } | null;
}

type Diagram = "svg" | "png" | "mermaid";
const DIAGRAMS: [Diagram, string][] = [
  ["svg", "SVG"],
  ["png", "PNG"],
  ["mermaid", "Mermaid"],
];

export function CodePanel(props: { boot: Boot; graph: GraphDoc; name: string; validation?: CodeValidation }): JSX.Element {
  const { boot, graph, validation } = props;
  const root = useRef<HTMLDivElement>(null);
  const visible = useVisible(root);
  const [layout, setLayout] = useState<Layout>("file");
  const [withTrain, setWithTrain] = useState(false);
  const [selectedFile, setSelectedFile] = useState("model.py");
  const [results, setResults] = useState<Partial<Record<Layout, Result>>>({});
  const [loading, setLoading] = useState(false);
  const [downloading, setDownloading] = useState<"py" | "zip" | Diagram | null>(null);
  const [expandBlocks, setExpandBlocks] = useState(false);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  // How the code is shown (kept in the page only): long lines wrapped, or the code in a full-width dialog.
  const [wrap, setWrap] = useState(false);
  const [expanded, setExpanded] = useState(false);

  const pkg = boot.names.package;
  const graphJson = useMemo(() => JSON.stringify(graph), [graph]);
  // The graph's name heads the files and names the class where the document's metadata has none of its own.
  const request = useCallback(
    (which: Layout) => ({ name: pkg, title: props.name, layout: which, with_train: which === "package" ? true : withTrain }),
    [pkg, props.name, withTrain],
  );
  const keyFor = (which: Layout) => `${JSON.stringify(request(which))}\n${graphJson}`;
  const key = keyFor(layout);
  const result = results[layout];
  const current = result?.key === key;
  const hasResult = result !== undefined;
  // With the editor's validation at hand, code is asked for only once it has come back without errors:
  // the engine would refuse the graph anyway (a 400 in the console), and the errors are already known.
  const validationErrors = useMemo(
    () => (validation?.result?.diagnostics ?? []).filter((d) => d.severity === "error"),
    [validation?.result],
  );
  const gate = !validation ? "go" : validation.pending ? "wait" : validationErrors.length ? "errors" : "go";

  useEffect(() => {
    if (!visible || current || gate !== "go") return;
    const controller = new AbortController();
    const body = { graph: JSON.parse(graphJson) as GraphDoc, ...request(layout) };
    // The first load of a layout starts at once; edits wait until typing pauses.
    const timer = setTimeout(
      async () => {
        setLoading(true);
        try {
          const answer = await apiJson<{ files: Record<string, string> }>(boot.urls.codegen, { body, signal: controller.signal });
          setResults((r) => ({ ...r, [layout]: { key, files: answer.files } }));
        } catch (error) {
          if (controller.signal.aborted) return;
          setResults((r) => ({ ...r, [layout]: { key, error: describeError(error), diagnostics: errorDiagnostics(error) } }));
        } finally {
          if (!controller.signal.aborted) setLoading(false);
        }
      },
      hasResult ? DEBOUNCE_MS : 0,
    );
    return () => {
      clearTimeout(timer);
      controller.abort();
      setLoading(false);
    };
    // `key` covers the graph, the layout and the options; "Try again" makes the answer not `current`.
  }, [key, visible, current, gate, graphJson, layout, request, hasResult, boot.urls.codegen]);

  useEffect(() => setDownloadError(null), [graphJson]);

  // Forgetting the failed answer makes the code not current again: the effect above asks once more.
  const retry = () =>
    setResults((r) => {
      const rest = { ...r };
      delete rest[layout];
      return rest;
    });

  const files = result?.files;
  const paths = files ? orderFiles(files) : [];
  const shownPath = layout === "file" ? paths[0] : paths.find((p) => basename(p) === selectedFile) ?? paths[0];
  const code = files && shownPath ? files[shownPath] : "";
  const hasGraphErrors = gate === "errors" || (!!result?.error && current && (result.diagnostics?.length ?? 0) > 0);

  async function downloadPy() {
    setDownloadError(null);
    setDownloading("py");
    try {
      let source: string | undefined;
      const single = results.file;
      if (single?.files && single.key === keyFor("file")) source = Object.values(single.files)[0];
      if (source === undefined) {
        const answer = await apiJson<{ files: Record<string, string> }>(boot.urls.codegen, {
          body: { graph, ...request("file") },
        });
        source = Object.values(answer.files)[0] ?? "";
      }
      downloadBlob(new Blob([source], { type: "text/x-python;charset=utf-8" }), boot.names.py);
    } catch (error) {
      setDownloadError(describeError(error));
    } finally {
      setDownloading(null);
    }
  }

  async function downloadZip() {
    setDownloadError(null);
    setDownloading("zip");
    try {
      const response = await apiFetch(boot.urls.exportZip, { body: { graph, name: pkg, title: props.name, layout: "package", with_train: true } });
      if (!response.ok) throw await apiError(response);
      downloadBlob(await response.blob(), attachmentName(response, `${pkg}.zip`));
    } catch (error) {
      setDownloadError(describeError(error));
    } finally {
      setDownloading(null);
    }
  }

  // A figure of the drawing as it stands, drawn by the server (the canvas's layout and colours); also with errors.
  async function downloadDiagram(format: Diagram) {
    setDownloadError(null);
    setDownloading(format);
    try {
      const response = await apiFetch(boot.urls.diagram, { body: { graph, format, expand_blocks: expandBlocks, title: props.name } });
      if (!response.ok) throw await apiError(response);
      downloadBlob(await response.blob(), attachmentName(response, `${pkg}.${format === "mermaid" ? "mmd" : format}`));
    } catch (error) {
      setDownloadError(describeError(error));
    } finally {
      setDownloading(null);
    }
  }

  const errorsOnly = gate === "errors" ? validationErrors : (result?.diagnostics ?? []).filter((d) => d.severity === "error");

  return (
    <div ref={root} className="tc-panel tc-code-panel">
      <div className="tc-tabs" role="tablist" aria-label="Code layout">
        {(["file", "package"] as const).map((which) => (
          <button
            key={which}
            type="button"
            role="tab"
            aria-selected={layout === which}
            className={`tc-tab${layout === which ? " tc-tab-active" : ""}`}
            data-testid={`code-tab-${which}`}
            onClick={() => setLayout(which)}
          >
            {which === "file" ? "Single file" : "Package"}
          </button>
        ))}
      </div>

      <div className="tc-toolbar">
        <span className="tc-muted tc-small tc-grow" title="Package and file names come from the graph name">
          <code>{layout === "file" ? `${pkg}.py` : `${pkg}/`}</code>
        </span>
        <button
          type="button"
          className="tc-button tc-button-secondary tc-button-small"
          data-testid="download-py"
          disabled={downloading !== null || hasGraphErrors}
          title={hasGraphErrors ? "Fix the graph's errors first" : `Download ${pkg}.py`}
          onClick={downloadPy}
        >
          {downloading === "py" ? "Preparing…" : "Download .py"}
        </button>
        <button
          type="button"
          className="tc-button tc-button-small"
          data-testid="download-zip"
          disabled={downloading !== null || hasGraphErrors}
          title={hasGraphErrors ? "Fix the graph's errors first" : `Download ${pkg}.zip: the package with train.py`}
          onClick={downloadZip}
        >
          {downloading === "zip" ? "Preparing…" : "Download .zip"}
        </button>
      </div>

      <div className="tc-toolbar tc-small">
        <span className="tc-muted tc-nowrap">Diagram</span>
        <label className="tc-check tc-muted tc-nowrap" title="Draw each block's own nodes in a frame">
          <input type="checkbox" checked={expandBlocks} onChange={(e) => setExpandBlocks(e.target.checked)} data-testid="diagram-expand" />
          blocks open
        </label>
        {DIAGRAMS.map(([format, label]) => (
          <button
            key={format}
            type="button"
            className="tc-button tc-button-secondary tc-button-small"
            data-testid={`download-diagram-${format}`}
            disabled={downloading !== null}
            title={`Download the architecture as ${label}, with the shape on every edge`}
            onClick={() => downloadDiagram(format)}
          >
            {downloading === format ? "Drawing…" : label}
          </button>
        ))}
      </div>

      <div className="tc-toolbar tc-small tc-muted">
        <label className="tc-check tc-grow" title="Wrap long lines at the panel's width">
          <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} data-testid="code-wrap" />
          wrap lines
        </label>
        <button
          type="button"
          className="tc-button tc-button-secondary tc-button-small"
          data-testid="code-expand"
          disabled={!files || !!result?.error || gate === "errors"}
          title="Show the code full width"
          onClick={() => setExpanded(true)}
        >
          Expand
        </button>
      </div>

      {layout === "file" && (
        <label className="tc-check tc-small tc-muted">
          <input type="checkbox" checked={withTrain} onChange={(e) => setWithTrain(e.target.checked)} data-testid="code-with-train" />
          include the training loop (<code>python {pkg}.py --steps 10</code>)
        </label>
      )}
      {layout === "package" && paths.length > 0 && (
        <div className="tc-subtabs" role="tablist" aria-label="Package files">
          {paths.map((path) => {
            const file = basename(path);
            const active = path === shownPath;
            return (
              <button
                key={path}
                type="button"
                role="tab"
                aria-selected={active}
                className={`tc-subtab${active ? " tc-subtab-active" : ""}`}
                data-testid={`code-tab-${file}`}
                title={path}
                onClick={() => setSelectedFile(file)}
              >
                {file}
              </button>
            );
          })}
        </div>
      )}

      {downloadError && (
        <p className="tc-alert tc-alert-error" role="alert">
          {downloadError}
        </p>
      )}
      {loading && <p className="tc-muted tc-small tc-status-line">Generating…</p>}

      {gate === "errors" || result?.error ? (
        <div className="tc-alert tc-alert-error tc-code-error" role="status" data-testid="code-error">
          <p>
            <strong>{errorsOnly.length ? "No code while the graph has errors." : "The code could not be generated."}</strong>{" "}
            {errorsOnly.length ? "Fix them first; the Problems tab lists them all." : result?.error}
          </p>
          {errorsOnly.length > 0 && (
            <ul className="tc-diagnostics">
              {errorsOnly.slice(0, 8).map((d, i) => (
                <li key={i}>
                  {d.node && <code>{d.node}</code>} {d.message}
                </li>
              ))}
              {errorsOnly.length > 8 && <li>… and {errorsOnly.length - 8} more</li>}
            </ul>
          )}
          {!errorsOnly.length && (
            <button type="button" className="tc-button tc-button-secondary tc-button-small" onClick={retry}>
              Try again
            </button>
          )}
        </div>
      ) : files ? (
        <CodeView value={code} language="python" testId="code-view" label={`Generated ${shownPath ?? "code"}`} wrap={wrap} />
      ) : (
        <div className="tc-code tc-code-empty" data-testid="code-view">
          <p className="tc-muted tc-small">{visible ? "Generating…" : ""}</p>
        </div>
      )}
      {expanded && files && (
        <Modal title={<code>{shownPath ?? pkg}</code>} onClose={() => setExpanded(false)} closeOnBackdrop wide testId="code-expanded">
          <div className="tc-code-expanded">
            <CodeView value={code} language="python" testId="code-view-expanded" label={`Generated ${shownPath ?? "code"}, full width`} wrap={wrap} />
          </div>
        </Modal>
      )}
    </div>
  );
}
