// One run's progress stream (WebSocket /ws/runs/<id>/): history first, then live events, each with a
// sequence number. RunStream reconnects (LiveSocket), drops repeated events by `seq`, reads the events API
// while the socket is down or when a gap shows, and stops once the run has ended. `applyRunMessage` folds
// the events into what a page shows. The canvas's run panel and the run pages (src/runpages/) both use it.
import { LiveSocket, type SocketLike } from "./liveSocket";
import { formatSeconds } from "./numbers";

export type RunStatus = "queued" | "running" | "paused" | "succeeded" | "failed" | "cancelled";
export const TERMINAL: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];
export const STATUS_LABELS: Record<RunStatus, string> = {
  queued: "Queued",
  running: "Running",
  paused: "Paused",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};
/** The badge tone of each status: `badge-<tone>` on the run pages, `tc-badge-<tone>` in the canvas. */
export const STATUS_TONES: Record<RunStatus, string> = {
  queued: "muted",
  running: "accent",
  paused: "warn",
  succeeded: "ok",
  failed: "error",
  cancelled: "warn",
};

export const isRunStatus = (value: unknown): value is RunStatus => typeof value === "string" && value in STATUS_LABELS;

export interface RunMessage {
  type: "status" | "progress" | "epoch" | "checkpoint" | "done" | "error" | string;
  seq?: number;
  status?: string;
  step?: number;
  total?: number;
  epoch?: number;
  epochs?: number;
  loss?: number;
  train_loss?: number;
  val_loss?: number | null;
  val_accuracy?: number | null;
  val_mae?: number | null;
  best?: boolean;
  samples_per_s?: number;
  elapsed_s?: number;
  step_time_ms?: number;
  memory_bytes?: number | null;
  metrics?: Record<string, unknown>;
  message?: string;
  [key: string]: unknown;
}

export interface RunView {
  status: RunStatus | null;
  statusSeq: number;
  step: number;
  total: number | null;
  epoch: number | null;
  epochs: number | null;
  loss: number | null;
  samplesPerS: number | null;
  elapsedS: number | null;
  stepTimeMs: number | null;
  memoryBytes: number | null;
  progressSeq: number;
  /** Loss curve, sorted by step. */
  steps: number[];
  losses: number[];
  /** Validation loss per finished epoch, at the step the epoch ended on, sorted by step. */
  valSteps: number[];
  valLosses: number[];
  valLoss: number | null;
  valAccuracy: number | null;
  valMae: number | null;
  bestEpoch: number | null;
  epochSeq: number;
  /** The step of the latest checkpoint saved. */
  checkpointStep: number | null;
  metrics: Record<string, unknown> | null;
  error: string | null;
}

export function emptyRunView(): RunView {
  return {
    status: null,
    statusSeq: -1,
    step: 0,
    total: null,
    epoch: null,
    epochs: null,
    loss: null,
    samplesPerS: null,
    elapsedS: null,
    stepTimeMs: null,
    memoryBytes: null,
    progressSeq: -1,
    steps: [],
    losses: [],
    valSteps: [],
    valLosses: [],
    valLoss: null,
    valAccuracy: null,
    valMae: null,
    bestEpoch: null,
    epochSeq: -1,
    checkpointStep: null,
    metrics: null,
    error: null,
  };
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

/**
 * (xs, ys) with (x, y) in its place, as new arrays. A step already there gets the new value when `replace`
 * (steps repeat after a resume from a checkpoint: the later value stands), else keeps its own.
 */
function withPoint(xs: readonly number[], ys: readonly number[], x: number, y: number, replace = true): [number[], number[]] {
  const steps = [...xs];
  const values = [...ys];
  let i = steps.length;
  while (i > 0 && steps[i - 1] > x) i -= 1;
  if (i > 0 && steps[i - 1] === x) {
    if (replace) values[i - 1] = y;
  } else {
    steps.splice(i, 0, x);
    values.splice(i, 0, y);
  }
  return [steps, values];
}

/** Every finite [step, value] pair of a curve sent in done.metrics (loss_curve, val_curve). */
function curvePoints(curve: unknown): [number, number][] {
  if (!Array.isArray(curve)) return [];
  return curve.filter((p): p is [number, number] => Array.isArray(p) && num(p[0]) !== null && num(p[1]) !== null);
}

/** The view after one message. Older messages (a gap filled late) never move status or progress back. */
export function applyRunMessage(view: RunView, message: RunMessage): RunView {
  const seq = typeof message.seq === "number" ? message.seq : Number.MAX_SAFE_INTEGER;
  switch (message.type) {
    case "status": {
      const status = message.status;
      if (!isRunStatus(status) || seq < view.statusSeq) return view;
      const next = { ...view, status, statusSeq: seq };
      if (status === "succeeded" && next.total) next.step = next.total;
      return next;
    }
    case "progress": {
      const step = num(message.step);
      const loss = num(message.loss);
      const newer = seq >= view.progressSeq;
      const [steps, losses] = step !== null && loss !== null ? withPoint(view.steps, view.losses, step, loss, newer) : [view.steps, view.losses];
      if (!newer) return { ...view, steps, losses };
      return {
        ...view,
        steps,
        losses,
        progressSeq: seq,
        step: step ?? view.step,
        total: num(message.total) ?? view.total,
        epoch: num(message.epoch) ?? view.epoch,
        loss: loss ?? view.loss,
        samplesPerS: num(message.samples_per_s) ?? view.samplesPerS,
        elapsedS: num(message.elapsed_s) ?? view.elapsedS,
        stepTimeMs: num(message.step_time_ms) ?? view.stepTimeMs,
        memoryBytes: num(message.memory_bytes) ?? view.memoryBytes,
      };
    }
    case "epoch": {
      const step = num(message.step);
      const valLoss = num(message.val_loss);
      const newer = seq >= view.epochSeq;
      const [valSteps, valLosses] =
        step !== null && valLoss !== null ? withPoint(view.valSteps, view.valLosses, step, valLoss, newer) : [view.valSteps, view.valLosses];
      const epoch = num(message.epoch);
      const bestEpoch = message.best === true && epoch !== null && (newer || view.bestEpoch === null) ? epoch : view.bestEpoch;
      if (!newer) return { ...view, valSteps, valLosses, bestEpoch };
      return {
        ...view,
        valSteps,
        valLosses,
        bestEpoch,
        epochSeq: seq,
        // Progress is throttled: an epoch's end later than the last progress message is the newest step known.
        step: step !== null && seq > view.progressSeq ? step : view.step,
        epoch: epoch ?? view.epoch,
        epochs: num(message.epochs) ?? view.epochs,
        valLoss: valLoss ?? view.valLoss,
        valAccuracy: num(message.val_accuracy) ?? view.valAccuracy,
        valMae: num(message.val_mae) ?? view.valMae,
      };
    }
    case "checkpoint": {
      // Checkpoints only move forward (a resume continues after the one it loaded), so the latest is the highest.
      const step = num(message.step);
      return step === null ? view : { ...view, checkpointStep: Math.max(step, view.checkpointStep ?? step) };
    }
    case "done": {
      const metrics = message.metrics && typeof message.metrics === "object" ? message.metrics : {};
      let { steps, losses, valSteps, valLosses } = view;
      // Progress events are throttled; the final curve has every step (evenly thinned when long).
      for (const [x, y] of curvePoints(metrics.loss_curve)) [steps, losses] = withPoint(steps, losses, x, y);
      for (const [x, y] of curvePoints(metrics.val_curve)) [valSteps, valLosses] = withPoint(valSteps, valLosses, x, y);
      return {
        ...view,
        steps,
        losses,
        valSteps,
        valLosses,
        metrics,
        loss: num(metrics.loss) ?? view.loss,
        samplesPerS: num(metrics.samples_per_s) ?? view.samplesPerS,
        stepTimeMs: num(metrics.step_time_ms) ?? view.stepTimeMs,
        memoryBytes: num(metrics.peak_memory_bytes) ?? view.memoryBytes,
        valLoss: num(metrics.val_loss) ?? view.valLoss,
        valAccuracy: num(metrics.val_accuracy) ?? view.valAccuracy,
        valMae: num(metrics.val_mae) ?? view.valMae,
        bestEpoch: num(metrics.best_epoch) ?? view.bestEpoch,
      };
    }
    case "error":
      return { ...view, error: typeof message.message === "string" && message.message ? message.message : "The run failed." };
    default:
      return view;
  }
}

/** The "step 40 / 100 · epoch 1 · 12.0 s · about 18.0 s left" line under a progress bar. */
export function progressText(view: RunView): string {
  const total = view.total;
  const ended = view.status !== null && TERMINAL.includes(view.status);
  const step = view.status === "succeeded" && total ? total : view.step;
  if (!total) return "";
  if (ended && view.status !== "succeeded") return `${STATUS_LABELS[view.status!].toLowerCase()} at step ${step} / ${total}`;
  let text = `step ${step} / ${total}`;
  if (ended) return text; // no time left to show once it is over
  if (view.epoch !== null) text += ` · epoch ${view.epoch}${view.epochs ? ` / ${view.epochs}` : ""}`;
  if (view.elapsedS !== null) {
    text += ` · ${formatSeconds(view.elapsedS)}`;
    if (step > 0 && step < total && view.status !== "paused") text += ` · about ${formatSeconds((view.elapsedS / step) * (total - step))} left`;
  }
  return text;
}

export type StreamState = "connecting" | "live" | "down" | "finished" | "gone" | "signed-out" | "revoked";

/** What a page says about its connection, and the tone (`conn-<tone>` / `tc-conn-<tone>`). */
export function connectionNote(state: StreamState, retryInMs?: number): { text: string; tone: "live" | "down" | "done" | "" } {
  switch (state) {
    case "finished":
      return { text: "finished", tone: "done" };
    case "live":
      return { text: "● live", tone: "live" };
    case "gone":
      return { text: "no longer visible to you", tone: "down" };
    case "signed-out":
      return { text: "signed out: log in again to follow it", tone: "down" };
    case "revoked":
      return { text: "access removed: reload", tone: "down" };
    case "down":
      return { text: `reconnecting in ${Math.round((retryInMs ?? 1000) / 1000)} s…`, tone: "down" };
    default:
      return { text: "connecting…", tone: "" };
  }
}

export interface RunStreamOptions {
  /** ws:// or wss:// URL of the run's stream. */
  url: string;
  /** The events API of the run (`/api/runs/<id>/events/`), read while the socket is down; optional. */
  eventsUrl?: string;
  onMessage: (message: RunMessage) => void;
  onState?: (state: StreamState, retryInMs?: number) => void;
  createSocket?: (url: string) => SocketLike;
  fetchJson?: (url: string) => Promise<{ status: number; body: unknown }>;
  /** How long to keep listening after the terminal status, for a late done/error (ms). */
  lingerMs?: number;
  pollMs?: number;
}

async function defaultFetchJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  return { status: response.status, body: response.ok ? await response.json() : null };
}

export class RunStream {
  private readonly socket: LiveSocket;
  private seen = new Set<number>();
  private maxSeq = 0;
  private contiguous = 0; // every event up to this seq has been applied
  private stopped = false;
  private finished = false;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private gapTimer: ReturnType<typeof setTimeout> | null = null;
  private fetching = false;

  constructor(private readonly options: RunStreamOptions) {
    this.socket = new LiveSocket({
      url: options.url,
      createSocket: options.createSocket,
      onMessage: (message) => this.receive(message as RunMessage),
      onState: (state, retryInMs) => {
        if (state === "live") {
          if (this.pollTimer) clearTimeout(this.pollTimer);
          this.pollTimer = null;
          if (!this.finished) this.options.onState?.("live");
        } else if (state === "revoked") {
          this.stop();
          this.options.onState?.("revoked");
        } else if (state === "down" && this.finished) {
          this.stop(); // its end has arrived: nothing more will happen to this run
        } else if (state === "down") {
          this.options.onState?.("down", retryInMs);
          if (!this.pollTimer) this.poll();
        } else if (!this.finished) {
          this.options.onState?.(state);
        }
      },
    });
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of [this.pollTimer, this.lingerTimer, this.gapTimer]) if (timer) clearTimeout(timer);
    this.socket.stop();
  }

  /** Apply one message unless it was seen before (history replayed after a reconnect). */
  receive(message: RunMessage): void {
    if (this.stopped) return;
    if (typeof message.seq === "number") {
      if (this.seen.has(message.seq)) return;
      if (this.seen.size && message.seq > this.maxSeq + 1) this.fillGap();
      this.seen.add(message.seq);
      this.maxSeq = Math.max(this.maxSeq, message.seq);
      while (this.seen.has(this.contiguous + 1)) this.contiguous += 1;
    }
    this.options.onMessage(message);
    // "paused" is not an end: a resume follows (queued, then running) on the same stream.
    if (message.type === "status" && TERMINAL.includes(message.status as RunStatus) && !this.finished) {
      this.finished = true;
      this.options.onState?.("finished");
      // done/error come before the terminal status; linger a moment in case one is still on its way.
      this.lingerTimer = setTimeout(() => this.stop(), this.options.lingerMs ?? 1500);
    }
  }

  /** While the socket is down, read the events API every few seconds. */
  private poll(): void {
    if (this.stopped || this.finished || !this.options.eventsUrl) return;
    void this.fetchEvents();
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      if (!this.socket.open) this.poll();
    }, this.options.pollMs ?? 3000);
  }

  private fillGap(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = setTimeout(() => void this.fetchEvents(), 300);
  }

  private async fetchEvents(url?: string, pages = 0): Promise<void> {
    const base = this.options.eventsUrl;
    if (!base || this.stopped || (this.fetching && !url)) return;
    this.fetching = true;
    try {
      const fetchJson = this.options.fetchJson ?? defaultFetchJson;
      const answer = await fetchJson(url ?? `${base}${base.includes("?") ? "&" : "?"}after=${this.contiguous}`);
      if (answer.status === 401 || answer.status === 403 || answer.status === 404) {
        // 401: the session ended (logged out elsewhere); retrying cannot help until the person logs in.
        this.stop();
        this.options.onState?.(answer.status === 401 ? "signed-out" : "gone");
        return;
      }
      const body = answer.body as { results?: RunMessage[]; next?: string | null } | RunMessage[] | null;
      if (!body) return;
      const events = Array.isArray(body) ? body : (body.results ?? []);
      [...events].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)).forEach((event) => this.receive(event));
      const next = Array.isArray(body) ? null : body.next;
      if (next && pages < 50) await this.fetchEvents(next, pages + 1);
    } catch {
      // The network is down as well: the next poll or reconnect tries again.
    } finally {
      if (!url) this.fetching = false;
    }
  }
}
