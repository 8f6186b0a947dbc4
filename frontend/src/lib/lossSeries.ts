// Pure helpers for the loss chart: exponential smoothing (as TensorBoard does it, debiased so that the first
// points are not dragged towards zero) and the values a log scale can show.

/** The smoothing weights the control offers: 0 (off) up to 0.99. */
export const MAX_SMOOTHING = 0.99;

/**
 * The exponential moving average of `values` with weight `weight` (0: the values themselves, towards 1: smoother),
 * debiased by 1 - weight^n. Values that are not finite numbers (a NaN loss, a gap) stay gaps (null) and do
 * not enter the average.
 */
export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!Number.isFinite(weight) || weight < 0 || weight >= 1) {
    throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  }
  let last = 0;
  let count = 0;
  return values.map((value) => {
    if (value === null || !Number.isFinite(value)) return null;
    last = last * weight + (1 - weight) * value;
    count += 1;
    const debias = weight === 0 ? 1 : 1 - weight ** count;
    return last / debias;
  });
}

/** The values a logarithmic axis can draw: zero, negative and non-finite ones become gaps (null). */
export function forLogScale(values: readonly (number | null)[]): (number | null)[] {
  return values.map((value) => (value !== null && Number.isFinite(value) && value > 0 ? value : null));
}

/** Whether a log scale would show anything at all (at least one positive loss). */
export function logScaleUsable(values: readonly (number | null)[]): boolean {
  return values.some((value) => value !== null && Number.isFinite(value) && value > 0);
}

/** One curve to draw: a run's training loss, or its validation loss per epoch (few points, drawn as they are). */
export interface Curve {
  label: string;
  steps: readonly number[];
  values: readonly number[];
  color: string;
  validation?: boolean;
}

/** How the chart shows its curves: a log y axis, EMA smoothing weight (0: off). */
export interface Look {
  log: boolean;
  smoothing: number;
}

/** One line uPlot draws: its values (aligned with the x column) and its style. */
export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  width: number;
  /** 0..1; the raw curve is faint behind its smoothed one. */
  alpha: number;
  dash?: number[];
  points?: boolean;
}

/** The sorted union of the curves' steps, and each curve's values at those steps (null where it has none). */
export function alignCurves(curves: readonly Curve[]): { xs: number[]; columns: (number | null)[][] } {
  const xs = [...new Set(curves.flatMap((c) => c.steps))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = curves.map((curve) => {
    const column: (number | null)[] = new Array(xs.length).fill(null);
    curve.steps.forEach((step, i) => {
      column[index.get(step)!] = curve.values[i];
    });
    return column;
  });
  return { xs, columns };
}

/**
 * The x column and lines of a chart of `curves` under `look`. A training curve becomes its raw line, plus a
 * smoothed line over it when smoothing is on (the raw one then faint, as W&B and TensorBoard draw them);
 * a validation curve is drawn as measured, dashed with its points. On a log axis, values it cannot show are gaps.
 */
export function chartLines(curves: readonly Curve[], look: Look): { xs: number[]; lines: Line[] } {
  const { xs, columns } = alignCurves(curves);
  const lines: Line[] = [];
  curves.forEach((curve, i) => {
    const raw = look.log ? forLogScale(columns[i]) : columns[i];
    if (curve.validation) {
      lines.push({ label: curve.label, values: raw, color: curve.color, width: 2, alpha: 1, dash: [6, 4], points: true });
      return;
    }
    const smoothed = look.smoothing > 0;
    lines.push({ label: curve.label, values: raw, color: curve.color, width: smoothed ? 1 : 2, alpha: smoothed ? 0.25 : 1 });
    if (smoothed) lines.push({ label: `${curve.label} (smoothed)`, values: emaSmooth(raw, look.smoothing), color: curve.color, width: 2, alpha: 1 });
  });
  return { xs, lines };
}
