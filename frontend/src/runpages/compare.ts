// [data-compare-chart]: the compare page's overlaid loss curves (and any page using the same markup: the
// element, and a json_script "run-curves" of [{label, points: [[step, loss], ...], val_points?: [...]}]).
// Swatches [data-series="i"] take the colour of curve i.
import { COLORS } from "../lib/lossPlot";
import type { Curve } from "../lib/lossSeries";
import { pageChart } from "./lossChart";

interface CurveData {
  label?: string;
  points?: unknown;
  /** The run's validation loss per epoch, drawn dashed in the run's colour. */
  val_points?: unknown;
}

function columns(points: unknown): { steps: number[]; values: number[] } {
  const valid = (Array.isArray(points) ? points : []).filter(
    (p): p is [number, number] => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]),
  );
  return { steps: valid.map((p) => p[0]), values: valid.map((p) => p[1]) };
}

/** The curves of a "run-curves" list: each run's loss, then its validation loss when it has one. */
export function compareCurves(data: CurveData[]): Curve[] {
  return data.flatMap((run, i) => {
    const color = COLORS[i % COLORS.length];
    const label = run.label ?? `run ${i + 1}`;
    const curves: Curve[] = [{ label, color, ...columns(run.points) }];
    const val = columns(run.val_points);
    if (val.steps.length) curves.push({ label: `${label} (validation)`, color, validation: true, ...val });
    return curves;
  });
}

export function initCompare(box: HTMLElement): void {
  const source = document.getElementById("run-curves");
  let data: unknown = [];
  try {
    data = JSON.parse(source?.textContent || "[]");
  } catch {
    // Nothing to draw: the empty note stays.
  }
  document.querySelectorAll<HTMLElement>("[data-series]").forEach((swatch) => {
    swatch.style.background = COLORS[Number(swatch.dataset.series) % COLORS.length];
  });
  const curves = compareCurves(Array.isArray(data) ? data : []);
  const train = curves.filter((curve) => !curve.validation);
  box.dataset.points = String(train.reduce((n, curve) => n + curve.steps.length, 0));
  box.dataset.valPoints = String(curves.filter((curve) => curve.validation).reduce((n, curve) => n + curve.steps.length, 0));
  if (!curves.some((curve) => curve.steps.length)) return;
  pageChart(box, 340)(curves);
}
