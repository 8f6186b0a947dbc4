// A WebSocket stand-in for the tests; every one made is in `FakeSocket.all` (reset it before each test).
export class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open() {
    this.onopen?.(new Event("open"));
  }
  send(message: object) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
  /** The server closes it (or refuses it during the handshake), with `code`. */
  drop(code = 1006) {
    this.onclose?.(new CloseEvent("close", { code }));
  }
  close() {
    this.closed = true;
  }
}
