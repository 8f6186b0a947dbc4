// The chart controls of the run pages: a log-scale toggle and an EMA smoothing slider, put before the chart.
// The chart element says what it shows (data-log-scale, data-smoothing), for people's tools and the tests.
import { type Look, MAX_SMOOTHING } from "../lib/lossSeries";

let made = 0;

/** Add the controls before `chart`; `onChange` gets the new look (and is not called for the first one). */
export function chartControls(chart: HTMLElement, onChange: (look: Look) => void): { look: () => Look; setLogUsable: (usable: boolean) => void } {
  made += 1;
  const id = `chart-controls-${made}`;
  const bar = document.createElement("div");
  bar.className = "chart-controls small muted";
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Chart display");
  bar.innerHTML =
    // Disabled until there is a positive loss to put on a log axis.
    `<label class="check" title="A log scale needs a positive loss"><input type="checkbox" data-chart-log id="${id}-log" disabled> log scale</label>` +
    `<label class="check" for="${id}-smoothing">smoothing</label>` +
    `<input type="range" id="${id}-smoothing" min="0" max="${MAX_SMOOTHING}" step="0.01" value="0" data-chart-smoothing ` +
    `aria-describedby="${id}-smoothing-value" title="Exponential moving average: the raw loss stays faint behind it">` +
    `<output id="${id}-smoothing-value" for="${id}-smoothing" data-chart-smoothing-value>0.00</output>`;
  chart.before(bar);
  const log = bar.querySelector<HTMLInputElement>("[data-chart-log]")!;
  const slider = bar.querySelector<HTMLInputElement>("[data-chart-smoothing]")!;
  const value = bar.querySelector<HTMLOutputElement>("[data-chart-smoothing-value]")!;

  const look = (): Look => ({
    log: log.checked && !log.disabled,
    smoothing: Math.min(MAX_SMOOTHING, Math.max(0, Number(slider.value) || 0)),
  });
  const show = () => {
    const { log: isLog, smoothing } = look();
    chart.dataset.logScale = isLog ? "1" : "0";
    chart.dataset.smoothing = String(smoothing);
    value.textContent = smoothing.toFixed(2);
  };
  const changed = () => {
    show();
    onChange(look());
  };
  log.addEventListener("change", changed);
  slider.addEventListener("input", changed);
  show();
  return {
    look,
    /** A log axis cannot show a curve without a positive value: the toggle waits for one. */
    setLogUsable(usable: boolean) {
      if (log.disabled === !usable) return;
      log.disabled = !usable;
      log.parentElement!.title = usable ? "Logarithmic loss axis" : "A log scale needs a positive loss";
      changed();
    },
  };
}
