// [data-runs-live]: lists of runs (runs page, dashboard, a graph's pages). The per-user stream /ws/runs/ says
// when one of the person's runs changed; its row is updated in place, and a list that lacks the run (queued
// elsewhere) is fetched again once.
import { LiveSocket, socketUrl } from "../lib/liveSocket";
import { formatNumber } from "../lib/numbers";
import { setBadge } from "./badge";
import { swapFromServer } from "./htmx";

interface RunRow {
  id: number;
  status: string;
  step?: number | null;
  total?: number | null;
  loss?: number | null;
}

export function updateRow(row: Element, run: RunRow): void {
  setBadge(row.querySelector('[data-field="status"]'), run.status);
  const total = run.total || 0;
  const step = run.status === "succeeded" && total ? total : run.step || 0;
  const fill = row.querySelector<HTMLElement>('[data-field="progress"]');
  if (fill && total) fill.style.width = `${Math.min(100, (100 * step) / total)}%`;
  const steps = row.querySelector('[data-field="step"]');
  if (steps && total) steps.textContent = `${step}/${total}`;
  const loss = row.querySelector('[data-field="loss"]');
  if (loss && typeof run.loss === "number") loss.textContent = formatNumber(run.loss);
}

export function initRunLists(): LiveSocket {
  const refreshed = new Set<number>();
  const socket = new LiveSocket({
    url: socketUrl("/ws/runs/"),
    onMessage(message) {
      const run = message.run as RunRow | undefined;
      if (message.type !== "run" || !run || !Number.isInteger(run.id)) return;
      const rows = document.querySelectorAll(`[data-runs-live] [data-run-id="${run.id}"]`);
      rows.forEach((row) => updateRow(row, run));
      if (rows.length || refreshed.has(run.id)) return;
      refreshed.add(run.id);
      document.querySelectorAll<HTMLElement>("[data-runs-live][data-refresh-url]").forEach((box) => {
        if (box.id) void swapFromServer(box.id, box.dataset.refreshUrl!);
      });
    },
  });
  socket.start();
  return socket;
}
