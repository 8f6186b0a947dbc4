import "./testSetup";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { LossChart } from "./LossChart";

afterEach(cleanup);

describe("LossChart controls", () => {
  it("smooths the curve with the slider and toggles a log scale", () => {
    render(<LossChart steps={[1, 2, 3]} losses={[4, 2, 0]} />);
    const chart = screen.getByTestId("run-chart");
    expect(chart.getAttribute("data-smoothing")).toBe("0");
    expect(chart.getAttribute("data-last-smoothed")).toBe("0"); // unsmoothed: the last loss itself

    fireEvent.change(screen.getByTestId("chart-smoothing"), { target: { value: "0.5" } });
    expect(chart.getAttribute("data-smoothing")).toBe("0.5");
    expect(screen.getByTestId("chart-smoothing-value").textContent).toBe("0.50");
    expect(chart.getAttribute("data-last-smoothed")).toBe("1.143"); // (1 / 0.875), the debiased EMA

    const log = screen.getByTestId("chart-log") as HTMLInputElement;
    expect(log.disabled).toBe(false);
    fireEvent.click(log);
    expect(chart.getAttribute("data-log")).toBe("true");
    // On a log axis the zero loss is a gap: the smoothed curve ends on the points it can show.
    expect(chart.getAttribute("data-last-smoothed")).toBe("—");
  });

  it("offers no log scale when no loss is positive", () => {
    render(<LossChart steps={[1, 2]} losses={[0, -1]} />);
    expect((screen.getByTestId("chart-log") as HTMLInputElement).disabled).toBe(true);
  });
});
