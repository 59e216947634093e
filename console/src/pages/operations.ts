// Operations: eventlens local's /metrics (ingest rate, errors, latency percentiles, rate-limit hits,
// consume lag, dead letters waiting) and /health. On AWS the same figures are on the CloudWatch
// dashboard; /metrics exists only on eventlens local.
import { Context } from "../context";
import { card, clear, errorBox, h, int, num, section, table } from "../dom";

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** Prometheus's text exposition as samples. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function sum(samples: Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((a, s) => a + s.value, 0);
}

/** A quantile of a histogram summed over its series, interpolated inside its bucket (as PromQL's
 * histogram_quantile does). */
export function quantile(samples: Sample[], name: string, q: number, where: (labels: Record<string, string>) => boolean = () => true): number | null {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !where(s.labels)) continue;
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (!total) return null;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      if (bound === Infinity) return previousBound;
      return previousBound + ((bound - previousBound) * (rank - previousCount)) / Math.max(1, count - previousCount);
    }
    previousBound = bound;
    previousCount = count;
  }
  return previousBound;
}

interface Health { status: string; storing: boolean; consume: { state: string; lag_records: number; last_stored_at: string | null }; dead_letters: { state: string; last_hour: number }; problems: string[] }

const REFRESH_MS = 5000;

export async function operationsPage(ctx: Context, main: HTMLElement): Promise<void> {
  const body = h("div", {});
  main.append(body);
  let previous: { at: number; received: number } | null = null;

  async function draw(): Promise<void> {
    let text: string;
    try {
      text = await ctx.api.metricsText();
    } catch (error) {
      clear(body, errorBox(`/metrics is served by eventlens local only (${(error as Error).message}); on AWS the CloudWatch dashboard shows these figures.`));
      return;
    }
    const samples = parseMetrics(text);
    const now = performance.now();
    const received = sum(samples, "events_received_total");
    const rate = previous && now > previous.at ? ((received - previous.received) * 1000) / (now - previous.at) : null;
    previous = { at: now, received };
    const api = (l: Record<string, string>) => l.route !== "/metrics";
    const requests = sum(samples, "api_request_duration_seconds_count", api);
    const status = (prefix: string) => sum(samples, "api_request_duration_seconds_count", (l) => api(l) && l.status.startsWith(prefix));
    const health = await fetch(`${ctx.api.base}/health`, { cache: "no-store" }).then((r) => r.json() as Promise<Health>).catch(() => null);
    const routes = [...new Set(samples.filter((s) => s.name === "api_request_duration_seconds_count" && api(s.labels)).map((s) => `${s.labels.method} ${s.labels.route}`))].sort();
    clear(
      body,
      section("Ingest",
        h("div", { class: "cards" },
          card("Ingest rate", rate === null ? "–" : `${num(rate, 1)}/s`, "events received, between the last two reads", "ingest-rate"),
          card("Received", int(received), "events since eventlens local started", "events-received"),
          card("Stored", int(sum(samples, "events_stored_total")), "events stored by consume", "events-stored"),
          card("Duplicates", int(sum(samples, "events_duplicates_total")), "re-sent events counted once", "events-duplicates"),
          card("Failed", int(sum(samples, "events_failed_total")), "events refused at ingest or consume", "events-failed"),
        )),
      section("Consume",
        h("div", { class: "cards" },
          card("Consume lag", int(sum(samples, "consume_lag_records")), "records waiting in the queue", "consume-lag"),
          card("Failed batches", int(sum(samples, "consume_batches_failed_total")), "delivered again", "batches-failed"),
          card("Dead letters", int(sum(samples, "dead_letters_pending")), "waiting; eventlens dead-letters list|replay", "dead-letters"),
          card("Health", health?.status ?? "–", health ? (health.problems.join("; ") || "no problems") : "/health did not answer", "health"),
        )),
      section("API",
        h("div", { class: "cards" },
          card("Requests", int(requests), "answered since start", "requests"),
          card("p50 / p95 / p99", [0.5, 0.95, 0.99].map((q) => { const v = quantile(samples, "api_request_duration_seconds", q, api); return v === null ? "–" : `${num(v * 1000, 0)}`; }).join(" / ") + " ms", "latency, all routes", "latency"),
          card("4xx", int(status("4")), "client errors", "status-4xx"),
          card("5xx", int(status("5")), "server errors", "status-5xx"),
          card("Rate limited", int(status("429")), "429 answers", "rate-limited"),
        ),
        table("Per route", [
          { label: "Route", value: (r: string) => r },
          { label: "Requests", value: (r: string) => int(sum(samples, "api_request_duration_seconds_count", (l) => `${l.method} ${l.route}` === r)), numeric: true },
          { label: "p95 (ms)", value: (r: string) => num((quantile(samples, "api_request_duration_seconds", 0.95, (l) => `${l.method} ${l.route}` === r) ?? NaN) * 1000, 0), numeric: true },
        ], routes, "routes")),
      h("p", { class: "hint" }, "Projects and keys are managed with `eventlens projects` and `eventlens keys`; dead letters with `eventlens dead-letters` (no HTTP API serves them)."),
    );
  }

  const timer = window.setInterval(() => void draw(), REFRESH_MS);
  ctx.onStop(() => window.clearInterval(timer));
  await draw();
}
