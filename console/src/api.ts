// The API client: the project's secret key lives in sessionStorage only (gone when the tab closes),
// travels only in the Authorization header, and is never put in a URL, a log line or the page.

const KEY_ITEM = "eventlens.secret_key";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where the API is: the same origin unless console/config.json names another (a deployment's). */
export async function apiBase(): Promise<string> {
  try {
    const answer = await fetch("console/config.json", { cache: "no-store" });
    if (!answer.ok) return "";
    const config = (await answer.json()) as { api_url?: string };
    return (config.api_url ?? "").replace(/\/+$/, "");
  } catch {
    return "";
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey(): void {
  sessionStorage.clear();
}

/** The reason an answer gives: eventlens's {"error": {"field", "reason"}}, AnModel's {"detail"}. */
function reason(status: number, body: unknown): string {
  const answer = body as { error?: { field?: string; reason?: string }; detail?: unknown; message?: string } | null;
  if (answer?.error?.reason) return `${answer.error.field ?? ""} ${answer.error.reason}`.trim();
  if (typeof answer?.detail === "string") return answer.detail;
  if (Array.isArray(answer?.detail)) return JSON.stringify(answer?.detail);
  if (answer?.message) return answer.message;
  return `HTTP ${status}`;
}

export class Api {
  onUnauthorized: (message: string) => void = () => {};

  constructor(
    readonly base: string,
    private readonly key: () => string | null,
  ) {}

  private headers(json: boolean): Headers {
    const headers = new Headers({ accept: "application/json" });
    const key = this.key();
    if (key) headers.set("authorization", `Bearer ${key}`);
    if (json) headers.set("content-type", "application/json");
    return headers;
  }

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const answer = await fetch(this.base + path, {
      method,
      headers: this.headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    if (!answer.ok) {
      let parsed: unknown = null;
      try {
        parsed = await answer.json();
      } catch {
        parsed = null;
      }
      const message = reason(answer.status, parsed);
      if (answer.status === 401) this.onUnauthorized(message);
      throw new ApiError(answer.status, message);
    }
    return answer;
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== "") search.set(name, String(value));
    const text = search.toString();
    return (await (await this.request("GET", text ? `${path}?${text}` : path)).json()) as T;
  }

  async post<T>(path: string, body?: unknown): Promise<T> {
    return (await (await this.request("POST", path, body)).json()) as T;
  }

  /** An image the API serves behind the key, as an object URL for an <img>. */
  async imageUrl(path: string): Promise<string> {
    const answer = await this.request("GET", path);
    return URL.createObjectURL(await answer.blob());
  }

  /** /metrics of eventlens local (Prometheus text; no key). */
  async metricsText(): Promise<string> {
    const answer = await fetch(`${this.base}/metrics`, { cache: "no-store", credentials: "omit" });
    if (!answer.ok) throw new ApiError(answer.status, `HTTP ${answer.status}`);
    return answer.text();
  }
}

/** Checks a key by one cheap read only a secret key may do; the reason it is refused, or null. */
export async function checkKey(base: string, key: string): Promise<string | null> {
  const today = new Date().toISOString().slice(0, 10);
  const api = new Api(base, () => key);
  try {
    await api.get("/stats/top-events", { from: today, to: today, limit: 1 });
    return null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return "This key may only send events: sign in with a secret key.";
    if (error instanceof ApiError && error.status === 401) return "The key was refused: no project has this key.";
    return `The API did not answer: ${(error as Error).message}`;
  }
}
