// [data-run-live]: one run's page. Its stream (lib/runStream.ts) is folded into a RunView by the same
// applyRunMessage the canvas's run panel uses; this module only shows the view in the server's markup.
import { COLORS, VALIDATION_COLOR } from "../lib/lossPlot";
import type { Curve } from "../lib/lossSeries";
import { socketUrl } from "../lib/liveSocket";
import { formatBytes, formatNumber } from "../lib/numbers";
import {
  type RunMessage,
  RunStream,
  type RunView,
  type StreamState,
  TERMINAL,
  applyRunMessage,
  connectionNote,
  emptyRunView,
  isRunStatus,
  progressText,
} from "../lib/runStream";
import { setBadge } from "./badge";
import { swapFromServer } from "./htmx";
import { pageChart } from "./lossChart";

export function initRunPage(root: HTMLElement): RunStream {
  const $ = <T extends HTMLElement = HTMLElement>(selector: string) => root.querySelector<T>(selector);
  const chartBox = $("[data-loss-chart]");
  const draw = chartBox ? pageChart(chartBox, 300) : null;
  let view: RunView = {
    ...emptyRunView(),
    status: isRunStatus(root.dataset.status) ? root.dataset.status : null,
    total: Number(root.dataset.total) || null,
  };
  let sawProgress = false;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;

  const ended = () => view.status !== null && TERMINAL.includes(view.status);

  function conn(state: StreamState, retryInMs?: number) {
    const el = $("[data-conn]");
    if (!el) return;
    const { text, tone } = connectionNote(state === "live" && ended() ? "finished" : state, retryInMs);
    el.textContent = text;
    el.className = tone ? `conn conn-${tone}` : "conn";
  }

  function stat(name: string, text: string | null) {
    const el = $(`[data-stat="${name}"]`);
    if (!el) return;
    el.textContent = text ?? "—";
    // Slots that only some runs fill (validation figures) stay hidden until they have a value.
    const slot = el.closest<HTMLElement>("[data-stat-slot]");
    if (slot && text !== null) slot.hidden = false;
  }

  /* The summary panel (status, metrics, pause/resume/cancel) is server-rendered: fetch it again when it is behind. */
  function refreshSummary(force: boolean, tries = 0) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      const summary = document.getElementById("run-summary");
      const url = root.dataset.summaryUrl;
      if (!summary || !url || (!force && summary.dataset.status === view.status)) return;
      void swapFromServer("run-summary", url)?.then(() => {
        const fresh = document.getElementById("run-summary");
        // The event may be ahead of the database row by a moment: look again, a few times.
        if (fresh && fresh.dataset.status !== view.status && tries < 3) refreshSummary(true, tries + 1);
      });
    }, 250 + 750 * tries);
  }

  function showProgress() {
    const total = view.total;
    const step = view.status === "succeeded" && total ? total : view.step;
    const percent = total ? Math.max(0, Math.min(100, (100 * step) / total)) : 0;
    const fill = $("[data-progress-fill]");
    if (fill) fill.style.width = `${percent}%`;
    $("[data-progress]")?.setAttribute("aria-valuenow", String(Math.round(percent)));
    const text = progressText(view);
    const line = $("[data-progress-text]");
    if (text && line) line.textContent = text;
  }

  function showStats() {
    stat("loss", formatNumber(view.loss));
    stat("samples_per_s", formatNumber(view.samplesPerS));
    stat("step_time_ms", view.stepTimeMs !== null ? `${formatNumber(view.stepTimeMs)} ms` : "—");
    stat("memory_bytes", formatBytes(view.memoryBytes));
    stat("val_loss", view.valLoss !== null ? formatNumber(view.valLoss) : null);
    stat("val_accuracy", view.valAccuracy !== null ? `${formatNumber(100 * view.valAccuracy)} %` : null);
    stat("val_mae", view.valMae !== null ? formatNumber(view.valMae) : null);
    const note = $("[data-checkpoint]");
    if (note && view.checkpointStep !== null) {
      note.textContent = `last checkpoint: step ${view.checkpointStep}`;
      note.hidden = false;
    }
  }

  function showChart() {
    if (!draw || !chartBox) return;
    const curves: Curve[] = [{ label: "loss", steps: view.steps, values: view.losses, color: COLORS[0] }];
    if (view.valSteps.length) {
      curves.push({ label: "validation loss", steps: view.valSteps, values: view.valLosses, color: VALIDATION_COLOR, validation: true });
    }
    draw(curves);
    // How many points there are to draw (read by the browser tests).
    if (view.steps.length) chartBox.dataset.points = String(view.steps.length);
    chartBox.dataset.valPoints = String(view.valSteps.length);
  }

  function apply(message: RunMessage) {
    const before = view;
    view = applyRunMessage(view, message);
    if (view.status !== before.status) {
      setBadge($("[data-run-status]"), view.status);
      refreshSummary(false);
      if (ended()) {
        conn("finished");
        const note = $("[data-chart-note]");
        if (note) note.textContent = "per step";
      }
    }
    if (message.type === "progress") {
      if (!sawProgress && view.status === "running") refreshSummary(true); // device and versions are known now
      sawProgress = true;
    } else if (message.type === "done") {
      refreshSummary(true);
    } else if (message.type === "error") {
      const box = $("[data-live-error]");
      if (box) {
        box.textContent = view.error;
        box.hidden = false;
      }
      refreshSummary(true);
    }
    showProgress();
    showStats();
    if (view.steps !== before.steps || view.valSteps !== before.valSteps) showChart();
  }

  const stream = new RunStream({
    url: socketUrl(root.dataset.wsPath ?? ""),
    eventsUrl: root.dataset.eventsUrl || undefined,
    onMessage: apply,
    onState: conn,
    lingerMs: 3000, // the done/error event may follow the terminal status: keep listening a moment
  });
  stream.start();
  return stream;
}
