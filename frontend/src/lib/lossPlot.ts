// A loss chart drawn by uPlot into an element, redrawn at most once per animation frame: the canvas's run
// panel (LossChart.tsx) and the run pages (src/runpages/) draw through it, so the charts look and behave alike.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { type Curve, type Line, type Look, chartLines } from "./lossSeries";
import { formatNumber } from "./numbers";

/** The run pages' series colours, in order (the compare page's swatches take the same). */
export const COLORS = ["#ee4c2c", "#4f46e5", "#0d9488", "#d97706", "#0284c7", "#c026d3", "#65a30d", "#475467"];
/** The validation curve's colour next to a training curve drawn in COLORS[0]. */
export const VALIDATION_COLOR = "#4f46e5";

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

function rgba(hex: string, alpha: number): string {
  if (alpha >= 1) return hex;
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export interface PlotOptions {
  height: number;
  /** The y axis's title ("loss"); none by default. */
  yLabel?: string;
  legend?: boolean;
}

function options(width: number, plot: PlotOptions, look: Look, lines: Line[]): uPlot.Options {
  const axis = { stroke: "#667085", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#e4e7ec", width: 1 } };
  return {
    width,
    height: plot.height,
    scales: { x: { time: false }, y: look.log ? { distr: 3 } : {} },
    legend: { show: plot.legend ?? false },
    cursor: { drag: { x: false, y: false } },
    axes: [
      { ...axis, label: "step", labelSize: 18 },
      { ...axis, label: plot.yLabel, size: 60, values: (_u, values) => values.map((v) => formatNumber(v)) },
    ],
    series: [
      { label: "step" },
      ...lines.map((line) => ({
        label: line.label,
        stroke: rgba(line.color, line.alpha),
        width: line.width,
        dash: line.dash,
        spanGaps: true,
        points: { show: !!line.points, size: 5, fill: line.color },
        value: (_u: uPlot, v: number | null) => (v == null ? "—" : formatNumber(v)),
      })),
    ],
  };
}

/** A chart in `box`; `draw` it as often as the data change. */
export class LossPlot {
  private chart: uPlot | null = null;
  private frame: number | null = null;
  private shape = "";
  private wanted: { curves: readonly Curve[]; look: Look } = { curves: [], look: { log: false, smoothing: 0 } };
  private readonly observer: ResizeObserver | null = null;

  constructor(
    private readonly box: HTMLElement,
    private readonly plot: PlotOptions,
  ) {
    if (typeof ResizeObserver !== "undefined") {
      this.observer = new ResizeObserver(() => {
        if (this.chart && box.clientWidth) this.chart.setSize({ width: box.clientWidth, height: plot.height });
      });
      this.observer.observe(box);
    }
  }

  /** Draw `curves` as `look` says, at the next animation frame (several calls in one frame draw once). */
  draw(curves: readonly Curve[], look: Look): void {
    this.wanted = { curves, look };
    if (this.frame !== null || !canDraw()) return;
    const draw = () => {
      this.frame = null;
      this.render();
    };
    this.frame = typeof requestAnimationFrame === "function" ? requestAnimationFrame(draw) : (draw(), null);
  }

  destroy(): void {
    if (this.frame !== null && typeof cancelAnimationFrame === "function") cancelAnimationFrame(this.frame);
    this.frame = null;
    this.observer?.disconnect();
    this.chart?.destroy();
    this.chart = null;
  }

  private render(): void {
    const { curves, look } = this.wanted;
    if (!curves.some((curve) => curve.steps.length)) return;
    const { xs, lines } = chartLines(curves, look);
    const data = [xs, ...lines.map((line) => line.values)] as uPlot.AlignedData;
    // A new scale, or other lines, need a new chart; new points only new data.
    const shape = `${look.log}/${lines.map((line) => `${line.label}:${line.alpha}`).join("|")}`;
    try {
      if (this.chart && shape !== this.shape) {
        this.chart.destroy();
        this.chart = null;
      }
      this.shape = shape;
      if (!this.chart) this.chart = new uPlot(options(this.box.clientWidth || 600, this.plot, look, lines), data, this.box);
      else this.chart.setData(data);
    } catch {
      // No canvas (very old browsers): the numbers around the chart still tell the story.
    }
  }
}
