// Queue a training of a saved version, on generated batches or on the chosen dataset, and watch it live:
// status, progress, loss curve, validation metrics, cancel; plus the graph's last runs. The server checks the
// config (training/config.py) and the caps.
import { type FormEvent, type JSX, useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ApiError, apiJson } from "../api";
import type { Boot } from "../boot";
import type { GraphDoc } from "../graph";
import { LossChart } from "./LossChart";
import "./panels.css";
import { socketUrl } from "../lib/liveSocket";
import { formatBytes, formatNumber, formatSeconds } from "../lib/numbers";
import {
  type RunMessage,
  RunStream,
  type RunStatus,
  type RunView,
  STATUS_LABELS,
  STATUS_TONES,
  type StreamState,
  TERMINAL,
  applyRunMessage,
  connectionNote,
  emptyRunView,
  progressText,
} from "../lib/runStream";
import { describeError, listResults } from "./util";

/** GET /api/datasets/ items (training/dataset_api.py DatasetSerializer): what the picker shows. */
export interface DatasetInfo {
  id: number;
  name: string;
  facts: { samples?: number; input_shape?: number[]; task?: string };
}

/** The dataset this model trains on, remembered per graph (editor/useDatasetCheck.ts); null: generated batches. */
export interface DatasetChoice {
  id: number | null;
  choose: (id: number | null) => void;
  /** The check of the drawing against it: why its Input does not take the samples (the fix is in Problems). */
  problem: string | null;
}

/** A picker option's text: "Two moons · 2 · 600 samples". */
export function datasetLabel(dataset: DatasetInfo): string {
  const shape = dataset.facts.input_shape?.join("×");
  const samples = dataset.facts.samples;
  return [dataset.name, shape, typeof samples === "number" ? `${samples.toLocaleString("en")} samples` : ""].filter(Boolean).join(" · ");
}

/** GET/POST /api/runs/ answers (training/serializers.py RunSerializer). */
export interface RunInfo {
  id: number;
  name: string;
  tags: string[];
  graph: { id: number; name: string };
  version: number;
  user: string;
  status: RunStatus;
  config: Record<string, unknown>;
  queue: string;
  cancel_requested: boolean;
  created_at: string;
  finished_at: string | null;
  worker: string;
  device: string;
  torch_version: string;
  params_total: number | null;
  progress: { step: number; total: number | null; loss: number | null };
  metrics: Record<string, unknown> | null;
  error: string;
  can_cancel: boolean;
  url: string;
}

// The config fields the form offers (the server fills in whatever is left out, and checks everything).
// The last three apply to runs on a dataset (training/config.py DATASET_DEFAULTS).
const FORM_FIELDS = ["steps", "batch_size", "epochs", "optimizer", "lr", "device", "loss", "data", "precision", "seed", "val_fraction", "early_stop_metric", "early_stop_patience"] as const;
type Form = Record<(typeof FORM_FIELDS)[number], string>;

/** The form's first values: the server's defaults, from the page's boot data. */
export function initialForm(defaults: Boot["runDefaults"]): Form {
  return Object.fromEntries(FORM_FIELDS.map((key) => [key, String(defaults[key] ?? "")])) as Form;
}

const RECENT = 5;

function parseShape(text: string): number[] | null {
  const parts = text.trim().toLowerCase().split(/[\s,x×*()[\]]+/).filter(Boolean);
  if (!parts.length || !parts.every((p) => /^\d+$/.test(p))) return null;
  const sizes = parts.map(Number);
  return sizes.length <= 8 && Math.min(...sizes) >= 1 ? sizes : null;
}

/** The inputs of a document whose Input node has no shape: a run needs their sizes (training/forms.py). */
export function openInputs(document: GraphDoc): string[] {
  const byId = new Map(document.nodes.map((n) => [n.id, n] as const));
  return document.inputs.filter((id) => {
    const shape = byId.get(id)?.params?.shape;
    return !(Array.isArray(shape) && shape.length > 0);
  });
}

/**
 * The run config from the form, or a sentence naming the first field that is wrong. With a dataset, the server
 * sets the steps (one pass over its training split per epoch) and the data, so neither is sent.
 */
export function buildConfig(form: Form, shapes: Record<string, string>, dataset: number | null = null): { config: Record<string, unknown> } | { error: string } {
  const config: Record<string, unknown> = {};
  const integer = (key: "steps" | "batch_size" | "epochs" | "seed" | "early_stop_patience", label: string, min: number) => {
    const text = form[key].trim();
    if (!text) return null;
    if (!/^\d+$/.test(text) || Number(text) < min) return `${label} must be a whole number of at least ${min}.`;
    config[key] = Number(text);
    return null;
  };
  const problem =
    (dataset === null ? integer("steps", "Steps", 1) : null) ?? integer("batch_size", "Batch size", 1) ?? integer("epochs", "Epochs", 1) ?? integer("seed", "Seed", 0);
  if (problem) return { error: problem };
  const lr = form.lr.trim();
  if (lr) {
    const value = Number(lr);
    if (!Number.isFinite(value) || value <= 0 || value > 10) return { error: "The learning rate must be a number above 0 and at most 10." };
    config.lr = value;
  }
  for (const key of ["optimizer", "device", "loss", "precision"] as const) config[key] = form[key];
  if (dataset === null) config.data = form.data;
  else {
    config.dataset = dataset;
    const share = form.val_fraction.trim();
    if (share) {
      const value = Number(share);
      if (!Number.isFinite(value) || value < 0 || value > 0.5) return { error: "The validation share must be a number from 0 to 0.5." };
      config.val_fraction = value;
    }
    const patience = integer("early_stop_patience", "Early-stop patience", 0);
    if (patience) return { error: patience };
    config.early_stop_metric = form.early_stop_metric;
  }
  const entries = Object.entries(shapes);
  if (entries.length) {
    const parsed: Record<string, number[]> = {};
    for (const [input, text] of entries) {
      const shape = parseShape(text);
      if (!shape) return { error: `Shape of ${input}: give 1 to 8 whole sizes without the batch, such as 3, 32, 32.` };
      parsed[input] = shape;
    }
    config.input_shapes = parsed;
  }
  return { config };
}

// training/labels.py's rules (graphs/services.py clean_tags): the server checks them again.
const MAX_NAME = 120;
const MAX_TAGS = 10;
const TAG = /^[\p{L}\p{N}_][\p{L}\p{N}_ .+#-]*$/u;

/** A run's name and its comma-separated tags (trimmed, lower-cased, de-duplicated), or what is wrong. */
export function buildLabels(name: string, tagsText: string): { name: string; tags: string[] } | { error: string } {
  const trimmed = name.trim();
  if (trimmed.length > MAX_NAME) return { error: `The name may have at most ${MAX_NAME} characters (it has ${trimmed.length}).` };
  const tags: string[] = [];
  for (const part of tagsText.split(",")) {
    const tag = part.trim().toLowerCase();
    if (!tag) continue;
    if (tag.length > 40 || !TAG.test(tag)) return { error: `Tag "${tag}": up to 40 letters, digits, spaces and . + # - _ only.` };
    if (!tags.includes(tag)) tags.push(tag);
  }
  if (tags.length > MAX_TAGS) return { error: `At most ${MAX_TAGS} tags (got ${tags.length}).` };
  return { name: trimmed, tags };
}

function runsUrl(boot: Boot, path = ""): string {
  const base = boot.urls.runs.endsWith("/") ? boot.urls.runs : `${boot.urls.runs}/`;
  return `${base}${path}`;
}

function StatusBadge(props: { status: RunStatus | null; testId?: string }) {
  if (!props.status) return <span className="tc-badge tc-badge-muted" data-testid={props.testId}>Connecting…</span>;
  return (
    <span className={`tc-badge tc-badge-${STATUS_TONES[props.status]}`} data-testid={props.testId} data-status={props.status}>
      {STATUS_LABELS[props.status]}
    </span>
  );
}

function metricRows(view: RunView, run: RunInfo | null): [string, string][] {
  const m = view.metrics ?? run?.metrics ?? {};
  const memory = m.memory_kind === "cuda" ? "Peak memory (CUDA)" : m.memory_kind === "rss" ? "Peak memory (process)" : "Peak memory";
  const ms = (v: unknown) => (typeof v === "number" ? `${formatNumber(v)} ms` : "—");
  const rows: [string, string][] = [
    ["Device", run?.device || "—"],
    ["Parameters", typeof (run?.params_total ?? m.params_total) === "number" ? Number(run?.params_total ?? m.params_total).toLocaleString("en") : "—"],
    ["Samples / s", formatNumber(m.samples_per_s)],
    ["Step time (median)", ms(m.step_time_ms)],
    ["First step", ms(m.first_step_ms)],
    [memory, formatBytes(m.peak_memory_bytes)],
    ["Gradient norm", formatNumber(m.grad_norm)],
    ["First loss", formatNumber(m.first_loss)],
    ["Final loss", formatNumber(m.loss)],
    ["Lowest loss", formatNumber(m.min_loss)],
    ["Training time", formatSeconds(m.elapsed_s)],
  ];
  return rows;
}

/** The validation figures of the last finished epoch (runs on a dataset): label, value, test id. */
export function validationStats(view: RunView): [string, string, string][] {
  const rows: [string, string, string][] = [];
  if (view.valLoss !== null) rows.push(["Val loss", formatNumber(view.valLoss), "run-val-loss"]);
  if (view.valAccuracy !== null) rows.push(["Val accuracy", `${formatNumber(100 * view.valAccuracy)} %`, "run-val-accuracy"]);
  if (view.valMae !== null) rows.push(["Val MAE", formatNumber(view.valMae), "run-val-mae"]);
  if (view.bestEpoch !== null) rows.push(["Best epoch", String(view.bestEpoch), "run-best-epoch"]);
  return rows;
}

export function RunPanel(props: { boot: Boot; version: number | null; dirty: boolean; dataset: DatasetChoice }): JSX.Element {
  const { boot, version, dirty, dataset } = props;
  const [form, setForm] = useState<Form>(() => initialForm(props.boot.runDefaults));
  const [labels, setLabels] = useState({ name: "", tags: "" });
  const [fetchedInputs, setFetchedInputs] = useState<string[]>([]);
  const [shapes, setShapes] = useState<Record<string, string>>({});
  const [queueing, setQueueing] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [run, setRun] = useState<RunInfo | null>(null);
  const [view, dispatch] = useReducer((state: RunView, action: RunMessage | "reset") => (action === "reset" ? emptyRunView() : applyRunMessage(state, action)), undefined, emptyRunView);
  const [connection, setConnection] = useState<{ state: StreamState; retryInMs?: number } | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [recent, setRecent] = useState<RunInfo[] | null>(null);
  const [recentError, setRecentError] = useState<string | null>(null);
  const stream = useRef<RunStream | null>(null);
  const [datasets, setDatasets] = useState<DatasetInfo[] | null>(null);
  const [datasetsError, setDatasetsError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    apiJson<unknown>(`${boot.urls.datasets}?page_size=100`, { signal: controller.signal })
      .then((body) => setDatasets(listResults<DatasetInfo>(body)))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setDatasetsError(`The datasets could not be listed: ${describeError(error)}`);
      });
    return () => controller.abort();
  }, [boot]);

  const loadRecent = useCallback(
    () =>
      apiJson<unknown>(runsUrl(boot, `?graph=${boot.graphId}&page_size=${RECENT}`))
        .then((body) => {
          setRecent(listResults<RunInfo>(body).slice(0, RECENT));
          setRecentError(null);
        })
        .catch((error: unknown) => setRecentError(describeError(error))),
    [boot],
  );

  useEffect(() => {
    void loadRecent();
  }, [loadRecent]);

  // Inputs without a shape in the saved version need sizes for the run (an unsaved graph has no run to size).
  const shapeInputs = version === null ? [] : fetchedInputs;
  useEffect(() => {
    if (version === null) return;
    const controller = new AbortController();
    const base = boot.urls.versions.endsWith("/") ? boot.urls.versions : `${boot.urls.versions}/`;
    apiJson<{ document: GraphDoc }>(`${base}${version}/`, { signal: controller.signal })
      .then((answer) => setFetchedInputs(openInputs(answer.document)))
      .catch(() => {
        if (!controller.signal.aborted) setFetchedInputs([]); // the server says what is missing when queueing
      });
    return () => controller.abort();
  }, [boot, version]);

  const watch = useCallback(
    (target: RunInfo) => {
      stream.current?.stop();
      dispatch("reset");
      setRun(target);
      setActionError(null);
      setConnection({ state: "connecting" });
      const base = boot.urls.runsWs.endsWith("/") ? boot.urls.runsWs : `${boot.urls.runsWs}/`;
      const next = new RunStream({
        url: socketUrl(`${base}${target.id}/`),
        eventsUrl: runsUrl(boot, `${target.id}/events/`),
        onMessage: (message) => dispatch(message),
        onState: (state, retryInMs) => setConnection({ state, retryInMs }),
      });
      stream.current = next;
      next.start();
    },
    [boot],
  );

  useEffect(() => () => stream.current?.stop(), []);

  // When the run ends, read it once more (error sentence, device, metrics) and refresh the list.
  const ended = view.status !== null && TERMINAL.includes(view.status);
  const runId = run?.id;
  useEffect(() => {
    if (!ended || runId === undefined) return;
    let live = true;
    apiJson<RunInfo>(runsUrl(boot, `${runId}/`))
      .then((fresh) => live && setRun(fresh))
      .catch(() => undefined);
    void loadRecent();
    return () => {
      live = false;
    };
  }, [ended, runId, boot, loadRecent]);

  async function queue(event: FormEvent) {
    event.preventDefault();
    if (version === null || queueing) return;
    const built = buildConfig(form, Object.fromEntries(shapeInputs.map((id) => [id, shapes[id] ?? ""])), dataset.id);
    const named = buildLabels(labels.name, labels.tags);
    if ("error" in built) {
      setFormError(built.error);
      return;
    }
    if ("error" in named) {
      setFormError(named.error);
      return;
    }
    setFormError(null);
    setQueueing(true);
    try {
      const created = await apiJson<RunInfo>(runsUrl(boot), {
        body: { graph: boot.graphId, version, config: built.config, name: named.name, tags: named.tags },
      });
      watch(created);
      void loadRecent();
    } catch (error) {
      setFormError(
        error instanceof ApiError && error.status === 429 ? describeError(error) : `The run was not queued: ${describeError(error)}`,
      );
    } finally {
      setQueueing(false);
    }
  }

  async function cancel() {
    if (!run) return;
    setCancelling(true);
    setActionError(null);
    try {
      setRun(await apiJson<RunInfo>(runsUrl(boot, `${run.id}/cancel/`), { method: "POST" }));
    } catch (error) {
      setActionError(describeError(error));
    } finally {
      setCancelling(false);
    }
  }

  const set = (key: keyof Form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));
  const status = view.status ?? run?.status ?? null;
  const total = view.total ?? run?.progress.total ?? null;
  const step = status === "succeeded" && total ? total : view.step;
  const percent = total ? Math.max(0, Math.min(100, (100 * step) / total)) : 0;
  const failure = view.error ?? (run?.error || null);
  const canCancel = !!run && !ended && run.can_cancel && !run.cancel_requested;

  const progressLine = progressText({ ...view, status, total }) || "waiting for the first step";
  const chosen = datasets?.find((d) => d.id === dataset.id) ?? null;

  return (
    <div className="tc-panel tc-run-panel">
      <form className="tc-run-form" onSubmit={queue} noValidate>
        <div className="tc-grid-2">
          <label className="tc-field tc-span-2" title="The canvas checks the graph's Input against it (Problems tab).">
            <span>Dataset</span>
            <select
              value={dataset.id ?? ""}
              onChange={(e) => dataset.choose(e.target.value ? Number(e.target.value) : null)}
              data-testid="run-dataset"
            >
              <option value="">None: generated batches (a smoke test)</option>
              {datasets?.map((item) => (
                <option key={item.id} value={item.id}>
                  {datasetLabel(item)}
                </option>
              ))}
              {dataset.id !== null && datasets && !chosen ? <option value={dataset.id}>Dataset {dataset.id} (not among yours)</option> : null}
            </select>
          </label>
          {datasetsError ? <p className="tc-small tc-error-text tc-span-2">{datasetsError}</p> : null}
          {dataset.problem ? (
            <p className="tc-alert tc-alert-error tc-span-2" role="alert" data-testid="run-dataset-problem">
              {dataset.problem} The Problems tab has the fix.
            </p>
          ) : null}
          {dataset.id !== null ? (
            <p className="tc-small tc-muted tc-span-2" data-testid="run-dataset-note">
              Each epoch is one pass over the dataset's training split; the validation share (More options) is held out to
              report validation loss
              {chosen?.facts.task === "regression" ? " and MAE" : chosen?.facts.task === "classification" ? " and accuracy" : ""}.
            </p>
          ) : null}
          <label className="tc-field">
            <span>Name</span>
            <input
              type="text"
              maxLength={MAX_NAME}
              placeholder="optional"
              value={labels.name}
              onChange={(e) => setLabels((l) => ({ ...l, name: e.target.value }))}
              data-testid="run-name"
            />
          </label>
          <label className="tc-field">
            <span>Tags</span>
            <input
              type="text"
              placeholder="baseline, sweep"
              value={labels.tags}
              onChange={(e) => setLabels((l) => ({ ...l, tags: e.target.value }))}
              data-testid="run-tags"
            />
          </label>
          {dataset.id === null ? (
            <label className="tc-field">
              <span>Steps</span>
              <input type="number" min={1} inputMode="numeric" value={form.steps} onChange={set("steps")} data-testid="run-steps" />
            </label>
          ) : null}
          <label className={dataset.id === null ? "tc-field" : "tc-field tc-span-2"}>
            <span>Batch size</span>
            <input type="number" min={1} inputMode="numeric" value={form.batch_size} onChange={set("batch_size")} data-testid="run-batch-size" />
          </label>
          <label className="tc-field">
            <span>Optimizer</span>
            <select value={form.optimizer} onChange={set("optimizer")} data-testid="run-optimizer">
              <option value="adam">Adam</option>
              <option value="adamw">AdamW</option>
              <option value="sgd">SGD</option>
            </select>
          </label>
          <label className="tc-field">
            <span>Learning rate</span>
            <input type="number" min={0} step="any" value={form.lr} onChange={set("lr")} data-testid="run-lr" />
          </label>
          <label className="tc-field tc-span-2">
            <span>Device</span>
            <select value={form.device} onChange={set("device")} data-testid="run-device">
              <option value="auto">Auto (GPU if there is one)</option>
              <option value="cpu">CPU</option>
              <option value="cuda">CUDA GPU</option>
            </select>
          </label>
          {shapeInputs.map((id) => (
            <label className="tc-field tc-span-2" key={id}>
              <span>
                Shape of <code>{id}</code> <span className="tc-muted">(without the batch)</span>
              </span>
              <input
                type="text"
                inputMode="numeric"
                placeholder="3, 32, 32"
                value={shapes[id] ?? ""}
                onChange={(e) => setShapes((s) => ({ ...s, [id]: e.target.value }))}
                data-testid={`run-shape-${id}`}
              />
            </label>
          ))}
        </div>
        <details className="tc-details">
          <summary>More options</summary>
          <div className="tc-grid-2">
            <label className="tc-field">
              <span>Epochs</span>
              <input type="number" min={1} value={form.epochs} onChange={set("epochs")} />
            </label>
            <label className="tc-field">
              <span>Seed</span>
              <input type="number" min={0} value={form.seed} onChange={set("seed")} />
            </label>
            <label className="tc-field">
              <span>Loss</span>
              <select value={form.loss} onChange={set("loss")}>
                <option value="auto">Auto (from the output)</option>
                <option value="cross_entropy">Cross-entropy</option>
                <option value="mse">MSE</option>
                <option value="l1">L1</option>
              </select>
            </label>
            <label className="tc-field">
              <span>Precision</span>
              <select value={form.precision} onChange={set("precision")}>
                <option value="fp32">fp32</option>
                <option value="bf16">bf16 (mixed, GPU)</option>
                <option value="fp16">fp16 (mixed, GPU)</option>
              </select>
            </label>
            {dataset.id === null ? (
              <label className="tc-field tc-span-2" title="Learning one batch by heart shows that gradients reach every layer.">
                <span>Data</span>
                <select value={form.data} onChange={set("data")} data-testid="run-data">
                  <option value="fixed">One fixed batch (the loss should fall)</option>
                  <option value="random">A new random batch each step</option>
                </select>
              </label>
            ) : (
              <>
                <label className="tc-field tc-span-2" title="Held out of training (0 to 0.5); 0: no validation.">
                  <span>Validation share</span>
                  <input type="number" min={0} max={0.5} step="any" value={form.val_fraction} onChange={set("val_fraction")} data-testid="run-val-fraction" />
                </label>
                <label className="tc-field" title="Stop after this many epochs without improvement; 0: never.">
                  <span>Early stop after</span>
                  <input type="number" min={0} value={form.early_stop_patience} onChange={set("early_stop_patience")} data-testid="run-patience" />
                </label>
                <label className="tc-field">
                  <span>Watching</span>
                  <select value={form.early_stop_metric} onChange={set("early_stop_metric")} data-testid="run-stop-metric">
                    <option value="val_loss">Validation loss</option>
                    {chosen?.facts.task !== "regression" ? <option value="val_accuracy">Validation accuracy</option> : null}
                    {chosen?.facts.task !== "classification" ? <option value="val_mae">Validation MAE</option> : null}
                  </select>
                </label>
              </>
            )}
          </div>
        </details>
        {version === null ? (
          <p className="tc-note" data-testid="run-no-version">
            Runs train a saved version: save the graph first.
          </p>
        ) : (
          dirty && (
            <p className="tc-note tc-note-warn" data-testid="run-dirty">
              Unsaved edits are not included — save first to run them.
            </p>
          )
        )}
        {formError && (
          <p className="tc-alert tc-alert-error" role="alert" data-testid="run-form-error">
            {formError}
          </p>
        )}
        <button
          type="submit"
          className="tc-button tc-button-block"
          data-testid="run-queue"
          disabled={version === null || queueing}
          title={version === null ? "Save the graph first: runs use a saved version" : undefined}
        >
          {queueing ? "Queueing…" : version === null ? "Queue run (no saved version)" : `Queue run of v${version}`}
        </button>
      </form>

      {run && (
        <section className="tc-run" aria-labelledby="tc-run-title" data-run-id={run.id}>
          <div className="tc-run-head">
            <h3 id="tc-run-title" className="tc-heading">
              Run {run.id} <span className="tc-muted">· v{run.version}</span>
            </h3>
            <StatusBadge status={status} testId="run-status" />
          </div>
          <p className="tc-small" data-testid="run-labels">
            <strong>{run.name}</strong>
            {run.tags.map((tag) => (
              <span key={tag} className="tc-badge tc-badge-muted">
                {tag}
              </span>
            ))}
          </p>
          <p className="tc-small tc-run-links">
            <a href={run.url} data-testid="run-link" target="_blank" rel="noopener">
              Open the run's page
            </a>
            {connection && <ConnectionNote connection={connection} ended={ended} />}
          </p>
          <div
            className="tc-progress"
            role="progressbar"
            aria-label="Training progress"
            aria-valuemin={0}
            aria-valuemax={total ?? 0}
            aria-valuenow={step}
            data-testid="run-progress"
            data-step={step}
            data-total={total ?? ""}
          >
            <div className="tc-progress-fill" style={{ width: `${percent}%` }} />
          </div>
          <p className="tc-small tc-muted tc-progress-text">{progressLine}</p>
          <dl className="tc-stats">
            <div>
              <dt>Loss</dt>
              <dd data-testid="run-loss">{formatNumber(view.loss ?? run.progress.loss)}</dd>
            </div>
            <div>
              <dt>Samples/s</dt>
              <dd data-testid="run-samples">{formatNumber(view.samplesPerS)}</dd>
            </div>
            <div>
              <dt>Step</dt>
              <dd>{view.stepTimeMs !== null ? `${formatNumber(view.stepTimeMs)} ms` : "—"}</dd>
            </div>
            <div>
              <dt>Memory</dt>
              <dd>{formatBytes(view.memoryBytes)}</dd>
            </div>
            {validationStats(view).map(([label, value, testId]) => (
              <div key={testId}>
                <dt>{label}</dt>
                <dd data-testid={testId}>{value}</dd>
              </div>
            ))}
          </dl>
          <LossChart key={run.id} steps={view.steps} losses={view.losses} valSteps={view.valSteps} valLosses={view.valLosses} />
          {failure && status !== "succeeded" && (
            <div className="tc-alert tc-alert-error" role="alert" data-testid="run-error">
              <strong>{status === "cancelled" ? "Cancelled:" : "Run failed:"}</strong> {failure}
            </div>
          )}
          {run.cancel_requested && !ended && <p className="tc-small tc-muted">Cancel requested: the run stops after its current step.</p>}
          {actionError && (
            <p className="tc-alert tc-alert-error" role="alert">
              {actionError}
            </p>
          )}
          {canCancel && (
            <button type="button" className="tc-button tc-button-danger tc-button-small" data-testid="run-cancel" disabled={cancelling} onClick={cancel}>
              {cancelling ? "Cancelling…" : "Cancel run"}
            </button>
          )}
          {(view.metrics || (ended && run.metrics && Object.keys(run.metrics).length > 0)) && (
            <table className="tc-table tc-metrics" data-testid="run-metrics">
              <caption className="visually-hidden">Metrics</caption>
              <tbody>
                {metricRows(view, run).map(([label, value]) => (
                  <tr key={label}>
                    <th scope="row">{label}</th>
                    <td>{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}

      <section className="tc-recent" aria-labelledby="tc-recent-title">
        <div className="tc-run-head">
          <h3 id="tc-recent-title" className="tc-heading">
            Recent runs of this graph
          </h3>
          <button type="button" className="tc-button tc-button-ghost tc-button-small" onClick={() => void loadRecent()}>
            Refresh
          </button>
        </div>
        {recentError && <p className="tc-small tc-error-text">{recentError}</p>}
        {recent && recent.length === 0 && <p className="tc-small tc-muted">No runs yet.</p>}
        {recent && recent.length > 0 && (
          <ul className="tc-run-list" data-testid="run-recent">
            {recent.map((item) => (
              <li key={item.id} className={item.id === run?.id ? "tc-current" : undefined}>
                <button type="button" className="tc-linklike" onClick={() => watch(item)} title="Show this run here">
                  #{item.id} · v{item.version}
                </button>
                <span className="tc-small">{item.name}</span>
                <StatusBadge status={item.status} />
                <span className="tc-small tc-muted">
                  {item.progress.total ? `${item.progress.step}/${item.progress.total}` : ""}
                  {typeof item.progress.loss === "number" ? ` · loss ${formatNumber(item.progress.loss)}` : ""}
                </span>
                <a href={item.url} className="tc-small" target="_blank" rel="noopener" aria-label={`Open run ${item.id}'s page`}>
                  ↗
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function ConnectionNote(props: { connection: { state: StreamState; retryInMs?: number }; ended: boolean }) {
  const { text, tone } = connectionNote(props.ended ? "finished" : props.connection.state, props.connection.retryInMs);
  return <span className={tone ? `tc-conn tc-conn-${tone}` : "tc-conn"}>{text}</span>;
}
