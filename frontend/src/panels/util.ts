// Small helpers shared by the side panels: downloads, readable API errors, list answers.

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

/** The DRF list answer's items, whether paginated (`{results}`) or a plain array. */
export function listResults<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === "object" && Array.isArray((body as { results?: unknown }).results)) {
    return (body as { results: T[] }).results;
  }
  return [];
}
