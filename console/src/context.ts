import { Api } from "./api";
import { h } from "./dom";

/** The date range and timezone the report pages share while the tab is open. */
export interface Range {
  from: string;
  to: string;
  timezone: string;
}

export interface Context {
  api: Api;
  range: Range;
  /** Called when the page is left: timers stop. */
  onStop: (stop: () => void) => void;
}

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function defaultRange(): Range {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 86400_000);
  return { from: isoDay(from), to: isoDay(to), timezone: "UTC" };
}

const TIMEZONES = ["UTC", "Europe/Kyiv", "Europe/Warsaw", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];

/** From, to (and timezone when the page cuts days in one) as a form; `apply` runs on submit. */
export function rangeForm(range: Range, apply: () => void, withTimezone: boolean, extra: HTMLElement[] = []): HTMLFormElement {
  const from = h("input", { type: "date", id: "range-from", name: "from", value: range.from, required: true });
  const to = h("input", { type: "date", id: "range-to", name: "to", value: range.to, required: true });
  const zones = TIMEZONES.includes(range.timezone) ? TIMEZONES : [range.timezone, ...TIMEZONES];
  const timezone = h("select", { id: "range-tz", name: "timezone" }, ...zones.map((z) => h("option", { value: z, selected: z === range.timezone }, z)));
  const form = h(
    "form",
    { class: "controls", "aria-label": "Date range" },
    h("div", { class: "field" }, h("label", { for: "range-from" }, "From"), from),
    h("div", { class: "field" }, h("label", { for: "range-to" }, "To"), to),
    withTimezone ? h("div", { class: "field" }, h("label", { for: "range-tz" }, "Timezone"), timezone) : null,
    ...extra,
    h("button", { type: "submit" }, "Apply"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    range.from = from.value;
    range.to = to.value;
    if (withTimezone) range.timezone = timezone.value;
    apply();
  });
  return form;
}
