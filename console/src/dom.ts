// A few DOM helpers: elements, tables, number formats. Everything is built with textContent, never
// innerHTML, so nothing an API answers (event names, properties) is ever parsed as markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function clear(element: Element, ...children: Child[]): void {
  element.replaceChildren();
  append(element, children);
}

/** An integer as people read it: 12,345. */
export function int(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : Math.round(value).toLocaleString("en-US");
}

/** A number with at most `digits` decimals (trailing zeros dropped): 0.87, 121.05. */
export function num(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A fraction (0–1) as a percentage with one decimal: 0.6585 → 65.9%. */
export function pct(fraction: number | null | undefined): string {
  return fraction === null || fraction === undefined ? "–" : `${(fraction * 100).toFixed(1)}%`;
}

export interface Column<Row> {
  label: string;
  value: (row: Row) => Child;
  numeric?: boolean;
}

/** A table with a caption (its accessible name) and one row per item. */
export function table<Row>(caption: string, columns: Column<Row>[], rows: Row[], testid?: string): HTMLElement {
  const body = h("tbody");
  for (const row of rows) {
    body.appendChild(
      h("tr", {}, ...columns.map((c) => h("td", { class: c.numeric ? "n" : undefined }, c.value(row)))),
    );
  }
  const element = h(
    "table",
    { "data-testid": testid },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col", class: c.numeric ? "n" : undefined }, c.label)))),
    body,
  );
  if (!rows.length) body.appendChild(h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, "nothing in this range")));
  return h("div", { class: "table-wrap" }, element);
}

/** A labelled form control: the label's for= names the control's id. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${Math.random().toString(36).slice(2, 7)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", {}, hint) : null);
}

export function select(name: string, options: [string, string][], value: string): HTMLSelectElement {
  const element = h("select", { name });
  for (const [optionValue, label] of options) {
    element.appendChild(h("option", { value: optionValue, selected: optionValue === value }, label));
  }
  return element;
}

export function card(label: string, value: string, note: string, testid: string): HTMLElement {
  return h(
    "div",
    { class: "card" },
    h("div", { class: "card-label" }, label),
    h("div", { class: "card-value", "data-testid": testid }, value),
    h("div", { class: "card-note" }, note),
  );
}

export function section(title: string, ...children: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function errorBox(message: string): HTMLElement {
  return h("p", { class: "error", role: "alert" }, message);
}
