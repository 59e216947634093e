// Charts on uPlot (time series, bars, stacked bars) and hand-drawn SVG (funnel, flow, places). Every
// chart has a table of the same figures beside it: that is what screen readers and the tests read.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom";

export const PALETTE = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#dc2626", "#65a30d", "#475569"];
const SVG = "http://www.w3.org/2000/svg";

function width(container: HTMLElement): number {
  return Math.max(320, Math.min(container.clientWidth || 900, 1100));
}

/** Seconds since the epoch of a day ("2026-11-25") or a moment with its offset. */
export function seconds(period: string): number {
  return (period.length === 10 ? Date.parse(`${period}T00:00:00Z`) : Date.parse(period)) / 1000;
}

export interface Series {
  label: string;
  values: (number | null)[];
}

function mount(container: HTMLElement, label: string): HTMLElement {
  const holder = h("div", { class: "chart", role: "img", "aria-label": label });
  container.appendChild(holder);
  return holder;
}

/** Lines over time: x are periods (days or moments), one line per series. */
export function lineChart(container: HTMLElement, label: string, periods: string[], series: Series[], bars = false): void {
  const holder = mount(container, label);
  const x = periods.map(seconds);
  const options: uPlot.Options = {
    width: width(container),
    height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        fill: bars ? PALETTE[i % PALETTE.length] + "99" : undefined,
        paths: bars ? uPlot.paths.bars!({ size: [0.7, 60] }) : undefined,
        points: { show: periods.length < 40 },
      })),
    ],
    axes: [{}, { size: 60 }],
  };
  new uPlot(options, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, holder);
}

/** Bars over categories (hours 0–23, "1 day"… "7 days"). */
export function barChart(container: HTMLElement, label: string, categories: string[], series: Series[]): void {
  const holder = mount(container, label);
  const x = categories.map((_, i) => i);
  const options: uPlot.Options = {
    width: width(container),
    height: 220,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false, range: [-0.5, categories.length - 0.5] } },
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        fill: PALETTE[i % PALETTE.length] + "bb",
        paths: uPlot.paths.bars!({ size: [0.8 / series.length, 80], align: 0 }),
        points: { show: false },
      })),
    ],
    axes: [{ values: (_u, ticks) => ticks.map((t) => categories[t] ?? ""), incrs: [1, 2, 4, 6] }, { size: 60 }],
  };
  new uPlot(options, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, holder);
}

/** The funnel: a horizontal bar per step, its width the step's persons. */
export function funnelChart(container: HTMLElement, steps: { label: string; persons: number; conversion: number | null }[]): void {
  const max = Math.max(1, ...steps.map((s) => s.persons));
  const rows = h("div", { class: "funnel", role: "img", "aria-label": "funnel: persons per step" });
  steps.forEach((step, i) => {
    const bar = h("div", { class: "funnel-bar" });
    bar.style.width = `${(100 * step.persons) / max}%`;
    bar.style.background = PALETTE[0];
    rows.appendChild(
      h(
        "div",
        { class: "funnel-row" },
        h("span", { class: "funnel-label" }, `${i + 1}. ${step.label}`),
        h("span", { class: "funnel-track" }, bar),
        h("span", { class: "funnel-figure" }, `${step.persons.toLocaleString("en-US")}${step.conversion === null ? "" : ` · ${(step.conversion * 100).toFixed(1)}%`}`),
      ),
    );
  });
  container.appendChild(rows);
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  return element;
}

export interface Edge {
  from_step: number;
  from_event: string;
  to_step: number;
  to_event: string;
  persons: number;
}

/** Paths as a flow: a column per step, a node per event, links as wide as the persons they carry. */
export function flowChart(container: HTMLElement, edges: Edge[]): void {
  // A node's size is the larger of what flows into it and out of it.
  const inflow = new Map<string, number>();
  const outflow = new Map<string, number>();
  const steps = new Map<number, Map<string, number>>();
  for (const e of edges) {
    outflow.set(`${e.from_step}:${e.from_event}`, (outflow.get(`${e.from_step}:${e.from_event}`) ?? 0) + e.persons);
    inflow.set(`${e.to_step}:${e.to_event}`, (inflow.get(`${e.to_step}:${e.to_event}`) ?? 0) + e.persons);
    for (const [step, event] of [[e.from_step, e.from_event], [e.to_step, e.to_event]] as [number, string][]) {
      if (!steps.has(step)) steps.set(step, new Map());
      steps.get(step)!.set(event, 0);
    }
  }
  for (const [step, column] of steps) {
    for (const event of column.keys()) {
      const key = `${step}:${event}`;
      column.set(event, Math.max(inflow.get(key) ?? 0, outflow.get(key) ?? 0));
    }
  }
  const order = [...steps.keys()].sort((a, b) => a - b);
  const w = width(container);
  const height = 360;
  const columnWidth = w / Math.max(1, order.length);
  const total = Math.max(1, ...order.map((s) => [...steps.get(s)!.values()].reduce((a, b) => a + b, 0)));
  const scale = (height - 40) / total;
  const nodes = new Map<string, { x: number; y: number; h: number; outY: number; inY: number }>();
  const drawing = svg("svg", { viewBox: `0 0 ${w} ${height}`, width: w, height, role: "img", "aria-label": "paths as a flow: events at each step and the persons moving between them" });
  order.forEach((step, column) => {
    let y = 10;
    const entries = [...steps.get(step)!.entries()].sort((a, b) => b[1] - a[1]);
    entries.forEach(([event, persons], i) => {
      const x = column * columnWidth + 10;
      const size = Math.max(2, persons * scale);
      nodes.set(`${step}:${event}`, { x, y, h: size, outY: y, inY: y });
      drawing.appendChild(svg("rect", { x, y, width: 10, height: size, fill: PALETTE[i % PALETTE.length] }));
      const text = svg("text", { x: x + 14, y: y + Math.min(size, 24) / 2 + 4, "font-size": 11, fill: "#1f2937" });
      text.textContent = `${event} (${persons.toLocaleString("en-US")})`;
      drawing.appendChild(text);
      y += size + 8;
    });
  });
  for (const e of [...edges].sort((a, b) => b.persons - a.persons)) {
    const from = nodes.get(`${e.from_step}:${e.from_event}`);
    const to = nodes.get(`${e.to_step}:${e.to_event}`);
    if (!from || !to) continue;
    const size = Math.max(1, e.persons * scale);
    const x0 = from.x + 10;
    const x1 = to.x;
    const y0 = from.outY + size / 2;
    const y1 = to.inY + size / 2;
    from.outY += size;
    to.inY += size;
    const mid = (x0 + x1) / 2;
    const link = svg("path", { d: `M${x0},${y0} C${mid},${y0} ${mid},${y1} ${x1},${y1}`, stroke: PALETTE[0], "stroke-opacity": 0.25, "stroke-width": size, fill: "none" });
    const title = svg("title", {});
    title.textContent = `${e.from_event} → ${e.to_event}: ${e.persons}`;
    link.appendChild(title);
    drawing.insertBefore(link, drawing.firstChild);
  }
  container.appendChild(h("div", { class: "chart" }, drawing as unknown as Node));
}

export interface Point {
  lat: number;
  lon: number;
  label?: string;
  weight?: number;
}

/** Places on a plane drawn from their coordinates (equirectangular, no map tiles): the person's geo
 * events as dots and the places mined from them as labelled circles. */
export function placesMap(container: HTMLElement, places: Point[], visits: Point[]): void {
  const all = [...places, ...visits];
  const w = Math.min(width(container), 640);
  const height = 360;
  const drawing = svg("svg", { viewBox: `0 0 ${w} ${height}`, width: w, height, role: "img", "aria-label": "places on a map drawn from coordinates", class: "map" });
  drawing.appendChild(svg("rect", { x: 0, y: 0, width: w, height, fill: "#f1f5f9" }));
  if (all.length) {
    const lats = all.map((p) => p.lat);
    const lons = all.map((p) => p.lon);
    const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
    const kx = Math.cos((midLat * Math.PI) / 180); // a degree of longitude is shorter away from the equator
    const spanX = Math.max(1e-4, (Math.max(...lons) - Math.min(...lons)) * kx);
    const spanY = Math.max(1e-4, Math.max(...lats) - Math.min(...lats));
    const s = Math.min((w - 80) / spanX, (height - 60) / spanY);
    const px = (p: Point) => 40 + ((p.lon - Math.min(...lons)) * kx) * s;
    const py = (p: Point) => height - 30 - (p.lat - Math.min(...lats)) * s;
    for (const p of visits) drawing.appendChild(svg("circle", { cx: px(p), cy: py(p), r: 2.5, fill: "#64748b", "fill-opacity": 0.5 }));
    const most = Math.max(1, ...places.map((p) => p.weight ?? 1));
    places.forEach((p, i) => {
      const r = 6 + 10 * Math.sqrt((p.weight ?? 1) / most);
      drawing.appendChild(svg("circle", { cx: px(p), cy: py(p), r, fill: PALETTE[i % PALETTE.length], "fill-opacity": 0.7, stroke: "#0f172a" }));
      const text = svg("text", { x: px(p) + r + 3, y: py(p) + 4, "font-size": 12, fill: "#0f172a" });
      text.textContent = p.label ?? "";
      drawing.appendChild(text);
    });
    // A scale bar: how long 1 km is here.
    const km = (1 / 111.32) * s;
    if (km > 8 && km < w / 2) {
      drawing.appendChild(svg("line", { x1: 10, y1: height - 10, x2: 10 + km, y2: height - 10, stroke: "#0f172a", "stroke-width": 2 }));
      const label = svg("text", { x: 14 + km, y: height - 6, "font-size": 11, fill: "#0f172a" });
      label.textContent = "1 km";
      drawing.appendChild(label);
    }
  }
  container.appendChild(h("div", { class: "chart" }, drawing as unknown as Node));
}

/** A colour from white to blue for a fraction (the retention heat map's cells). */
export function heat(fraction: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * f);
  return `rgb(${mix(239, 29)}, ${mix(246, 78)}, ${mix(255, 216)})`;
}
