// Overview: active users (DAU, WAU, MAU), events per second, the top events, the last events to arrive.
import { lineChart } from "../charts";
import { Context, rangeForm } from "../context";
import { card, clear, errorBox, h, int, num, section, table } from "../dom";

interface Daily { date: string; unique_users: number }
interface Weekly { week: string; unique_users: number }
interface Monthly { month: string; unique_users: number }
interface EventCount { event_type: string; count: number }
export interface Arrival { event_id: string; user_id: string; type: string; source: string; ts: string; received_at: string }
export interface Arrivals { events: Arrival[]; received_last_minute: number; events_per_second: number; as_of: string }

const REFRESH_MS = 5000;

export async function overviewPage(ctx: Context, main: HTMLElement): Promise<void> {
  const body = h("div", {});
  const live = h("div", {});
  main.append(rangeForm(ctx.range, () => void draw(), false), body, live);

  async function draw(): Promise<void> {
    clear(body, h("p", { class: "hint" }, "Loading…"));
    const { from, to } = ctx.range;
    const [dau, wau, mau, top] = await Promise.all([
      ctx.api.get<Daily[]>("/stats/dau", { from, to }),
      ctx.api.get<Weekly[]>("/stats/wau", { from, to }),
      ctx.api.get<Monthly[]>("/stats/mau", { from, to }),
      ctx.api.get<EventCount[]>("/stats/top-events", { from, to, limit: 10 }),
    ]);
    const lastDay = dau.at(-1);
    const lastWeek = wau.at(-1);
    const lastMonth = mau.at(-1);
    const charts = h("div", {});
    clear(
      body,
      h(
        "div",
        { class: "cards" },
        card("DAU", int(lastDay?.unique_users), lastDay ? `on ${lastDay.date}` : "no day", "dau"),
        card("WAU", int(lastWeek?.unique_users), lastWeek ? `week of ${lastWeek.week}` : "no week", "wau"),
        card("MAU", int(lastMonth?.unique_users), lastMonth ? `month of ${lastMonth.month}` : "no month", "mau"),
      ),
      section("Daily active users", charts, table("Daily active users", [
        { label: "Day", value: (r: Daily) => r.date },
        { label: "Users", value: (r: Daily) => int(r.unique_users), numeric: true },
      ], [...dau].reverse(), "dau-table")),
      section("Top events", table("Top events in the range", [
        { label: "Event", value: (r: EventCount) => r.event_type },
        { label: "Count", value: (r: EventCount) => int(r.count), numeric: true },
      ], top, "top-events")),
    );
    lineChart(charts, "daily active users per day", dau.map((d) => d.date), [{ label: "DAU", values: dau.map((d) => d.unique_users) }]);
  }

  async function drawLive(): Promise<void> {
    try {
      const arrivals = await ctx.api.get<Arrivals>("/v1/events/latest", { limit: 20 });
      clear(
        live,
        section(
          "Arriving now",
          h("div", { class: "cards" }, card("Events/s", num(arrivals.events_per_second, 2), `${int(arrivals.received_last_minute)} received in the last minute`, "events-per-second")),
          table("The last events received", [
            { label: "Received", value: (r: Arrival) => r.received_at.replace("T", " ").replace("Z", "") },
            { label: "Event", value: (r: Arrival) => r.type },
            { label: "Source", value: (r: Arrival) => r.source },
            { label: "User", value: (r: Arrival) => r.user_id },
            { label: "Event time", value: (r: Arrival) => r.ts.replace("T", " ").replace("Z", "") },
          ], arrivals.events, "last-events"),
        ),
      );
    } catch (error) {
      clear(live, errorBox(`The last events could not be read: ${(error as Error).message}`));
    }
  }

  const timer = window.setInterval(() => void drawLive(), REFRESH_MS);
  ctx.onStop(() => window.clearInterval(timer));
  await Promise.all([draw(), drawLive()]);
}
