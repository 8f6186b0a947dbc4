// Display formatting: tensor shapes, parameter counts, param values.
import type { NodeSummary, ParamValue, ValidateResult } from "../graph";

type Shape = (number | string | null)[];

function isShapeList(value: unknown): value is Shape[] {
  return Array.isArray(value) && value.length > 0 && Array.isArray(value[0]);
}

/** `["B", 64, 256]` → `(B, 64, 256)`; unknown sizes as `?`. */
export function formatShape(shape: Shape | null | undefined): string {
  if (!shape) return "";
  return `(${shape.map((d) => (d === null || d === undefined ? "?" : String(d))).join(", ")})`;
}

/** The shape of output `output` of a node (multi-output nodes carry a list of shapes). */
export function outputShape(result: ValidateResult | null, node: string, output: number | null): string {
  const shape = result?.shapes?.[node] as unknown;
  if (!shape) return "";
  if (isShapeList(shape)) {
    const item = shape[output ?? 0];
    return item ? formatShape(item) : "";
  }
  return output === null || output === 0 ? formatShape(shape as Shape) : "";
}

/** Every output of a node: `(B, 64, 256)` or `(B, 32, 252) · (B, 32, 252)`. */
export function nodeShapeText(result: ValidateResult | null, node: string): string {
  const shape = result?.shapes?.[node] as unknown;
  if (!shape) return "";
  if (isShapeList(shape)) return shape.map((s) => formatShape(s)).join(" · ");
  return formatShape(shape as Shape);
}

/** The summary row of a node of the drawn graph (parameters, FLOPs/MACs, activations), when validated. */
export function nodeSummary(result: ValidateResult | null, node: string): NodeSummary | undefined {
  return result?.summary?.nodes.find((row) => row.id === node);
}

/** FLOPs with their MACs: "3.6G FLOPs (1.8G MACs)"; "" while unknown. */
export function formatFlops(flops: number | null | undefined, macs: number | null | undefined): string {
  if (flops === null || flops === undefined) return "";
  return `${formatCount(flops)} FLOPs (${formatCount(macs)} MACs)`;
}

/** 2944 → "2.9k", 11_689_512 → "11.7M". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1000) return String(n);
  if (n < 1e6) return `${trim(n / 1e3)}k`;
  if (n < 1e9) return `${trim(n / 1e6)}M`;
  return `${trim(n / 1e9)}G`;
}

function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1).replace(/\.0$/, "");
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${trim(n / 1024)} KiB`;
  if (n < 1024 ** 3) return `${trim(n / 1024 ** 2)} MiB`;
  return `${trim(n / 1024 ** 3)} GiB`;
}

/** A param value as the user types it: `[3, 3]` → `3, 3`, null → "". */
export function formatValue(value: ParamValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map((v) => formatValue(v)).join(", ");
  if (typeof value === "object") return JSON.stringify(value); // a CustomModule's kwargs
  return String(value);
}

/** Compact value for node summaries: `[3, 3]` → `3×3`. */
export function shortValue(value: ParamValue | undefined): string {
  if (value === undefined) return "";
  if (value === null) return "–";
  if (Array.isArray(value)) return value.map((v) => shortValue(v)).join("×");
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
