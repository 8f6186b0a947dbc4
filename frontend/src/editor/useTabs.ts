// The inspector's tabs: which one is shown, and which were ever opened (a panel loads on first use and then
// stays mounted, keeping its state while hidden).
import { useCallback, useState } from "react";

export type Tab = "properties" | "problems" | "code" | "json" | "run";

export function useTabs() {
  const [tab, setTab] = useState<Tab>("properties");
  const [visited, setVisited] = useState<ReadonlySet<Tab>>(() => new Set(["properties"]));
  const openTab = useCallback((next: Tab) => {
    setTab(next);
    setVisited((v) => (v.has(next) ? v : new Set(v).add(next)));
  }, []);
  return { tab, visited, openTab };
}
