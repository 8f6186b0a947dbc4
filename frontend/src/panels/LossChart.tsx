// The live loss curve of a run in the canvas's run panel, with a log-scale toggle and EMA smoothing (the raw
// loss faint behind the smoothed one) and the validation loss per epoch; drawn by the shared LossPlot.
// The choices live in the page only.
import { useEffect, useMemo, useRef, useState } from "react";
import { LossPlot, COLORS, VALIDATION_COLOR } from "../lib/lossPlot";
import { type Curve, emaSmooth, forLogScale, logScaleUsable, MAX_SMOOTHING } from "../lib/lossSeries";
import { formatNumber } from "../lib/numbers";

const HEIGHT = 170;
const NONE: number[] = [];

export function LossChart(props: { steps: number[]; losses: number[]; valSteps?: number[]; valLosses?: number[] }) {
  const { steps, losses } = props;
  const valSteps = props.valSteps ?? NONE;
  const valLosses = props.valLosses ?? NONE;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<LossPlot | null>(null);
  const [log, setLog] = useState(false);
  const [smoothing, setSmoothing] = useState(0);
  const canLog = logScaleUsable(losses) || logScaleUsable(valLosses);
  const useLog = log && canLog;
  const smooth = useMemo(() => {
    const raw = useLog ? forLogScale(losses) : losses;
    return smoothing > 0 ? emaSmooth(raw, smoothing) : raw;
  }, [losses, useLog, smoothing]);

  useEffect(() => {
    if (!box.current) return;
    const created = new LossPlot(box.current, { height: HEIGHT });
    plot.current = created;
    return () => {
      created.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    const curves: Curve[] = [{ label: "loss", steps, values: losses, color: COLORS[0] }];
    if (valSteps.length) curves.push({ label: "validation loss", steps: valSteps, values: valLosses, color: VALIDATION_COLOR, validation: true });
    plot.current?.draw(curves, { log: useLog, smoothing });
  }, [steps, losses, valSteps, valLosses, useLog, smoothing]);

  return (
    <div className="tc-chart-block">
      <div className="tc-chart-controls tc-small tc-muted">
        <label className="tc-check" title={canLog ? "Logarithmic loss axis" : "A log scale needs a positive loss"}>
          <input type="checkbox" checked={useLog} disabled={!canLog} onChange={(e) => setLog(e.target.checked)} data-testid="chart-log" />
          log scale
        </label>
        <label className="tc-check" title="Exponential moving average: the raw loss stays faint behind it">
          smoothing
          <input
            type="range"
            min={0}
            max={MAX_SMOOTHING}
            step={0.01}
            value={smoothing}
            onChange={(e) => setSmoothing(Math.min(MAX_SMOOTHING, Math.max(0, Number(e.target.value) || 0)))}
            data-testid="chart-smoothing"
            aria-label="Smoothing"
          />
          <output data-testid="chart-smoothing-value">{smoothing.toFixed(2)}</output>
        </label>
      </div>
      <div
        className="tc-chart"
        data-testid="run-chart"
        data-points={steps.length}
        data-val-points={valSteps.length}
        data-log={useLog}
        data-smoothing={smoothing}
        data-last-smoothed={formatNumber(smooth.at(-1))}
        aria-label="Loss per step"
        role="img"
      >
        <div ref={box} />
        {!steps.length && <p className="tc-muted tc-small tc-chart-empty">The loss curve appears with the first steps.</p>}
      </div>
    </div>
  );
}
