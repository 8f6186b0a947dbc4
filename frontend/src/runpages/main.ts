// Entry of the run pages' script (a second Vite entry next to the canvas's; no React): the run page, lists of
// runs, the compare chart and a version's export builds, each started by its element's data-* attribute.
import { initArtifacts } from "./artifacts";
import { initCompare } from "./compare";
import { initRunLists } from "./runLists";
import { initRunPage } from "./runPage";

function init(): void {
  const run = document.querySelector<HTMLElement>("[data-run-live]");
  if (run) initRunPage(run);
  if (document.querySelector("[data-runs-live]")) initRunLists();
  const compare = document.querySelector<HTMLElement>("[data-compare-chart]");
  if (compare) initCompare(compare);
  const artifacts = document.querySelector<HTMLElement>("[data-artifacts-live]");
  if (artifacts) initArtifacts(artifacts);
}

// A module script runs after the document is parsed.
init();
