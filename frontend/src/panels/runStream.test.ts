import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type RunMessage, RunStream, applyRunMessage, emptyRunView } from "./runStream";
import { FakeSocket } from "./testBoot";

const fold = (messages: RunMessage[]) => messages.reduce(applyRunMessage, emptyRunView());

describe("applyRunMessage", () => {
  it("follows status, progress, done", () => {
    const view = fold([
      { type: "status", seq: 1, status: "queued" },
      { type: "status", seq: 2, status: "running" },
      { type: "progress", seq: 3, step: 1, total: 10, epoch: 1, loss: 2.5, samples_per_s: 100, elapsed_s: 0.5 },
      { type: "progress", seq: 4, step: 5, total: 10, epoch: 1, loss: 1.5, samples_per_s: 120, elapsed_s: 1 },
      { type: "done", seq: 5, metrics: { loss: 1.2, samples_per_s: 130, loss_curve: [[1, 2.5], [3, 2], [10, 1.2]] } },
      { type: "status", seq: 6, status: "succeeded" },
    ]);
    expect(view.status).toBe("succeeded");
    expect(view.step).toBe(10);
    expect(view.total).toBe(10);
    expect(view.loss).toBe(1.2);
    expect(view.samplesPerS).toBe(130);
    expect(view.steps).toEqual([1, 3, 5, 10]);
    expect(view.losses).toEqual([2.5, 2, 1.5, 1.2]);
    expect(view.metrics).toMatchObject({ loss: 1.2 });
  });

  it("never moves status or progress back for an older event that arrives late", () => {
    const view = fold([
      { type: "status", seq: 5, status: "failed" },
      { type: "error", seq: 4, message: "Training failed at step 3: boom" },
      { type: "status", seq: 2, status: "running" },
      { type: "progress", seq: 3, step: 3, total: 10, loss: 0.5 },
      { type: "progress", seq: 1, step: 1, total: 10, loss: 0.9 },
    ]);
    expect(view.status).toBe("failed");
    expect(view.error).toBe("Training failed at step 3: boom");
    expect(view.step).toBe(3);
    expect(view.steps).toEqual([1, 3]);
  });
});

describe("RunStream", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  type FetchJson = (url: string) => Promise<{ status: number; body: unknown }>;
  function start(fetchJson: FetchJson = vi.fn(async () => ({ status: 200, body: { results: [], next: null } }))) {
    const messages: RunMessage[] = [];
    const states: string[] = [];
    const stream = new RunStream({
      url: "ws://host/ws/runs/7/",
      eventsUrl: "/api/runs/7/events/",
      onMessage: (m) => messages.push(m),
      onState: (s) => states.push(s),
      createSocket: (url) => new FakeSocket(url),
      fetchJson,
      lingerMs: 100,
    });
    stream.start();
    return { stream, messages, states, fetchJson };
  }

  it("reconnects after a drop and drops the replayed history by seq", async () => {
    const { messages, states } = start();
    const first = FakeSocket.all[0];
    expect(first.url).toBe("ws://host/ws/runs/7/");
    first.open();
    first.send({ type: "status", seq: 1, status: "queued" });
    first.send({ type: "status", seq: 2, status: "running" });
    first.drop();
    expect(states).toContain("down");
    await vi.advanceTimersByTimeAsync(2000);
    const second = FakeSocket.all[1];
    expect(second).toBeDefined();
    second.open();
    second.send({ type: "status", seq: 1, status: "queued" });
    second.send({ type: "status", seq: 2, status: "running" });
    second.send({ type: "progress", seq: 3, step: 1, total: 5, loss: 1 });
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(states.at(-1)).toBe("live");
  });

  it("reads the events API while the socket is down, from the last event it has", async () => {
    const fetchJson = vi.fn(async () => ({ status: 200, body: { results: [{ type: "progress", seq: 2, step: 2, total: 5, loss: 1 }], next: null } }));
    const { messages } = start(fetchJson);
    FakeSocket.all[0].open();
    FakeSocket.all[0].send({ type: "status", seq: 1, status: "running" });
    FakeSocket.all[0].drop();
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchJson).toHaveBeenCalledWith("/api/runs/7/events/?after=1");
    expect(messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it("fills a gap in the sequence from the events API", async () => {
    const fetchJson = vi.fn(async () => ({ status: 200, body: { results: [{ type: "progress", seq: 2, step: 1, total: 5, loss: 1 }], next: null } }));
    const { messages } = start(fetchJson);
    FakeSocket.all[0].open();
    FakeSocket.all[0].send({ type: "status", seq: 1, status: "running" });
    FakeSocket.all[0].send({ type: "progress", seq: 3, step: 2, total: 5, loss: 1 });
    await vi.advanceTimersByTimeAsync(500);
    expect(fetchJson).toHaveBeenCalledWith("/api/runs/7/events/?after=1");
    expect(messages.map((m) => m.seq)).toEqual([1, 3, 2]);
  });

  it("stops after the terminal status instead of reconnecting", async () => {
    const { states } = start();
    const socket = FakeSocket.all[0];
    socket.open();
    socket.send({ type: "error", seq: 1, message: "boom" });
    socket.send({ type: "status", seq: 2, status: "failed" });
    expect(states).toContain("finished");
    await vi.advanceTimersByTimeAsync(200);
    expect(socket.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("gives up when the run is no longer visible", async () => {
    const fetchJson = vi.fn(async () => ({ status: 404, body: null }));
    const { states } = start(fetchJson);
    FakeSocket.all[0].drop(); // refused during the handshake
    await vi.advanceTimersByTimeAsync(0);
    expect(states.at(-1)).toBe("gone");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("gives up, saying so, when the session has ended", async () => {
    const fetchJson = vi.fn(async () => ({ status: 401, body: { detail: "Authentication credentials were not provided." } }));
    const { states } = start(fetchJson);
    FakeSocket.all[0].drop(); // an anonymous socket is refused during the handshake
    await vi.advanceTimersByTimeAsync(0);
    expect(states.at(-1)).toBe("signed-out");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
