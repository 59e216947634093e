// A person (Life Stream): their timeline, the places they go drawn from coordinates, routines and habits
// from the habits graph (or mined for this request), and the memory search.
import { placesMap, type Point } from "../charts";
import { Context } from "../context";
import { clear, errorBox, field, h, int, num, section, table } from "../dom";

interface StreamEvent { event_id: string; type: string; ts: string; properties: Record<string, unknown> }
interface StreamPage { user_id: string; events: StreamEvent[]; total: number }
interface Place { key: string; name: string; lat: number; lon: number; visits: number }
interface Routine { name: string; place: string; weekdays: (string | number)[]; hour: number; weeks: number }
interface Habit { name: string; kind: string; item: string; hour: number; days: number; confidence: number }
interface Patterns { source: string; places: Place[]; routines: Routine[]; habits: Habit[] }
interface MemoryAnswer { answer: string; intent: string; language: string; evidence_total: number; evidence: { id: string; kind: string; at: string | null }[] }
interface TrendsAnswer { series: { breakdown_value: string | null; other?: boolean; total: number | null }[] }

function describe(properties: Record<string, unknown>): string {
  return Object.entries(properties).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ");
}

export async function personPage(ctx: Context, main: HTMLElement): Promise<void> {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const user = h("input", { name: "user_id", required: true, autocomplete: "off", list: "lifestream-persons", value: params.get("user") ?? "" });
  const suggestions = h("datalist", { id: "lifestream-persons" });
  const picker = h("form", { class: "controls", "aria-label": "Person" }, field("User id", user), h("button", { type: "submit" }, "Show"));
  const body = h("div", {});
  const active = h("div", { class: "hint" });
  main.append(picker, suggestions, active, body);
  picker.addEventListener("submit", (event) => {
    event.preventDefault();
    // The person is in the fragment (no key there), so the page can be bookmarked.
    history.replaceState(null, "", `#/person?user=${encodeURIComponent(user.value.trim())}`);
    void draw(user.value.trim());
  });

  // The most active Life Stream persons of the range, from the trends insight broken down by user.
  try {
    const top = await ctx.api.post<TrendsAnswer>("/api/v1/insights/trends", {
      from: ctx.range.from, to: ctx.range.to, segment: "source:lifestream", series: [{}], interval: "month", breakdown: { property: "user_id", limit: 8 },
    });
    const ids = top.series.filter((s) => !s.other && s.breakdown_value).map((s) => [s.breakdown_value!, s.total ?? 0] as const);
    ids.forEach(([id]) => suggestions.appendChild(h("option", { value: id })));
    if (ids.length) {
      clear(active, "Most active Life Stream persons: ", ...ids.flatMap(([id, n], i) => [i ? ", " : "", h("a", { href: `#/person?user=${encodeURIComponent(id)}`, "data-user": id }, id), ` (${int(n)})`]));
    }
    if (!user.value && ids.length) user.value = ids[0][0];
  } catch {
    /* suggestions are a convenience */
  }

  async function draw(id: string): Promise<void> {
    if (!id) return;
    clear(body, h("p", { class: "hint" }, "Loading…"));
    const enc = encodeURIComponent(id);
    const [stream, patterns] = await Promise.all([
      ctx.api.get<StreamPage>(`/api/v1/stream/events/${enc}`, { limit: 200 }),
      ctx.api.get<Patterns>(`/api/v1/stream/patterns/${enc}`).catch((error: Error) => error),
    ]);
    const visits: Point[] = stream.events
      .filter((e) => typeof e.properties.lat === "number" && typeof e.properties.lon === "number")
      .map((e) => ({ lat: e.properties.lat as number, lon: e.properties.lon as number }));
    const map = h("div", {});
    const memory = memoryBox(ctx, id);
    clear(
      body,
      h("p", {}, "Events stored: ", h("strong", { "data-testid": "person-total" }, int(stream.total)), ` (the latest ${stream.events.length} below)`),
      section("Places", map,
        patterns instanceof Error ? errorBox(`Places, routines and habits could not be read: ${patterns.message}`)
          : table(`Places (${patterns.source === "graph" ? "from the habits graph" : "mined from the events now"})`, [
            { label: "Place", value: (p: Place) => p.name },
            { label: "Visits", value: (p: Place) => int(p.visits), numeric: true },
            { label: "Latitude", value: (p: Place) => num(p.lat, 4), numeric: true },
            { label: "Longitude", value: (p: Place) => num(p.lon, 4), numeric: true },
          ], patterns.places, "places")),
      patterns instanceof Error ? null : section("Routines and habits",
        table("Routines", [
          { label: "Routine", value: (r: Routine) => r.name },
          { label: "Place", value: (r: Routine) => r.place },
          { label: "Days", value: (r: Routine) => r.weekdays.join(", ") },
          { label: "Hour", value: (r: Routine) => `${String(r.hour).padStart(2, "0")}:00` },
          { label: "Weeks", value: (r: Routine) => int(r.weeks), numeric: true },
        ], patterns.routines, "routines"),
        table("Habits", [
          { label: "Habit", value: (r: Habit) => r.name },
          { label: "Kind", value: (r: Habit) => r.kind },
          { label: "Item", value: (r: Habit) => r.item },
          { label: "Hour", value: (r: Habit) => `${String(r.hour).padStart(2, "0")}:00` },
          { label: "Confidence", value: (r: Habit) => num(r.confidence, 2), numeric: true },
        ], patterns.habits, "habits")),
      memory,
      section("Timeline", table("The latest events, newest first", [
        { label: "Time (UTC)", value: (e: StreamEvent) => e.ts.replace("T", " ").replace("Z", "") },
        { label: "Event", value: (e: StreamEvent) => e.type },
        { label: "Details", value: (e: StreamEvent) => describe(e.properties) },
      ], stream.events, "timeline")),
    );
    placesMap(map, patterns instanceof Error ? [] : patterns.places.map((p) => ({ lat: p.lat, lon: p.lon, label: p.name, weight: p.visits })), visits);
  }

  await draw(user.value.trim());
}

function memoryBox(ctx: Context, userId: string): HTMLElement {
  const question = h("input", { name: "question", required: true, placeholder: "Where do I usually go on Fridays?", autocomplete: "off" });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "controls", role: "search", "aria-label": "Memory search" }, field("Ask about this person", question), h("button", { type: "submit" }, "Ask"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(out, h("p", { class: "hint" }, "Searching…"));
    try {
      const answer = await ctx.api.post<MemoryAnswer>("/api/v1/search/memory", { user_id: userId, question: question.value.trim() });
      clear(out,
        h("blockquote", { "data-testid": "memory-answer" }, answer.answer),
        h("p", { class: "hint" }, `intent ${answer.intent}, language ${answer.language}, `, h("span", { "data-testid": "memory-evidence" }, int(answer.evidence_total)), " pieces of evidence"),
        table("Evidence", [
          { label: "Kind", value: (e: MemoryAnswer["evidence"][number]) => e.kind },
          { label: "When", value: (e: MemoryAnswer["evidence"][number]) => e.at ?? "–" },
          { label: "Id", value: (e: MemoryAnswer["evidence"][number]) => e.id },
        ], answer.evidence.slice(0, 10)),
      );
    } catch (error) {
      clear(out, errorBox((error as Error).message));
    }
  });
  return section("Memory search", form, out);
}
