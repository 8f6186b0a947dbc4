import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveSocket, backoffMs } from "./liveSocket";
import { FakeSocket } from "./testSocket";

describe("LiveSocket", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  function start() {
    const messages: object[] = [];
    const states: [string, number | undefined][] = [];
    const socket = new LiveSocket({
      url: "ws://host/ws/runs/",
      onMessage: (m) => messages.push(m),
      onState: (s, retry) => states.push([s, retry]),
      createSocket: (url) => new FakeSocket(url),
    });
    socket.start();
    return { socket, messages, states };
  }

  it("backs off from 1 s, doubling, up to 30 s, with ±25 % jitter", () => {
    expect(backoffMs(0, 0.5)).toBe(1000);
    expect(backoffMs(3, 0.5)).toBe(8000);
    expect(backoffMs(10, 0.5)).toBe(30_000);
    expect(backoffMs(0, 0)).toBe(750);
    expect(backoffMs(0, 1)).toBe(1250);
  });

  it("passes JSON objects on, ignores anything else, and comes back after a drop", async () => {
    const { messages, states } = start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].onmessage?.(new MessageEvent("message", { data: "not json" }));
    FakeSocket.all[0].onmessage?.(new MessageEvent("message", { data: "[1, 2]" }));
    FakeSocket.all[0].send({ type: "run", run: { id: 1 } });
    expect(messages).toEqual([{ type: "run", run: { id: 1 } }]);
    FakeSocket.all[0].drop();
    const [state, retry] = states.at(-1)!;
    expect(state).toBe("down");
    await vi.advanceTimersByTimeAsync(retry!);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("gives up on close code 4403, and after stop", async () => {
    const first = start();
    FakeSocket.all[0].drop(4403);
    expect(first.states.at(-1)![0]).toBe("revoked");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);

    const second = start();
    second.socket.stop();
    expect(FakeSocket.all[1].closed).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(2);
  });
});
