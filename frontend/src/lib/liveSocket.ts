// A WebSocket that comes back: reconnects after 1, 2, 4 … 30 s (with jitter) until stopped, and gives up on
// close code 4403 (training/consumers.py: access to what it streams was removed; a reconnect would be refused).
// The run stream, the per-user runs stream and a version's export builds all ride on it.

export const ACCESS_REVOKED = 4403;

export type SocketState = "connecting" | "live" | "down" | "revoked";

/** What LiveSocket needs of a WebSocket (tests hand in a stand-in). */
export interface SocketLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(): void;
}

export interface LiveSocketOptions {
  /** ws:// or wss:// URL. */
  url: string;
  /** Every message that parses as a JSON object. */
  onMessage: (message: Record<string, unknown>) => void;
  /** `down` comes with the delay before the next attempt (ms). */
  onState?: (state: SocketState, retryInMs?: number) => void;
  createSocket?: (url: string) => SocketLike;
}

/** An absolute ws:// or wss:// URL for a same-origin path. */
export function socketUrl(path: string): string {
  if (/^wss?:\/\//.test(path)) return path;
  const protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${protocol}//${window.location.host}${path.startsWith("/") ? "" : "/"}${path}`;
}

/** The delay before reconnect attempt `attempt` (0-based): doubling from 1 s up to 30 s, ±25 %. */
export function backoffMs(attempt: number, random: number = Math.random()): number {
  return Math.min(30_000, 1000 * 2 ** attempt) * (0.75 + random * 0.5);
}

export class LiveSocket {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: LiveSocketOptions) {}

  get open(): boolean {
    return this.socket !== null && !this.stopped;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close();
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
      this.options.onState?.("live");
    };
    socket.onmessage = (event: MessageEvent) => {
      let message: unknown;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message && typeof message === "object" && !Array.isArray(message)) this.options.onMessage(message as Record<string, unknown>);
    };
    socket.onerror = () => {
      // onclose follows and schedules the reconnect.
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      if (event?.code === ACCESS_REVOKED) {
        this.stop();
        this.options.onState?.("revoked");
        return;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffMs(this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.options.onState?.("down", delay);
  }
}
