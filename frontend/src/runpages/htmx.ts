// The server renders the run pages' panels; these scripts ask htmx (static/vendor/htmx.min.js, loaded by
// base.html) to fetch a panel again rather than rebuilding its rows themselves.

interface Htmx {
  ajax(method: "GET", url: string, context: { target: string; swap: string }): Promise<void>;
}

/** Replace the element `#id` with a fresh copy from `url`; null when htmx is not on the page. */
export function swapFromServer(id: string, url: string): Promise<void> | null {
  const htmx = (window as unknown as { htmx?: Htmx }).htmx;
  return htmx ? htmx.ajax("GET", url, { target: `#${id}`, swap: "outerHTML" }) : null;
}
