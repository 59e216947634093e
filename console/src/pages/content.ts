// Content: the cinema Analytics Service's reports — popular titles with completion rate, daily trends,
// peak hours — over the last N days.
import { barChart, lineChart } from "../charts";
import { Context } from "../context";
import { clear, field, h, int, num, section, select, table } from "../dom";

interface PopularItem { movie_id: string; total_views: number; unique_viewers: number; completion_rate: number }
interface DailyTrend { date: string; total_views: number; unique_viewers: number; completed_views: number; completion_rate: number }
interface HourActivity { hour: number; events_count: number; unique_users: number }

export async function contentPage(ctx: Context, main: HTMLElement): Promise<void> {
  const days = select("days", [["7", "7 days"], ["30", "30 days"], ["90", "90 days"], ["365", "365 days"]], "30");
  const body = h("div", {});
  const controls = h("form", { class: "controls", "aria-label": "Period" }, field("The last", days), h("button", { type: "submit" }, "Apply"));
  controls.addEventListener("submit", (event) => { event.preventDefault(); void draw(); });
  main.append(controls, body);

  async function draw(): Promise<void> {
    clear(body, h("p", { class: "hint" }, "Loading…"));
    const n = Number(days.value);
    const [popular, trends, peaks] = await Promise.all([
      ctx.api.get<{ items: PopularItem[]; total_items: number }>("/api/v1/analytics/content/popular", { days: n, limit: 20 }),
      ctx.api.get<{ trends: DailyTrend[] }>("/api/v1/analytics/trends", { days: n }),
      ctx.api.get<{ hours: HourActivity[] }>("/api/v1/analytics/peak-hours", { days: n }),
    ]);
    const trendChart = h("div", {});
    const peakChart = h("div", {});
    clear(
      body,
      section("Popular content", table(`The ${popular.items.length} most viewed titles`, [
        { label: "Title", value: (r: PopularItem) => r.movie_id },
        { label: "Views", value: (r: PopularItem) => int(r.total_views), numeric: true },
        { label: "Viewers", value: (r: PopularItem) => int(r.unique_viewers), numeric: true },
        { label: "Completion", value: (r: PopularItem) => `${num(r.completion_rate, 1)}%`, numeric: true },
      ], popular.items, "popular")),
      section("Trends", trendChart, table("Views per day", [
        { label: "Day", value: (r: DailyTrend) => r.date },
        { label: "Views", value: (r: DailyTrend) => int(r.total_views), numeric: true },
        { label: "Viewers", value: (r: DailyTrend) => int(r.unique_viewers), numeric: true },
        { label: "Completed", value: (r: DailyTrend) => int(r.completed_views), numeric: true },
        { label: "Completion", value: (r: DailyTrend) => `${num(r.completion_rate, 1)}%`, numeric: true },
      ], [...trends.trends].reverse(), "viewing-trends")),
      section("Peak hours (UTC)", peakChart, table("Viewing events per hour of the day", [
        { label: "Hour", value: (r: HourActivity) => String(r.hour).padStart(2, "0") },
        { label: "Events", value: (r: HourActivity) => int(r.events_count), numeric: true },
        { label: "Users", value: (r: HourActivity) => int(r.unique_users), numeric: true },
      ], peaks.hours, "peak-hours")),
    );
    lineChart(trendChart, "views and viewers per day", trends.trends.map((t) => t.date), [
      { label: "views", values: trends.trends.map((t) => t.total_views) },
      { label: "viewers", values: trends.trends.map((t) => t.unique_viewers) },
    ]);
    const byHour = new Map(peaks.hours.map((p) => [p.hour, p.events_count]));
    barChart(peakChart, "viewing events per hour of the day", Array.from({ length: 24 }, (_, i) => String(i)), [
      { label: "events", values: Array.from({ length: 24 }, (_, i) => byHour.get(i) ?? 0) },
    ]);
  }

  await draw();
}
