// The live loss curve of a run, drawn by uPlot (redrawn at most once per animation frame), with a log-scale
// toggle and EMA smoothing: the raw loss faint behind the smoothed one. The choices live in the page only.
import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { emaSmooth, forLogScale, logScaleUsable, MAX_SMOOTHING } from "./lossSeries";
import { formatNumber } from "./util";

const HEIGHT = 170;

let canvasSupport: boolean | null = null;
/** uPlot needs a 2D canvas (absent in jsdom and some locked-down browsers). */
function canDraw(): boolean {
  if (canvasSupport === null) {
    try {
      canvasSupport = !!document.createElement("canvas").getContext("2d");
    } catch {
      canvasSupport = false;
    }
  }
  return canvasSupport;
}

interface Look {
  log: boolean;
  smoothed: boolean;
}

function options(width: number, look: Look): uPlot.Options {
  const axis = { stroke: "#667085", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#e4e7ec", width: 1 }, size: 40 };
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false }, y: look.log ? { distr: 3 } : {} },
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    axes: [
      { ...axis, label: "step", labelSize: 18 },
      { ...axis, size: 52, values: (_u, values) => values.map((v) => formatNumber(v)) },
    ],
    series: [
      { label: "step" },
      look.smoothed
        ? { label: "loss", stroke: "rgba(238, 76, 44, 0.25)", width: 1, spanGaps: true, points: { show: false } }
        : { label: "loss", stroke: "#ee4c2c", width: 2, spanGaps: true, points: { show: false } },
      { label: "smoothed", show: look.smoothed, stroke: "#ee4c2c", width: 2, spanGaps: true, points: { show: false } },
    ],
  };
}

export function LossChart(props: { steps: number[]; losses: number[] }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const frame = useRef<number | null>(null);
  const [log, setLog] = useState(false);
  const [smoothing, setSmoothing] = useState(0);
  const canLog = logScaleUsable(props.losses);
  const useLog = log && canLog;
  const raw = useMemo(() => (useLog ? forLogScale(props.losses) : props.losses), [props.losses, useLog]);
  const smooth = useMemo(() => (smoothing > 0 ? emaSmooth(raw, smoothing) : raw), [raw, smoothing]);
  const lookKey = `${useLog}/${smoothing > 0}`;
  const drawnLook = useRef(lookKey);
  // What a frame draws is read when it comes (several renders may share one frame).
  const data = useRef<uPlot.AlignedData>([[], [], []]);
  const look = useRef<Look>({ log: useLog, smoothed: smoothing > 0 });

  useEffect(() => {
    data.current = [props.steps, raw, smooth];
    look.current = { log: useLog, smoothed: smoothing > 0 };
    const element = box.current;
    if (!element || !props.steps.length || !canDraw()) return;
    if (frame.current !== null) return;
    const draw = () => {
      frame.current = null;
      try {
        // A new scale or series style needs a new chart; new points only new data.
        const wanted = `${look.current.log}/${look.current.smoothed}`;
        if (chart.current && drawnLook.current !== wanted) {
          chart.current.destroy();
          chart.current = null;
        }
        drawnLook.current = wanted;
        if (!chart.current) chart.current = new uPlot(options(element.clientWidth || 320, look.current), data.current, element);
        else chart.current.setData(data.current);
      } catch {
        // No canvas (tests, very old browsers): the numbers around the chart still tell the story.
      }
    };
    frame.current = typeof requestAnimationFrame === "function" ? requestAnimationFrame(draw) : (draw(), null);
  }, [props.steps, raw, smooth, useLog, smoothing]);

  useEffect(() => {
    const element = box.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (chart.current && element.clientWidth) chart.current.setSize({ width: element.clientWidth, height: HEIGHT });
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(
    () => () => {
      if (frame.current !== null && typeof cancelAnimationFrame === "function") cancelAnimationFrame(frame.current);
      frame.current = null;
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );

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
        data-points={props.steps.length}
        data-log={useLog}
        data-smoothing={smoothing}
        data-last-smoothed={formatNumber(smooth.at(-1))}
        aria-label="Loss per step"
        role="img"
      >
        <div ref={box} />
        {!props.steps.length && <p className="tc-muted tc-small tc-chart-empty">The loss curve appears with the first steps.</p>}
      </div>
    </div>
  );
}
