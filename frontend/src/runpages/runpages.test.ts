import "../panels/testSetup";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeSocket } from "../lib/testSocket";
import { compareCurves, initCompare } from "./compare";
import { initRunLists } from "./runLists";
import { initRunPage } from "./runPage";

// The markup of templates/training/run_detail.html that the script reads and writes.
const RUN_PAGE = `
<div id="run-live" data-run-live data-ws-path="/ws/runs/7/" data-events-url="/api/runs/7/events/" data-summary-url="/runs/7/" data-status="queued" data-total="100">
  <span class="badge badge-muted" data-run-status>Queued</span>
  <span class="conn" data-conn>connecting…</span>
  <span data-progress-text></span>
  <div data-progress><div data-progress-fill></div></div>
  <dl>
    <div><dd data-stat="loss">—</dd></div>
    <div data-stat-slot hidden><dd data-stat="val_loss">—</dd></div>
    <div data-stat-slot hidden><dd data-stat="val_accuracy">—</dd></div>
    <div data-stat-slot hidden><dd data-stat="val_mae">—</dd></div>
  </dl>
  <p data-checkpoint hidden></p>
  <span data-chart-note>per step, live</span>
  <div data-loss-chart><p data-chart-empty>Waiting…</p></div>
  <p data-live-error hidden></p>
</div>`;

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ results: [], next: null }))));
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

const $ = (selector: string) => document.querySelector<HTMLElement>(selector)!;

describe("the run page", () => {
  function page() {
    document.body.innerHTML = RUN_PAGE;
    const stream = initRunPage($("[data-run-live]"));
    const socket = FakeSocket.all[0];
    socket.open();
    return { stream, socket };
  }

  it("follows a run through a pause, its epochs and checkpoints", () => {
    const { stream, socket } = page();
    expect(socket.url).toBe("ws://localhost:3000/ws/runs/7/");
    expect($("[data-conn]").textContent).toBe("● live");
    socket.send({ type: "status", seq: 1, status: "running" });
    socket.send({ type: "progress", seq: 2, step: 10, total: 100, loss: 2.5, elapsed_s: 1 });
    socket.send({ type: "progress", seq: 3, step: 20, total: 100, loss: 2, elapsed_s: 2 });
    expect($("[data-loss-chart]").dataset.points).toBe("2");
    expect($("[data-stat='loss']").textContent).toBe("2");
    expect($("[data-progress-fill]").style.width).toBe("20%");
    expect($("[data-stat='val_loss']").closest("div")!.hidden).toBe(true);

    socket.send({ type: "epoch", seq: 4, epoch: 1, epochs: 5, step: 20, train_loss: 2, val_loss: 2.2, val_accuracy: 0.415, val_mae: null, best: true });
    socket.send({ type: "checkpoint", seq: 5, step: 20, epoch: 1 });
    socket.send({ type: "status", seq: 6, status: "paused", step: 20 });
    expect($("[data-stat='val_loss']").textContent).toBe("2.2");
    expect($("[data-stat='val_accuracy']").textContent).toBe("41.5 %");
    expect($("[data-stat='val_accuracy']").closest("div")!.hidden).toBe(false);
    expect($("[data-stat='val_mae']").closest("div")!.hidden).toBe(true);
    expect($("[data-loss-chart]").dataset.valPoints).toBe("1");
    expect($("[data-checkpoint]").textContent).toBe("last checkpoint: step 20");
    expect($("[data-checkpoint]").hidden).toBe(false);
    const badge = $("[data-run-status]");
    expect(badge.textContent).toBe("Paused");
    expect(badge.className).toBe("badge badge-warn");
    expect($("[data-progress-text]").textContent).toBe("step 20 / 100 · epoch 1 / 5 · 2.0 s");
    expect($("[data-conn]").textContent).toBe("● live"); // a pause is not the end
    expect(socket.closed).toBe(false);

    socket.send({ type: "status", seq: 7, status: "queued" });
    socket.send({ type: "status", seq: 8, status: "running" });
    socket.send({ type: "status", seq: 9, status: "cancelled" });
    expect(badge.textContent).toBe("Cancelled");
    expect($("[data-conn]").textContent).toBe("finished");
    expect($("[data-chart-note]").textContent).toBe("per step");
    expect($("[data-progress-text]").textContent).toBe("cancelled at step 20 / 100");
    stream.stop();
  });

  it("offers a log scale and smoothing, and says which it shows", () => {
    const { stream, socket } = page();
    const chart = $("[data-loss-chart]");
    const log = $("[data-chart-log]") as HTMLInputElement;
    const smoothing = $("[data-chart-smoothing]") as HTMLInputElement;
    expect(chart.dataset.logScale).toBe("0");
    expect(chart.dataset.smoothing).toBe("0");
    expect(log.disabled).toBe(true); // nothing to draw on a log axis yet
    expect(smoothing.id && document.querySelector(`label[for="${smoothing.id}"]`)?.textContent).toBe("smoothing");

    socket.send({ type: "progress", seq: 1, step: 1, total: 100, loss: 0 });
    expect(log.disabled).toBe(true); // a zero loss cannot go on a log axis
    socket.send({ type: "progress", seq: 2, step: 2, total: 100, loss: 0.5 });
    expect(log.disabled).toBe(false);
    log.click();
    expect(chart.dataset.logScale).toBe("1");
    smoothing.value = "0.6";
    smoothing.dispatchEvent(new Event("input"));
    expect(chart.dataset.smoothing).toBe("0.6");
    expect($("[data-chart-smoothing-value]").textContent).toBe("0.60");
    expect($("[data-chart-empty]").hidden).toBe(true);
    stream.stop();
  });

  it("says so, and stops, when access to the run was removed", () => {
    const { socket } = page();
    socket.drop(4403);
    expect($("[data-conn]").textContent).toBe("access removed: reload");
    expect(FakeSocket.all).toHaveLength(1);
  });
});

describe("lists of runs", () => {
  it("update a row in place from the per-user stream", () => {
    document.body.innerHTML = `<div id="run-rows" data-runs-live data-refresh-url="/runs/">
      <div data-run-id="3"><span class="badge badge-muted" data-field="status">Queued</span><span data-field="progress"></span>
      <span data-field="step"></span><span data-field="loss"></span></div></div>`;
    const socket = initRunLists();
    FakeSocket.all[0].open();
    expect(FakeSocket.all[0].url).toBe("ws://localhost:3000/ws/runs/");
    FakeSocket.all[0].send({ type: "run", run: { id: 3, status: "paused", step: 30, total: 120, loss: 0.123456 } });
    expect($("[data-field='status']").textContent).toBe("Paused");
    expect($("[data-field='status']").className).toBe("badge badge-warn");
    expect($("[data-field='step']").textContent).toBe("30/120");
    expect($("[data-field='progress']").style.width).toBe("25%");
    expect($("[data-field='loss']").textContent).toBe("0.1235");
    socket.stop();
  });
});

describe("the compare chart", () => {
  it("draws each run's loss and, when it has one, its validation loss in the same colour", () => {
    const curves = compareCurves([
      { label: "#1", points: [[1, 2], [2, 1]], val_points: [[2, 1.5]] },
      { label: "#2", points: [[1, 3], [2, "bad"]] },
    ]);
    expect(curves.map((c) => [c.label, c.steps, c.values, c.color, !!c.validation])).toEqual([
      ["#1", [1, 2], [2, 1], "#ee4c2c", false],
      ["#1 (validation)", [2], [1.5], "#ee4c2c", true],
      ["#2", [1], [3], "#4f46e5", false],
    ]);
  });

  it("keeps its markup contract: [data-compare-chart] and the json_script run-curves", () => {
    document.body.innerHTML = `<span data-series="1"></span><div data-compare-chart><p data-chart-empty>None</p></div>
      <script id="run-curves" type="application/json">[{"label": "#1", "points": [[1, 2], [2, 1]]}, {"label": "#2", "points": [[1, 3]]}]</script>`;
    initCompare($("[data-compare-chart]"));
    const chart = $("[data-compare-chart]");
    expect(chart.dataset.points).toBe("3");
    expect(chart.dataset.valPoints).toBe("0");
    expect($("[data-series='1']").style.background).toBe("rgb(79, 70, 229)");
    (document.querySelector("[data-chart-log]") as HTMLInputElement).click();
    expect(chart.dataset.logScale).toBe("1");
  });
});
