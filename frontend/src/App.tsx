import type { Boot } from "./boot";

export function App({ boot }: { boot: Boot }) {
  return <div className="tc-canvas">Canvas for {boot.graphName}</div>;
}
