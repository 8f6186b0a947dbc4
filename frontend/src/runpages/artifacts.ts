// [data-artifacts-live]: a version's export builds. /ws/versions/<id>/artifacts/ says when one changed, and the
// panel is fetched again from the server (it renders the rows).
import { LiveSocket, socketUrl } from "../lib/liveSocket";
import { swapFromServer } from "./htmx";

export function initArtifacts(box: HTMLElement): LiveSocket {
  let queued: ReturnType<typeof setTimeout> | null = null;
  const refresh = () => {
    if (queued) return;
    queued = setTimeout(() => {
      queued = null; // several changes within the delay: one fetch
      const panel = document.getElementById(box.id);
      if (panel?.dataset.refreshUrl) void swapFromServer(box.id, panel.dataset.refreshUrl);
    }, 150);
  };
  const socket = new LiveSocket({
    url: socketUrl(box.dataset.artifactsLive ?? ""),
    // The first message says what the rows are now (a build may have moved since the page was rendered).
    onMessage: (message) => {
      if (message.type === "artifact" || message.type === "artifacts") refresh();
    },
  });
  socket.start();
  return socket;
}
