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
