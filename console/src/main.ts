// The console: sign-in with a project's secret key, then one page per area, chosen by the URL's
// fragment (#/overview …), which never carries the key.
import { Api, apiBase, checkKey, forgetKey, storedKey, storeKey } from "./api";
import { clear, errorBox, h } from "./dom";
import { contentPage } from "./pages/content";
import { insightsPage } from "./pages/insights";
import { modelsPage } from "./pages/models";
import { operationsPage } from "./pages/operations";
import { overviewPage } from "./pages/overview";
import { personPage } from "./pages/person";
import { Context, defaultRange } from "./context";
import "./styles.css";

interface Page {
  path: string;
  title: string;
  render: (ctx: Context, main: HTMLElement) => Promise<void> | void;
}

const PAGES: Page[] = [
  { path: "overview", title: "Overview", render: overviewPage },
  { path: "insights", title: "Insights", render: insightsPage },
  { path: "content", title: "Content", render: contentPage },
  { path: "person", title: "A person", render: personPage },
  { path: "models", title: "Models", render: modelsPage },
  { path: "operations", title: "Operations", render: operationsPage },
];

const root = document.getElementById("app")!;
let base = "";
let stopPage: (() => void)[] = [];

function signInForm(message?: string): void {
  document.title = "Sign in · eventlens console";
  const key = h("input", { id: "key", name: "key", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "key-help" });
  const status = h("div", { "aria-live": "polite" }, message ? errorBox(message) : null);
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "eventlens console"),
    h("label", { for: "key" }, "Project secret key"),
    key,
    h("p", { id: "key-help", class: "hint" }, "The key stays in this tab's session storage only and is sent in the Authorization header. `eventlens projects create` or $EVENTLENS_HOME/default-project.json gives one."),
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = key.value.trim();
    clear(status, h("p", { class: "hint" }, "Checking the key…"));
    const refused = await checkKey(base, value);
    if (refused) {
      clear(status, errorBox(refused));
      key.value = "";
      key.focus();
      return;
    }
    storeKey(value);
    key.value = "";
    if (!location.hash || location.hash === "#/" || location.hash === "#/signin") location.hash = "#/overview";
    show();
  });
  clear(root, h("main", { class: "signin-main" }, form));
  key.focus();
}

function signOut(message?: string): void {
  forgetKey();
  for (const stop of stopPage) stop();
  stopPage = [];
  signInForm(message);
}

function currentPage(): Page {
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  return PAGES.find((p) => p.path === path) ?? PAGES[0];
}

async function show(): Promise<void> {
  for (const stop of stopPage) stop();
  stopPage = [];
  if (!storedKey()) {
    signInForm();
    return;
  }
  const api = new Api(base, storedKey);
  api.onUnauthorized = (message) => signOut(`Signed out: the key was refused (${message}).`);
  const page = currentPage();
  document.title = `${page.title} · eventlens console`;
  const nav = h(
    "nav",
    { "aria-label": "Pages" },
    h("ul", {}, ...PAGES.map((p) => h("li", {}, h("a", { href: `#/${p.path}`, "aria-current": p === page ? "page" : undefined }, p.title)))),
  );
  const main = h("main", { id: "main", tabindex: "-1", "aria-labelledby": "page-title" }, h("h1", { id: "page-title" }, page.title));
  const header = h(
    "header",
    {},
    h("a", { class: "skip", href: "#main", onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, "Skip to content"),
    h("span", { class: "brand" }, "eventlens"),
    nav,
    h("div", { class: "who" },
      h("button", { type: "button", class: "link", onclick: () => signOut() , "data-testid": "switch-project" }, "Switch project"),
      h("button", { type: "button", "data-testid": "sign-out", onclick: () => signOut("Signed out.") }, "Sign out"),
    ),
  );
  clear(root, header, main);
  const ctx: Context = { api, range: ctxRange, onStop: (stop) => stopPage.push(stop) };
  try {
    await page.render(ctx, main);
  } catch (error) {
    main.appendChild(errorBox(`This page could not load: ${(error as Error).message}`));
  }
  main.setAttribute("data-loaded", "true");
}

const ctxRange = defaultRange();

window.addEventListener("hashchange", () => void show());
void (async () => {
  base = await apiBase();
  await show();
})();
