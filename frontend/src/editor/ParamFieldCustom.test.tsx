// The CustomModule's params in the properties panel: `kwargs` is a JSON object typed as text, `output_shape` a
// list of sizes where -1 copies the input's size.
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ParamSpec, ParamValue } from "../graph";
import { REGISTRY } from "../test/registry";
import { ParamField } from "./ParamField";

const spec = (name: string): ParamSpec => REGISTRY.nodes.find((n) => n.type === "CustomModule")!.params.find((p) => p.name === name)!;

function field(name: string, value: ParamValue | undefined) {
  const onChange = vi.fn();
  render(<ParamField nodeId="gate" spec={spec(name)} value={value} isSet={value !== undefined} readOnly={false} serverErrors={[]} onChange={onChange} onDone={() => undefined} />);
  return { input: screen.getByTestId(`param-${name}`) as HTMLInputElement, onChange };
}

afterEach(cleanup);

describe("CustomModule params", () => {
  it("shows kwargs as JSON and commits the object typed", () => {
    const { input, onChange } = field("kwargs", { dim: 16, scale: 0.5 });
    expect(input.value).toBe('{"dim":16,"scale":0.5}');
    fireEvent.change(input, { target: { value: '{"dim": 32, "kernel": [1, 3], "bias": false}' } });
    expect(onChange).toHaveBeenLastCalledWith({ dim: 32, kernel: [1, 3], bias: false });
  });

  it("explains text that is not a JSON object and does not apply it", () => {
    const { input, onChange } = field("kwargs", undefined);
    expect(input.placeholder).toBe("{}");
    for (const text of ["{dim: 16}", "[1, 2]", "16"]) {
      fireEvent.change(input, { target: { value: text } });
      expect(screen.getByTestId("param-error").textContent).toBe('Expected a JSON object, e.g. {"dim": 16, "scale": 0.5}.');
    }
    expect(onChange).not.toHaveBeenCalled();
  });

  it("reads output_shape as sizes, -1 included", () => {
    const { input, onChange } = field("output_shape", [8]);
    expect(input.value).toBe("8");
    fireEvent.change(input, { target: { value: "-1, 7, 7" } });
    expect(onChange).toHaveBeenLastCalledWith([-1, 7, 7]);
    cleanup();
    field("output_shape", [-2, 7]);
    expect(screen.getByTestId("param-error").textContent).toBe("Must be ≥ -1.");
  });

  it("takes the class path as text", () => {
    const { input, onChange } = field("class", undefined);
    fireEvent.change(input, { target: { value: "my_pkg.layers.Gate" } });
    expect(onChange).toHaveBeenLastCalledWith("my_pkg.layers.Gate");
  });
});
