// Fetch helpers for the Django API: same-origin session cookie plus the CSRF token from the boot data.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = "";

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** JSON in, JSON out; a non-2xx answer throws ApiError carrying the parsed body (DRF's `detail` as message). */
export async function apiJson<T>(url: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const response = await apiFetch(url, init);
  if (!response.ok) throw await apiError(response);
  const text = await response.text();
  return (text ? safeParse(text) : null) as T;
}

/** The ApiError of a non-2xx answer: its parsed body, and DRF's `detail` (or the status line) as message. */
export async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  const body = text ? safeParse(text) : null;
  const detail = body && typeof body === "object" && "detail" in body ? String((body as { detail: unknown }).detail) : "";
  return new ApiError(response.status, body, detail || `${response.status} ${response.statusText}`);
}

/** The raw Response (for downloads); adds credentials, CSRF and the JSON content type. */
export function apiFetch(url: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
  const method = init.method ?? (init.body === undefined ? "GET" : "POST");
  const headers: Record<string, string> = { Accept: "application/json" };
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
  return fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
}

/** YAML text read by the server's one reader (POST /api/document/): its JSON value; a refusal throws ApiError. */
export async function apiYamlDocument(url: string, text: string): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/yaml", "X-CSRFToken": csrfToken },
    credentials: "same-origin",
    body: text,
  });
  if (!response.ok) throw await apiError(response);
  return safeParse(await response.text());
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
