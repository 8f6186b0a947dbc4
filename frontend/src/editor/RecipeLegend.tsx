// The legend of the training recipe's groups over the canvas: Model, Loss, Metrics (and Targets) with their
// colours and node counts. Shown once a graph has more than a model: a loss, a metric or a Target.
import { useMemo } from "react";
import type { GraphDoc } from "../graph";
import { RECIPE_LABELS, type RecipeGroup, recipeCounts } from "../lib/recipe";
import type { SpecIndex } from "../lib/specs";

const ORDER: RecipeGroup[] = ["model", "loss", "metrics", "target"];

export function RecipeLegend({ doc, specs }: { doc: GraphDoc; specs: SpecIndex }) {
  const counts = useMemo(() => recipeCounts(doc, specs), [doc, specs]);
  if (counts.loss + counts.metrics + counts.target === 0) return null;
  return (
    <div className="cv-recipe-legend" role="note" aria-label="Training recipe" data-testid="recipe-legend">
      {ORDER.filter((group) => group !== "target" || counts.target).map((group) => (
        <span key={group} className={`cv-recipe-key cv-recipe-key--${group}`} data-testid={`recipe-legend-${group}`}>
          {RECIPE_LABELS[group]}
          {group === "target" ? "s" : ""} {counts[group]}
        </span>
      ))}
    </div>
  );
}
