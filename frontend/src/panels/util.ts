// Small helpers shared by the side panels: downloads, readable API errors, WebSocket URLs.

import { ApiError } from "../api";
import type { Diagnostic } from "../graph";

/** The file name the server gave a download (Content-Disposition), else `fallback`. */
export function attachmentName(response: Response, fallback: string): string {
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "");
  return match ? match[1] : fallback;
}

/** Save `blob` as `filename` through a temporary object URL. */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  link.style.display = "none";
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The diagnostics of a 400 answer from the engine endpoints, if it carried any. */
export function errorDiagnostics(error: unknown): Diagnostic[] {
  if (error instanceof ApiError && error.body && typeof error.body === "object" && "diagnostics" in error.body) {
    const diagnostics = (error.body as { diagnostics: unknown }).diagnostics;
    if (Array.isArray(diagnostics)) return diagnostics as Diagnostic[];
  }
  return [];
}

/** One readable sentence (or a few) from an API error: DRF's `detail`, or its field errors. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const body = error.body;
    if (body && typeof body === "object" && !Array.isArray(body)) {
      const record = body as Record<string, unknown>;
      if (typeof record.detail === "string") return record.detail;
      const parts: string[] = [];
      for (const [field, value] of Object.entries(record)) {
        const messages = Array.isArray(value) ? value.map(String) : typeof value === "string" ? [value] : [];
        if (!messages.length) continue;
        parts.push(field === "non_field_errors" ? messages.join(" ") : `${field}: ${messages.join(" ")}`);
      }
      if (parts.length) return parts.join(" ");
    }
    if (error.status === 403) return "You do not have permission to do this.";
    if (error.status === 401) return "Sign in again: your session has ended.";
    return error.message;
  }
  if (error instanceof Error) return error.name === "TypeError" ? `Network error: ${error.message}` : error.message;
  return String(error);
}

/** An absolute ws:// or wss:// URL for a same-origin path. */
export function socketUrl(path: string): string {
  if (/^wss?:\/\//.test(path)) return path;
  const protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${protocol}//${window.location.host}${path.startsWith("/") ? "" : "/"}${path}`;
}

/** The DRF list answer's items, whether paginated (`{results}`) or a plain array. */
export function listResults<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === "object" && Array.isArray((body as { results?: unknown }).results)) {
    return (body as { results: T[] }).results;
  }
  return [];
}

/** Numbers as the run page shows them: 4 significant digits, exponent for very large or small values. */
export function formatNumber(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

export function formatBytes(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${unit ? size.toFixed(1) : String(size)} ${units[unit]}`;
}

export function formatSeconds(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  if (value < 60) return `${value.toFixed(1)} s`;
  const minutes = Math.floor(value / 60);
  return `${minutes} min ${Math.round(value - 60 * minutes)} s`;
}
