// Small helpers shared by the side panels: file names, downloads, readable API errors, WebSocket URLs.

import { ApiError } from "../api";
import type { Diagnostic } from "../graph";

// Python's sys.stdlib_module_names (3.11, without private names) plus what graphs/serializers.py adds:
// a package named like one of these would shadow the module next to it, so the server refuses such names.
const SHADOWED_MODULES = new Set(
  ("abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect builtins " +
    "bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall concurrent " +
    "configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm decimal difflib dis " +
    "distutils doctest email encodings ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch fractions ftplib " +
    "functools gc genericpath getopt getpass gettext glob graphlib grp gzip hashlib heapq hmac html http idlelib imaplib " +
    "imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3 linecache locale logging lzma mailbox mailcap " +
    "marshal math mimetypes mmap modulefinder msilib msvcrt multiprocessing netrc nis nntplib nt ntpath nturl2path numbers " +
    "opcode operator optparse os ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib posix " +
    "posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline " +
    "reprlib resource rlcompleter runpy sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr " +
    "socket socketserver spwd sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct " +
    "subprocess sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this threading " +
    "time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types typing unicodedata " +
    "unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp zipfile " +
    "zipimport zlib zoneinfo torch torchvision torchaudio numpy").split(" "),
);
const PY_KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield".split(
    " ",
  ),
);

/** A Python package name from a display name, exactly as graphs/api.py `package_name` makes it ("My net!" → "my_net"). */
export function packageName(name: string): string {
  const ascii = name.normalize("NFKD").replace(/\P{ASCII}/gu, "");
  let ident = ascii.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "").toLowerCase().slice(0, 58) || "model";
  if (/^[0-9]/.test(ident)) ident = `model_${ident}`;
  if (PY_KEYWORDS.has(ident) || SHADOWED_MODULES.has(ident)) ident = `${ident}_model`;
  return ident;
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
