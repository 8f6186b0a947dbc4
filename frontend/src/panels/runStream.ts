// One run's progress stream (WebSocket /ws/runs/<id>/): history first, then live events, each with a
// sequence number. RunStream reconnects with backoff, drops repeated events by `seq`, reads the events
// API while the socket is down or when a gap shows, and stops once the run has ended. `applyRunMessage`
// folds the events into what the panel shows.

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const TERMINAL: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];

export interface RunMessage {
  type: "status" | "progress" | "done" | "error" | string;
  seq?: number;
  status?: string;
  step?: number;
  total?: number;
  epoch?: number;
  loss?: number;
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
  loss: number | null;
  samplesPerS: number | null;
  elapsedS: number | null;
  stepTimeMs: number | null;
  memoryBytes: number | null;
  progressSeq: number;
  /** Loss curve, sorted by step. */
  steps: number[];
  losses: number[];
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
    loss: null,
    samplesPerS: null,
    elapsedS: null,
    stepTimeMs: null,
    memoryBytes: null,
    progressSeq: -1,
    steps: [],
    losses: [],
    metrics: null,
    error: null,
  };
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

/** Put (step, loss) in its place; a step already there gets the new loss. */
function addPoint(steps: number[], losses: number[], step: number, loss: number): void {
  let i = steps.length;
  while (i > 0 && steps[i - 1] > step) i -= 1;
  if (i > 0 && steps[i - 1] === step) losses[i - 1] = loss;
  else {
    steps.splice(i, 0, step);
    losses.splice(i, 0, loss);
  }
}

/** The view after one message. Older messages (a gap filled late) never move status or progress back. */
export function applyRunMessage(view: RunView, message: RunMessage): RunView {
  const seq = typeof message.seq === "number" ? message.seq : Number.MAX_SAFE_INTEGER;
  switch (message.type) {
    case "status": {
      const status = message.status as RunStatus;
      if (!["queued", "running", ...TERMINAL].includes(status) || seq < view.statusSeq) return view;
      const next = { ...view, status, statusSeq: seq };
      if (status === "succeeded" && next.total) next.step = next.total;
      return next;
    }
    case "progress": {
      const step = num(message.step);
      const loss = num(message.loss);
      const steps = [...view.steps];
      const losses = [...view.losses];
      if (step !== null && loss !== null) addPoint(steps, losses, step, loss);
      if (seq < view.progressSeq) return { ...view, steps, losses };
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
    case "done": {
      const metrics = message.metrics && typeof message.metrics === "object" ? message.metrics : {};
      const steps = [...view.steps];
      const losses = [...view.losses];
      // Progress events are throttled; the final curve has every step (evenly thinned when long).
      const curve = Array.isArray(metrics.loss_curve) ? (metrics.loss_curve as unknown[]) : [];
      for (const point of curve) {
        if (Array.isArray(point) && num(point[0]) !== null && num(point[1]) !== null) addPoint(steps, losses, point[0], point[1]);
      }
      return {
        ...view,
        steps,
        losses,
        metrics,
        loss: num(metrics.loss) ?? view.loss,
        samplesPerS: num(metrics.samples_per_s) ?? view.samplesPerS,
      };
    }
    case "error":
      return { ...view, error: typeof message.message === "string" && message.message ? message.message : "The run failed." };
    default:
      return view;
  }
}

export type StreamState = "connecting" | "live" | "down" | "finished" | "gone" | "signed-out";

interface SocketLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(): void;
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
  private socket: SocketLike | null = null;
  private seen = new Set<number>();
  private maxSeq = 0;
  private contiguous = 0; // every event up to this seq has been applied
  private attempt = 0;
  private stopped = false;
  private finished = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private fetching = false;

  constructor(private readonly options: RunStreamOptions) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of [this.retryTimer, this.pollTimer, this.lingerTimer]) if (timer) clearTimeout(timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close();
    }
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
    if (message.type === "status" && TERMINAL.includes(message.status as RunStatus) && !this.finished) {
      this.finished = true;
      this.options.onState?.("finished");
      // done/error come before the terminal status; linger a moment in case one is still on its way.
      this.lingerTimer = setTimeout(() => this.stop(), this.options.lingerMs ?? 1500);
    }
  }

  private connect(): void {
    if (this.stopped) return;
    this.options.onState?.("connecting");
    const create = this.options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    let socket: SocketLike;
    try {
      socket = create(this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      if (this.pollTimer) clearTimeout(this.pollTimer);
      this.pollTimer = null;
      if (!this.finished) this.options.onState?.("live");
    };
    socket.onmessage = (event: MessageEvent) => {
      let message: unknown;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message && typeof message === "object") this.receive(message as RunMessage);
    };
    socket.onerror = () => {
      // onclose follows and schedules the reconnect.
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      if (this.finished) {
        this.stop();
        return;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = Math.min(30_000, 1000 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.options.onState?.("down", delay);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    if (!this.pollTimer) this.poll();
  }

  /** While the socket is down, read the events API every few seconds. */
  private poll(): void {
    if (this.stopped || this.finished || !this.options.eventsUrl) return;
    void this.fetchEvents();
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      if (!this.socket) this.poll();
    }, this.options.pollMs ?? 3000);
  }

  private fillGap(): void {
    setTimeout(() => void this.fetchEvents(), 300);
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
        this.options.onState?.(answer.status === 401 ? "signed-out" : "gone");
        this.stop();
        return;
      }
      const body = answer.body as { results?: RunMessage[]; next?: string | null } | RunMessage[] | null;
      if (!body) return;
      const events = Array.isArray(body) ? body : body.results ?? [];
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
