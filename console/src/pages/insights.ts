// Insights over POST /api/v1/insights/*: trends with a breakdown, funnels from a step builder, retention
// as a heat map, paths as a flow, stickiness and lifecycle; each over the shared range and timezone,
// with an optional segment and saved cohort.
import { barChart, flowChart, funnelChart, heat, lineChart, type Edge } from "../charts";
import { Context, rangeForm } from "../context";
import { clear, errorBox, field, h, int, num, pct, select, table } from "../dom";

type Kind = "trends" | "funnel" | "retention" | "paths" | "stickiness" | "lifecycle";
const KINDS: [Kind, string][] = [
  ["trends", "Trends"],
  ["funnel", "Funnel"],
  ["retention", "Retention"],
  ["paths", "Paths"],
  ["stickiness", "Stickiness"],
  ["lifecycle", "Lifecycle"],
];

interface SeriesResult { letter: string; label: string; breakdown_value: string | null; other?: boolean; values: (number | null)[]; total: number | null }
interface TrendsAnswer { periods: string[]; series: SeriesResult[]; read_from: string }
interface FunnelStep { step: number; label: string; persons: number; conversion_from_first: number | null; conversion_from_previous: number | null; median_seconds_from_previous?: number | null }
interface FunnelAnswer { steps: FunnelStep[]; window_seconds: number }
interface RetentionCohort { period: string; persons: number; returned: number[]; rates: number[] }
interface RetentionAnswer { period: string; cohorts: RetentionCohort[] }
interface PathsAnswer { persons: number; edges: Edge[]; direction: string }
interface StickinessAnswer { intervals: number; interval: string; series: { letter: string; label: string; persons: number[]; total: number }[] }
interface LifecycleAnswer { periods: string[]; new: number[]; returning: number[]; resurrecting: number[]; dormant: number[]; read_from: string }
interface Cohort { cohort_id: string; name: string; persons: number | null }

const EVENTS_LIST_ID = "event-types";

/** An event-type input offering the project's top event types. */
function eventInput(name: string, value: string, required = true): HTMLInputElement {
  return h("input", { name, value, list: EVENTS_LIST_ID, required, autocomplete: "off" });
}

/** Seconds as people read a wait: 45 s, 12 min, 3.5 h, 2.1 d. */
function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${num(seconds, 0)} s`;
  if (seconds < 3600) return `${num(seconds / 60, 0)} min`;
  if (seconds < 86400) return `${num(seconds / 3600, 1)} h`;
  return `${num(seconds / 86400, 1)} d`;
}

function seriesLabel(s: SeriesResult): string {
  const by = s.other ? "other" : s.breakdown_value;
  return by === null || by === undefined ? s.label : `${s.label} · ${by}`;
}

export async function insightsPage(ctx: Context, main: HTMLElement): Promise<void> {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  let kind: Kind = (KINDS.find(([k]) => k === params.get("kind"))?.[0]) ?? "trends";
  const tabs = h("div", { role: "tablist", "aria-label": "Insight", class: "tabs" });
  const panel = h("div", { role: "tabpanel", id: "insight-panel" });
  const segment = h("input", { name: "segment", placeholder: "properties.country:UA", value: "" });
  const cohort = select("cohort", [["", "everyone"]], "");
  const datalist = h("datalist", { id: EVENTS_LIST_ID });
  main.append(
    rangeForm(ctx.range, () => void drawPanel(), true, [field("Segment", segment), field("Cohort", cohort)]),
    datalist,
    tabs,
    panel,
  );

  // The project's event types (for the inputs' suggestions) and saved cohorts.
  void ctx.api.get<{ event_type: string }[]>("/stats/top-events", { from: ctx.range.from, to: ctx.range.to, limit: 50 })
    .then((rows) => rows.forEach((r) => datalist.appendChild(h("option", { value: r.event_type }))))
    .catch(() => undefined);
  void ctx.api.get<{ cohorts: Cohort[] }>("/api/v1/cohorts")
    .then((answer) => answer.cohorts.forEach((c) => cohort.appendChild(h("option", { value: c.cohort_id }, `${c.name}${c.persons === null ? "" : ` (${c.persons})`}`))))
    .catch(() => undefined);

  function common(): Record<string, unknown> {
    return {
      from: ctx.range.from,
      to: ctx.range.to,
      timezone: ctx.range.timezone,
      segment: segment.value.trim() || undefined,
      cohort: cohort.value || undefined,
    };
  }

  function drawTabs(): void {
    clear(tabs, ...KINDS.map(([k, label]) => {
      const tab = h("button", { type: "button", role: "tab", id: `tab-${k}`, "aria-selected": k === kind ? "true" : "false", "aria-controls": "insight-panel", tabindex: k === kind ? 0 : -1 }, label);
      tab.addEventListener("click", () => { kind = k; drawTabs(); void drawPanel(); });
      tab.addEventListener("keydown", (event) => {
        const i = KINDS.findIndex(([x]) => x === kind);
        const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        kind = KINDS[(i + step + KINDS.length) % KINDS.length][0];
        drawTabs();
        void drawPanel();
        document.getElementById(`tab-${kind}`)?.focus();
      });
      return tab;
    }));
    panel.setAttribute("aria-labelledby", `tab-${kind}`);
  }

  async function run(path: string, body: Record<string, unknown>, out: HTMLElement, draw: (answer: never) => void): Promise<void> {
    clear(out, h("p", { class: "hint" }, "Loading…"));
    try {
      const answer = await ctx.api.post<never>(`/api/v1/insights/${path}`, { ...common(), ...body });
      clear(out);
      draw(answer);
      out.setAttribute("data-state", "done");
    } catch (error) {
      clear(out, errorBox((error as Error).message));
      out.setAttribute("data-state", "error");
    }
  }

  function form(controls: HTMLElement[], submit: (out: HTMLElement) => void): void {
    const out = h("div", { class: "insight-result", "aria-live": "polite" });
    const element = h("form", { class: "controls", "aria-label": `${kind} query` }, ...controls, h("button", { type: "submit" }, "Show"));
    element.addEventListener("submit", (event) => { event.preventDefault(); submit(out); });
    clear(panel, element, out);
    submit(out);
  }

  async function drawPanel(): Promise<void> {
    const builders: Record<Kind, () => void> = { trends, funnel, retention, paths, stickiness, lifecycle };
    builders[kind]();
  }

  function trends(): void {
    const event = eventInput("event", "purchase");
    const math = select("math", [["total", "total events"], ["unique_persons", "unique persons"]], "total");
    const interval = select("interval", [["day", "day"], ["week", "week"], ["month", "month"], ["hour", "hour"]], "day");
    const breakdown = h("input", { name: "breakdown", value: "properties.country", placeholder: "properties.country" });
    form([field("Event", event), field("Count", math), field("Interval", interval), field("Breakdown by", breakdown)], (out) =>
      void run("trends", {
        series: [{ event: event.value.trim() || undefined, math: math.value }],
        interval: interval.value,
        breakdown: breakdown.value.trim() ? { property: breakdown.value.trim(), limit: 5 } : undefined,
      }, out, (answer: TrendsAnswer) => {
        lineChart(out, "trend per period", answer.periods, answer.series.map((s) => ({ label: seriesLabel(s), values: s.values })));
        out.appendChild(table("Totals per series", [
          { label: "Series", value: (s: SeriesResult) => seriesLabel(s) },
          { label: "Total", value: (s: SeriesResult) => num(s.total), numeric: true },
        ], answer.series, "trends-totals"));
      }),
    );
  }

  function funnel(): void {
    const steps = h("ol", { class: "steps", "aria-label": "Funnel steps" });
    const addStep = (value: string) => {
      const input = eventInput("step", value);
      const item = h("li", {});
      const remove = h("button", { type: "button", class: "link", "aria-label": `Remove step`, onclick: () => { if (steps.children.length > 2) item.remove(); relabel(); } }, "Remove");
      item.append(field("Step", input), remove);
      steps.appendChild(item);
      relabel();
      return input;
    };
    const relabel = () => [...steps.children].forEach((item, i) => {
      const label = item.querySelector("label");
      if (label) label.textContent = `Step ${i + 1}`;
      item.querySelector("button")?.setAttribute("aria-label", `Remove step ${i + 1}`);
    });
    for (const step of ["view_item", "add_to_cart", "purchase"]) addStep(step);
    const add = h("button", { type: "button", "data-testid": "add-step", onclick: () => addStep("").focus() }, "Add step");
    const order = select("order", [["ordered", "in order"], ["strict", "strictly consecutive"], ["unordered", "any order"]], "ordered");
    const windowHours = h("input", { name: "window", type: "number", min: 1, max: 2160, value: 24 * 14 });
    form([h("fieldset", {}, h("legend", {}, "Steps"), steps, add), field("Order", order), field("Window (hours)", windowHours)], (out) =>
      void run("funnel", {
        steps: [...steps.querySelectorAll("input")].map((input) => ({ event: input.value.trim() })),
        order: order.value,
        window_seconds: Number(windowHours.value) * 3600,
      }, out, (answer: FunnelAnswer) => {
        funnelChart(out, answer.steps.map((s) => ({ label: s.label, persons: s.persons, conversion: s.conversion_from_first })));
        out.appendChild(table("Funnel steps", [
          { label: "Step", value: (s: FunnelStep) => `${s.step}. ${s.label}` },
          { label: "Persons", value: (s: FunnelStep) => int(s.persons), numeric: true },
          { label: "From first", value: (s: FunnelStep) => pct(s.conversion_from_first), numeric: true },
          { label: "From previous", value: (s: FunnelStep) => pct(s.conversion_from_previous), numeric: true },
          { label: "Median time from previous", value: (s: FunnelStep) => duration(s.median_seconds_from_previous), numeric: true },
        ], answer.steps, "funnel-steps"));
      }),
    );
  }

  function retention(): void {
    const start = eventInput("start", "", false);
    const back = eventInput("return", "", false);
    const period = select("period", [["week", "week"], ["day", "day"], ["month", "month"]], "week");
    const periods = h("input", { name: "periods", type: "number", min: 1, max: 52, value: 6 });
    form([field("First event (any)", start), field("Returning event (any)", back), field("Period", period), field("Periods", periods)], (out) =>
      void run("retention", {
        start_event: { event: start.value.trim() || null },
        return_event: { event: back.value.trim() || null },
        period: period.value,
        periods: Number(periods.value),
      }, out, (answer: RetentionAnswer) => {
        const n = Math.max(0, ...answer.cohorts.map((c) => c.rates.length));
        const head = h("tr", {}, h("th", { scope: "col" }, "Cohort"), h("th", { scope: "col", class: "n" }, "Persons"), ...Array.from({ length: n }, (_, i) => h("th", { scope: "col", class: "n" }, `${answer.period} ${i}`)));
        const rows = answer.cohorts.map((c) => {
          const cells = c.rates.map((rate, i) => {
            const cell = h("td", { class: "n heat", title: `${c.returned[i]} of ${c.persons}` }, pct(rate));
            cell.style.background = heat(rate);
            cell.style.color = rate > 0.55 ? "#fff" : "#0f172a";
            return cell;
          });
          return h("tr", {}, h("th", { scope: "row" }, c.period), h("td", { class: "n" }, int(c.persons)), ...cells);
        });
        out.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "heatmap", "data-testid": "retention-heatmap" }, h("caption", {}, "Retention: share of each cohort active again"), h("thead", {}, head), h("tbody", {}, ...rows))));
      }),
    );
  }

  function paths(): void {
    const start = eventInput("start", "session_start");
    const depth = h("input", { name: "depth", type: "number", min: 2, max: 10, value: 4 });
    const collapse = h("input", { name: "collapse", type: "checkbox" });
    form([field("Starting at", start), field("Steps", depth), field("Collapse repeats", collapse)], (out) =>
      void run("paths", { start_event: { event: start.value.trim() }, depth: Number(depth.value), collapse_repeats: collapse.checked, edge_limit: 40 }, out, (answer: PathsAnswer) => {
        out.appendChild(h("p", {}, "Persons with a path: ", h("strong", { "data-testid": "paths-persons" }, int(answer.persons))));
        flowChart(out, answer.edges);
        out.appendChild(table("Moves between steps", [
          { label: "From", value: (e: Edge) => `${e.from_step}. ${e.from_event}` },
          { label: "To", value: (e: Edge) => `${e.to_step}. ${e.to_event}` },
          { label: "Persons", value: (e: Edge) => int(e.persons), numeric: true },
        ], answer.edges, "paths-edges"));
      }),
    );
  }

  function stickiness(): void {
    const event = eventInput("event", "purchase");
    const interval = select("interval", [["day", "day"], ["week", "week"]], "day");
    form([field("Event", event), field("Interval", interval)], (out) =>
      void run("stickiness", { series: [{ event: event.value.trim() }], interval: interval.value }, out, (answer: StickinessAnswer) => {
        const s = answer.series[0];
        const labels = s.persons.map((_, i) => `${i + 1}`);
        barChart(out, `persons by the number of ${answer.interval}s they did it`, labels, [{ label: s.label, values: s.persons }]);
        out.appendChild(table(`Persons by ${answer.interval}s active (of ${answer.intervals})`, [
          { label: `${answer.interval}s`, value: (r: [number, number]) => String(r[0]) },
          { label: "Persons", value: (r: [number, number]) => int(r[1]), numeric: true },
        ], s.persons.map((p, i) => [i + 1, p] as [number, number]), "stickiness-table"));
      }),
    );
  }

  function lifecycle(): void {
    const event = eventInput("event", "", false);
    const interval = select("interval", [["day", "day"], ["week", "week"], ["month", "month"]], "day");
    form([field("Activity (any event)", event), field("Interval", interval)], (out) =>
      void run("lifecycle", { activity: { event: event.value.trim() || null }, interval: interval.value }, out, (answer: LifecycleAnswer) => {
        lineChart(out, "lifecycle: new, returning, resurrecting and dormant persons per period", answer.periods, [
          { label: "new", values: answer.new },
          { label: "returning", values: answer.returning },
          { label: "resurrecting", values: answer.resurrecting },
          { label: "dormant (−)", values: answer.dormant.map((d) => -d) },
        ], true);
        out.appendChild(table("Lifecycle per period", [
          { label: "Period", value: (i: number) => answer.periods[i] },
          { label: "New", value: (i: number) => int(answer.new[i]), numeric: true },
          { label: "Returning", value: (i: number) => int(answer.returning[i]), numeric: true },
          { label: "Resurrecting", value: (i: number) => int(answer.resurrecting[i]), numeric: true },
          { label: "Dormant", value: (i: number) => int(answer.dormant[i]), numeric: true },
        ], answer.periods.map((_, i) => i), "lifecycle-table"));
      }),
    );
  }

  drawTabs();
  await drawPanel();
}
