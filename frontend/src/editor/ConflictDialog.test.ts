import { expect, it } from "vitest";
import { summarizeDiff } from "./ConflictDialog";

it("says a change of the outputs in either form", () => {
  expect(summarizeDiff({ inputs: { old: ["x"], new: [] }, outputs: { old: ["fc"], new: { logits: "fc", std: "fork:1" } } })).toEqual([
    "inputs: x → none",
    "outputs: fc → logits → fc, std → fork:1",
  ]);
});
