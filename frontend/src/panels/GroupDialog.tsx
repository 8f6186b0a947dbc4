// "Group into a block": name the block, choose which inner values become its parameters, and optionally
// publish it to a library (personal or a team's). The graph gets the definition in `composites` either way.
import { type FormEvent, type JSX, useEffect, useMemo, useState } from "react";
import { apiJson } from "../api";
import type { Boot } from "../boot";
import type { GraphDoc, NodeTypeSpec, ParamValue, Registry } from "../graph";
import { type ExposedParam, blockNameProblem, groupSelection, paramNameProblem } from "../lib/grouping";
import { blocksUsedBy } from "../lib/library";
import { Modal } from "./Modal";
import "./panels.css";
import { describeError, listResults } from "./util";

interface Team {
  slug: string;
  name: string;
  role: "viewer" | "editor" | "admin";
}

/** A param of a selected node that can become a block param. */
interface Candidate {
  key: string;
  node: string;
  param: string;
  value: number | string | boolean;
  fromDefault: boolean;
  type?: ExposedParam["type"];
  choices?: string[];
}

function isScalar(value: ParamValue | undefined): value is number | string | boolean {
  return typeof value === "number" || typeof value === "boolean" || (typeof value === "string" && !value.includes("$"));
}

function typeFromSpec(spec: string | undefined, value: number | string | boolean): ExposedParam["type"] | undefined {
  if (spec === "float") return "float";
  if (spec === "bool") return "bool";
  if (spec === "choice" || typeof value === "string") return "choice";
  if (typeof value === "number" && Number.isInteger(value)) return "int";
  return undefined;
}

/** Exposable params of the selection, in graph order: values set on the nodes, then registry defaults. */
export function candidates(graph: GraphDoc, selection: string[], specs: Map<string, NodeTypeSpec>): Candidate[] {
  const chosen = new Set(selection);
  const rows: Candidate[] = [];
  for (const node of graph.nodes) {
    if (!chosen.has(node.id)) continue;
    const spec = specs.get(node.type);
    const params = node.params ?? {};
    const seen = new Set<string>();
    const add = (param: string, value: ParamValue | undefined, fromDefault: boolean) => {
      if (seen.has(param) || !isScalar(value)) return;
      seen.add(param);
      const declared = spec?.params.find((p) => p.name === param);
      const type = typeFromSpec(declared?.type, value);
      const choices = type === "choice" ? declared?.choices ?? (declared?.type === "padding" ? ["same", "valid"] : undefined) : undefined;
      rows.push({ key: `${node.id}.${param}`, node: node.id, param, value, fromDefault, type, choices });
    };
    for (const [param, value] of Object.entries(params)) add(param, value, false);
    for (const declared of spec?.params ?? []) if (!(declared.name in params)) add(declared.name, declared.default, true);
  }
  return rows;
}

function safeName(text: string): string {
  const name = text.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return /^[0-9]/.test(name) ? `p_${name}` : name || "p";
}

function suggestBlockName(graph: GraphDoc): string {
  const taken = new Set(Object.keys(graph.composites ?? {}));
  if (!taken.has("MyBlock")) return "MyBlock";
  for (let n = 2; ; n += 1) if (!taken.has(`MyBlock${n}`)) return `MyBlock${n}`;
}

function teamsUrl(boot: Boot): string {
  return boot.urls.composites.replace(/composites\/?$/, "teams/");
}

export function GroupDialog(props: {
  boot: Boot;
  graph: GraphDoc;
  selection: string[];
  onDone: (graph: GraphDoc) => void;
  onCancel: () => void;
}): JSX.Element {
  const { boot, graph, selection } = props;
  const [name, setName] = useState(() => suggestBlockName(graph));
  const [doc, setDoc] = useState("");
  const [registry, setRegistry] = useState<Registry | null>(null);
  const [teams, setTeams] = useState<Team[]>([]);
  const [library, setLibrary] = useState("none");
  const [exposed, setExposed] = useState<Record<string, boolean>>({});
  const [paramNames, setParamNames] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    apiJson<Registry>(boot.urls.registry, { signal: controller.signal })
      .then(setRegistry)
      .catch(() => undefined); // without it: only the values set on the nodes, and the server checks names
    apiJson<unknown>(teamsUrl(boot), { signal: controller.signal })
      .then((body) => setTeams(listResults<Team>(body).filter((t) => t.role === "editor" || t.role === "admin")))
      .catch(() => undefined);
    return () => controller.abort();
  }, [boot]);

  const specs = useMemo(() => new Map((registry?.nodes ?? []).map((n) => [n.type, n] as const)), [registry]);
  const registryTypes = useMemo(() => (registry?.nodes ?? []).flatMap((n) => [n.type, ...(n.aliases ?? [])]), [registry]);
  const rows = useMemo(() => candidates(graph, selection, specs), [graph, selection, specs]);
  const defaultNames = useMemo(() => {
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(row.param, (counts.get(row.param) ?? 0) + 1);
    return Object.fromEntries(rows.map((row) => [row.key, counts.get(row.param) === 1 ? row.param : safeName(`${row.node}_${row.param}`)]));
  }, [rows]);

  const nameProblem = name ? blockNameProblem(name, graph, registryTypes) : null;
  const selectedTypes = graph.nodes.filter((n) => selection.includes(n.id)).map((n) => n.type);

  async function confirm(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    const chosen: ExposedParam[] = rows
      .filter((row) => exposed[row.key])
      .map((row) => ({
        node: row.node,
        param: row.param,
        name: (paramNames[row.key] ?? defaultNames[row.key]).trim(),
        type: row.type,
        choices: row.choices,
        ...(row.fromDefault ? { value: row.value } : {}),
      }));
    for (const item of chosen) {
      const problem = paramNameProblem(item.name!);
      if (problem) {
        setError(`${item.node}.${item.param}: ${problem}`);
        return;
      }
    }
    let grouped: GraphDoc;
    try {
      grouped = groupSelection(graph, selection, name.trim(), { exposed: chosen, doc: doc.trim() || undefined, registryTypes });
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    if (library !== "none") {
      setBusy(true);
      try {
        const published = await apiJson<{ reference?: { block: number; version: number } }>(boot.urls.composites, {
          body: {
            name: name.trim(),
            definition: grouped.composites![name.trim()],
            composites: blocksUsedBy(grouped.composites!, name.trim()),
            ...(library === "personal" ? {} : { team: library }),
            description: doc.trim(),
            message: `Grouped in ${boot.graphName}`.slice(0, 500),
          },
        });
        if (published.reference) {
          const metadata = { ...(grouped.metadata ?? {}) } as Record<string, unknown>;
          const current = metadata.library && typeof metadata.library === "object" ? (metadata.library as Record<string, unknown>) : {};
          metadata.library = { ...current, [name.trim()]: published.reference };
          grouped = { ...grouped, metadata };
        }
      } catch (e) {
        setError(`Not saved to the library: ${describeError(e)}`);
        setBusy(false);
        return;
      }
      setBusy(false);
    }
    props.onDone(grouped);
  }

  return (
    <Modal title="Group into a block" onClose={props.onCancel} testId="group-dialog">
      <form className="tc-form" onSubmit={confirm} noValidate>
        <p className="tc-small tc-muted">
          {selection.length} node{selection.length === 1 ? "" : "s"} ({[...new Set(selectedTypes)].join(", ")}) become one block with one input
          and one output.
        </p>
        <label className="tc-field">
          <span>Block name</span>
          <input
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-testid="group-name"
            data-autofocus
            autoComplete="off"
            spellCheck={false}
            placeholder="ConvBNReLU"
            aria-invalid={nameProblem ? true : undefined}
            aria-describedby="tc-group-name-help"
          />
          <small id="tc-group-name-help" className={nameProblem ? "tc-error-text" : "tc-muted"}>
            {nameProblem ?? "A Python class name: letters, digits and _, starting with a capital letter."}
          </small>
        </label>
        <label className="tc-field">
          <span>
            Description <span className="tc-muted">(optional, becomes the class docstring)</span>
          </span>
          <textarea rows={2} value={doc} onChange={(e) => setDoc(e.target.value)} data-testid="group-doc" className="tc-textarea" />
        </label>

        <fieldset className="tc-fieldset">
          <legend>Parameters of the block</legend>
          {rows.length === 0 ? (
            <p className="tc-small tc-muted">The selected nodes have no single values to expose.</p>
          ) : (
            <>
              <p className="tc-small tc-muted">Ticked values become arguments of the block; the same name on two rows shares one argument.</p>
              <ul className="tc-param-list">
                {rows.map((row) => (
                  <li key={row.key}>
                    <label className="tc-check">
                      <input
                        type="checkbox"
                        checked={!!exposed[row.key]}
                        onChange={(e) => setExposed((x) => ({ ...x, [row.key]: e.target.checked }))}
                        data-testid={`group-param-${row.key}`}
                      />
                      <span>
                        <code>{row.node}</code>.{row.param} = <code>{JSON.stringify(row.value)}</code>
                        {row.fromDefault && <span className="tc-muted"> (default)</span>}
                      </span>
                    </label>
                    {exposed[row.key] && (
                      <input
                        type="text"
                        className="tc-param-name"
                        aria-label={`Parameter name for ${row.key}`}
                        value={paramNames[row.key] ?? defaultNames[row.key]}
                        onChange={(e) => setParamNames((n) => ({ ...n, [row.key]: e.target.value }))}
                        data-testid={`group-param-name-${row.key}`}
                        spellCheck={false}
                      />
                    )}
                  </li>
                ))}
              </ul>
            </>
          )}
        </fieldset>

        <label className="tc-field">
          <span>Save to library</span>
          <select value={library} onChange={(e) => setLibrary(e.target.value)} data-testid="group-library">
            <option value="none">No — only in this graph</option>
            <option value="personal">My library</option>
            {teams.map((team) => (
              <option key={team.slug} value={team.slug}>
                Team: {team.name}
              </option>
            ))}
          </select>
          <small className="tc-muted">A library block can be reused in other graphs; the graph keeps its own copy either way.</small>
        </label>

        {error && (
          <p className="tc-alert tc-alert-error" role="alert" data-testid="group-error">
            {error}
          </p>
        )}
        <div className="tc-modal-actions">
          <button type="button" className="tc-button tc-button-secondary" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" className="tc-button" data-testid="group-confirm" disabled={busy}>
            {busy ? "Saving…" : library === "none" ? "Group" : "Group and save"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
