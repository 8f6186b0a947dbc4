import { STATUS_LABELS, STATUS_TONES, isRunStatus } from "../lib/runStream";

/** Show `status` on a server-rendered `.badge` (its label and its badge-<tone> class). */
export function setBadge(badge: Element | null, status: unknown): void {
  if (!badge || !isRunStatus(status)) return;
  badge.textContent = STATUS_LABELS[status];
  badge.className = `${badge.className.replace(/\bbadge-\w+/g, "").trim()} badge-${STATUS_TONES[status]}`;
}
