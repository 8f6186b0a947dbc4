import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type RunMessage,
  RunStream,
  STATUS_LABELS,
  STATUS_TONES,
  applyRunMessage,
  connectionNote,
  emptyRunView,
  progressText,
} from "./runStream";
import { FakeSocket } from "./testSocket";

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

type FetchJson = (url: string) => Promise<{ status: number; body: unknown }>;

/** A stream of run 7 on fake sockets; what it passed on and the states it went through. */
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

describe("RunStream", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

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

describe("the protocol's additions (pause, epochs, checkpoints)", () => {
  it("shows a paused run as paused, not ended, and follows its resume", () => {
    const paused = fold([
      { type: "status", seq: 1, status: "running" },
      { type: "progress", seq: 2, step: 40, total: 100, loss: 1, elapsed_s: 4 },
      { type: "status", seq: 3, status: "paused", step: 40 },
    ]);
    expect(paused.status).toBe("paused");
    expect(STATUS_LABELS.paused).toBe("Paused");
    expect(STATUS_TONES.paused).toBe("warn");
    expect(progressText(paused)).toBe("step 40 / 100 · 4.0 s"); // no time left is promised while it waits
    const resumed = [
      { type: "status", seq: 4, status: "queued" },
      { type: "status", seq: 5, status: "running" },
    ].reduce(applyRunMessage, paused);
    expect(resumed.status).toBe("running");
  });

  it("keeps the latest loss of a step repeated after a resume, and not an older one filled in late", () => {
    const view = fold([
      { type: "progress", seq: 2, step: 5, total: 10, loss: 3 },
      { type: "progress", seq: 3, step: 6, total: 10, loss: 2.5 },
      { type: "checkpoint", seq: 4, step: 4, epoch: 1 },
      { type: "progress", seq: 6, step: 5, total: 10, loss: 2.9 }, // resumed from the checkpoint at step 4
      { type: "progress", seq: 1, step: 5, total: 10, loss: 9 }, // an old event, filled in late
    ]);
    expect(view.steps).toEqual([5, 6]);
    expect(view.losses).toEqual([2.9, 2.5]);
    expect(view.step).toBe(5);
    expect(view.checkpointStep).toBe(4);
  });

  it("collects the validation loss per epoch at its step, with the figures of the latest epoch", () => {
    const view = fold([
      { type: "epoch", seq: 3, epoch: 1, epochs: 3, step: 50, train_loss: 1.2, val_loss: 1.4, val_accuracy: 0.61, val_mae: null, best: true },
      { type: "epoch", seq: 5, epoch: 2, epochs: 3, step: 100, train_loss: 0.9, val_loss: 1.5, val_accuracy: 0.58, val_mae: null, best: false },
      { type: "checkpoint", seq: 6, step: 100, epoch: 2 },
    ]);
    expect(view.valSteps).toEqual([50, 100]);
    expect(view.valLosses).toEqual([1.4, 1.5]);
    expect(view.valLoss).toBe(1.5);
    expect(view.valAccuracy).toBe(0.58);
    expect(view.valMae).toBeNull();
    expect(view.bestEpoch).toBe(1);
    expect(view.epoch).toBe(2);
    expect(view.epochs).toBe(3);
    expect(view.checkpointStep).toBe(100);
  });

  it("takes the step of an epoch's end that came after the last (throttled) progress message", () => {
    const view = fold([
      { type: "progress", seq: 3, step: 1, total: 30, epoch: 1, loss: 2.5 },
      { type: "epoch", seq: 4, epoch: 1, epochs: 3, step: 10, train_loss: 1.2, val_loss: 1.4, val_accuracy: 0.6, val_mae: null, best: true },
      { type: "progress", seq: 2, step: 0, total: 30, epoch: 1, loss: 2.9 }, // older, filled in late
    ]);
    expect(progressText(view)).toMatch(/^step 10 \/ 30 · epoch 1 \/ 3/);
  });

  it("merges the final validation curve of done with the epochs it has seen", () => {
    const view = fold([
      { type: "epoch", seq: 1, epoch: 1, epochs: 2, step: 10, val_loss: 0.7, val_mae: 0.3 },
      { type: "done", seq: 2, metrics: { val_curve: [[10, 0.7], [20, 0.5], [30, "x"]], val_loss: 0.5, val_mae: 0.2, best_epoch: 2 } },
    ]);
    expect(view.valSteps).toEqual([10, 20]);
    expect(view.valLosses).toEqual([0.7, 0.5]);
    expect(view.valMae).toBe(0.2);
    expect(view.bestEpoch).toBe(2);
  });

  it("says what a page should say about its connection", () => {
    expect(connectionNote("down", 4200)).toEqual({ text: "reconnecting in 4 s…", tone: "down" });
    expect(connectionNote("revoked")).toEqual({ text: "access removed: reload", tone: "down" });
    expect(connectionNote("live").tone).toBe("live");
  });
});

describe("RunStream and the protocol's additions", () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  function open() {
    const started = start();
    FakeSocket.all[0].open();
    return started;
  }

  it("keeps listening through a pause, and reconnects if the socket drops meanwhile", async () => {
    const { messages, states } = open();
    const socket = FakeSocket.all[0];
    socket.send({ type: "status", seq: 1, status: "running" });
    socket.send({ type: "status", seq: 2, status: "paused", step: 3 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(states).not.toContain("finished");
    expect(socket.closed).toBe(false);
    socket.drop();
    await vi.advanceTimersByTimeAsync(2000);
    const again = FakeSocket.all[1];
    again.open();
    [1, 2].forEach((seq) => again.send({ type: "status", seq, status: seq === 1 ? "running" : "paused" })); // replayed history
    again.send({ type: "status", seq: 3, status: "queued" });
    again.send({ type: "status", seq: 4, status: "running" });
    expect(messages.map((m) => m.status)).toEqual(["running", "paused", "queued", "running"]);
  });

  it("de-duplicates epochs and checkpoints replayed after a reconnect", async () => {
    const { messages } = open();
    const epoch = { type: "epoch", seq: 1, epoch: 1, epochs: 2, step: 10, val_loss: 0.5 };
    const checkpoint = { type: "checkpoint", seq: 2, step: 10, epoch: 1 };
    FakeSocket.all[0].send(epoch);
    FakeSocket.all[0].send(checkpoint);
    FakeSocket.all[0].drop();
    await vi.advanceTimersByTimeAsync(2000);
    FakeSocket.all[1].open();
    FakeSocket.all[1].send(epoch);
    FakeSocket.all[1].send(checkpoint);
    expect(messages.map((m) => m.type)).toEqual(["epoch", "checkpoint"]);
  });

  it("stops for good when the server says access was removed (close code 4403)", async () => {
    const { states } = open();
    FakeSocket.all[0].drop(4403);
    expect(states.at(-1)).toBe("revoked");
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
