// A run page's loss chart: the shared LossPlot with the page's controls, drawing curves as they change.
import { LossPlot } from "../lib/lossPlot";
import { type Curve, logScaleUsable } from "../lib/lossSeries";
import { chartControls } from "./chartControls";

export function pageChart(box: HTMLElement, height: number): (curves: readonly Curve[]) => void {
  const plot = new LossPlot(box, { height, yLabel: "loss", legend: true });
  let curves: readonly Curve[] = [];
  const controls = chartControls(box, (look) => plot.draw(curves, look));
  return (next) => {
    curves = next;
    const empty = box.querySelector<HTMLElement>("[data-chart-empty]");
    if (empty && curves.some((curve) => curve.steps.length)) empty.hidden = true;
    controls.setLogUsable(curves.some((curve) => logScaleUsable(curve.values)));
    plot.draw(curves, controls.look());
  };
}
