// The live loss curve of a run, drawn by uPlot (redrawn at most once per animation frame).
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
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

function options(width: number): uPlot.Options {
  const axis = { stroke: "#667085", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#e4e7ec", width: 1 }, size: 40 };
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false } },
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    axes: [
      { ...axis, label: "step", labelSize: 18 },
      { ...axis, size: 52, values: (_u, values) => values.map((v) => formatNumber(v)) },
    ],
    series: [{ label: "step" }, { label: "loss", stroke: "#ee4c2c", width: 2, spanGaps: true, points: { show: false } }],
  };
}

export function LossChart(props: { steps: number[]; losses: number[] }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const frame = useRef<number | null>(null);
  const data = useRef<uPlot.AlignedData>([[], []]);
  data.current = [props.steps, props.losses];

  useEffect(() => {
    const element = box.current;
    if (!element || !props.steps.length || !canDraw()) return;
    if (frame.current !== null) return;
    const draw = () => {
      frame.current = null;
      try {
        if (!chart.current) chart.current = new uPlot(options(element.clientWidth || 320), data.current, element);
        else chart.current.setData(data.current);
      } catch {
        // No canvas (tests, very old browsers): the numbers around the chart still tell the story.
      }
    };
    frame.current = typeof requestAnimationFrame === "function" ? requestAnimationFrame(draw) : (draw(), null);
  }, [props.steps, props.losses]);

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
    <div className="tc-chart" data-testid="run-chart" data-points={props.steps.length} aria-label="Loss per step" role="img">
      <div ref={box} />
      {!props.steps.length && <p className="tc-muted tc-small tc-chart-empty">The loss curve appears with the first steps.</p>}
    </div>
  );
}
