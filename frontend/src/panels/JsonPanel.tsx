// The graph document as JSON: read-only view, copy, download; and an import area (paste or file) that
// checks the shape before handing the document to the canvas.
import { type ChangeEvent, type JSX, useEffect, useMemo, useRef, useState } from "react";
import type { GraphDoc } from "../graph";
import { CodeView } from "./CodeView";
import { apiYamlDocument } from "../api";
import { checkGraph, isYaml, parseGraphJson } from "./jsonImport";
import "./panels.css";
import { useVisible } from "./useVisible";
import { downloadBlob } from "./util";

const MAX_FILE_BYTES = 5 * 2 ** 20;

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand?.("copy");
  area.remove();
  if (!ok) throw new Error("The browser refused to copy; select the text and copy it by hand.");
}

function readText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result ?? ""));
    reader.onerror = () => reject(reader.error ?? new Error("unreadable"));
    reader.readAsText(file);
  });
}

/** `fileName`: what the server names the graph's JSON download (the canvas has no naming rule of its own);
 * `documentUrl`: where the server reads a YAML document (the engine's one reader) and answers it as JSON. */
export function JsonPanel(props: { graph: GraphDoc; fileName: string; documentUrl: string; onImport: (graph: GraphDoc) => void }): JSX.Element {
  const root = useRef<HTMLDivElement>(null);
  const visible = useVisible(root);
  const [shown, setShown] = useState(props.graph);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [copied, setCopied] = useState<"ok" | string | null>(null);

  // Re-render the JSON only while someone can see it.
  if (visible && shown !== props.graph) setShown(props.graph);
  const pretty = useMemo(() => JSON.stringify(shown, null, 2), [shown]);

  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(null), 2000);
    return () => clearTimeout(timer);
  }, [copied]);


  async function importText(source: string, from: string, fileName?: string) {
    setNotice(null);
    try {
      const doc = isYaml(source, fileName) ? checkGraph(await apiYamlDocument(props.documentUrl, source)) : parseGraphJson(source);
      setError(null);
      props.onImport(doc);
      setText("");
      setNotice(`Imported ${from}: ${doc.nodes.length} node${doc.nodes.length === 1 ? "" : "s"}, ${doc.edges.length} edge${doc.edges.length === 1 ? "" : "s"}.`);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function onFile(event: ChangeEvent<HTMLInputElement>) {
    const input = event.target;
    const file = input.files?.[0];
    input.value = ""; // choosing the same file again fires change again
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      setError(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB; a graph file may be at most 5 MB.`);
      return;
    }
    let content: string;
    try {
      content = await readText(file);
    } catch {
      setError(`${file.name} could not be read.`);
      return;
    }
    setText(content);
    await importText(content, file.name, file.name);
  }

  return (
    <div ref={root} className="tc-panel tc-json-panel">
      <div className="tc-toolbar">
        <span className="tc-muted tc-small">
          {props.graph.nodes.length} nodes · {props.graph.edges.length} edges
        </span>
        <span className="tc-spacer" />
        <button
          type="button"
          className="tc-button tc-button-secondary tc-button-small"
          data-testid="json-copy"
          onClick={() =>
            copyText(JSON.stringify(props.graph, null, 2)).then(
              () => setCopied("ok"),
              (e: Error) => setCopied(e.message || "Copy failed."),
            )
          }
        >
          {copied === "ok" ? "Copied" : "Copy"}
        </button>
        <button
          type="button"
          className="tc-button tc-button-secondary tc-button-small"
          data-testid="json-download"
          onClick={() => downloadBlob(new Blob([`${JSON.stringify(props.graph, null, 2)}\n`], { type: "application/json" }), props.fileName)}
        >
          Download .json
        </button>
      </div>
      {copied && copied !== "ok" && (
        <p className="tc-alert tc-alert-error" role="alert">
          {copied}
        </p>
      )}
      <CodeView value={pretty} language="json" testId="json-view" label="Graph document (JSON)" />

      <section className="tc-import" aria-labelledby="tc-import-title">
        <h3 id="tc-import-title" className="tc-heading">
          Import
        </h3>
        <p className="tc-muted tc-small">
          Paste a graph document (JSON or YAML, v0.2; the seed's format loads as it is) or choose a file. It replaces the graph on the canvas.
        </p>
        <textarea
          className="tc-textarea"
          data-testid="json-import-text"
          aria-label="Graph JSON or YAML to import"
          rows={6}
          spellCheck={false}
          placeholder='{"version": "0.2", "nodes": [...], "edges": [...], "inputs": [...], "outputs": [...]}'
          value={text}
          aria-invalid={error ? true : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
            setNotice(null);
          }}
        />
        <div className="tc-toolbar">
          <button type="button" className="tc-button tc-button-small" data-testid="json-import-button" onClick={() => void importText(text, isYaml(text) ? "the pasted YAML" : "the pasted JSON")}>
            Import
          </button>
          <label className="tc-file tc-small">
            <span className="visually-hidden">Choose a graph file</span>
            <input type="file" accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml" data-testid="json-import-file" onChange={onFile} />
          </label>
        </div>
        {error && (
          <p className="tc-alert tc-alert-error" role="alert" data-testid="json-error">
            {error}
          </p>
        )}
        {notice && (
          <p className="tc-alert tc-alert-ok" role="status">
            {notice}
          </p>
        )}
      </section>
    </div>
  );
}
