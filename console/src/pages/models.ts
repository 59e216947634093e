// Models (AnModel's MarketApp screens): the services, users ranked by purchase probability with their
// features, a prediction form, and the registry: the promoted model's metrics, its ROC/PR/calibration
// plots and the version history.
import { ApiError } from "../api";
import { Context } from "../context";
import { clear, errorBox, field, h, int, num, section, table } from "../dom";

interface ServiceInfo { status: string; model_path: string | null; error: string | null }
interface Services { services: string[]; details: Record<string, ServiceInfo> }
interface UserRow { user_id: string; features: Record<string, number | null> }
interface Users { users: UserRow[]; total: number; snapshot_date: string | null; model_version: string }
interface Version { version: string; promoted: boolean; metrics: Record<string, number>; training_key: string | null; plots: string[] }
interface Registry { service: string; promoted: { version: string; roc_auc: number; promoted_at: string; previous: string | null } | null; versions: Version[] }
type Prediction = Record<string, number | string | null>;

const PREDICTIONS = ["purchase_proba", "will_purchase_pred", "days_to_next_pred", "next_purchase_amount_pred"];
const FORM_FEATURES = ["days_since_last", "days_since_first", "days_since_last_purchase", "total_events", "events_last_7d", "events_last_30d", "total_purchases", "total_spent", "avg_order_value", "purchases_last_30d"];
const SHOWN_METRICS: [string, string, number][] = [
  ["roc_auc", "ROC-AUC", 3], ["baseline_roc_auc", "ROC-AUC, recency/frequency baseline", 3], ["pr_auc", "PR-AUC", 3],
  ["baseline_pr_auc", "PR-AUC, baseline", 3], ["brier", "Brier score", 3], ["threshold", "decision threshold", 3],
  ["days_mae", "days to next purchase, MAE", 2], ["amount_mae", "next amount, MAE", 2], ["positive_rate", "buyers in the test rows", 3],
  ["rows_train", "training rows", 0], ["rows_test", "test rows", 0],
];

export async function modelsPage(ctx: Context, main: HTMLElement): Promise<void> {
  const services = await ctx.api.get<Services>("/services");
  const service = services.services[0] ?? "context_aware";
  main.append(section("Services", table("Prediction services", [
    { label: "Service", value: (name: string) => name },
    { label: "Status", value: (name: string) => services.details[name]?.status ?? "–" },
    { label: "Model", value: (name: string) => services.details[name]?.model_path ?? services.details[name]?.error ?? "–" },
  ], services.services, "services")));

  const registry = h("div", {});
  const users = h("div", {});
  const predict = h("div", {});
  main.append(registry, users, predict);
  await Promise.all([drawRegistry(ctx, service, registry), drawUsers(ctx, users, predict)]);
}

async function drawRegistry(ctx: Context, service: string, out: HTMLElement): Promise<void> {
  let answer: Registry;
  try {
    answer = await ctx.api.get<Registry>(`/v1/models/${encodeURIComponent(service)}`);
  } catch (error) {
    out.append(section("Promoted model", errorBox((error as Error).message)));
    return;
  }
  const promoted = answer.versions.find((v) => v.promoted);
  const plots = h("div", { class: "plots" });
  out.append(
    section(
      "Promoted model",
      promoted
        ? h("p", {}, "Version ", h("strong", { "data-testid": "promoted-version" }, promoted.version), `, promoted ${answer.promoted?.promoted_at ?? ""}`, answer.promoted?.previous ? ` (after ${answer.promoted.previous})` : "")
        : h("p", {}, "No version is promoted yet: run the ML pipeline (eventlens pipeline run)."),
      promoted ? table("Its metrics on the held-out date", [
        { label: "Metric", value: (m: [string, string, number]) => m[1] },
        { label: "Value", value: (m: [string, string, number]) => num(promoted.metrics[m[0]], m[2]), numeric: true },
      ], SHOWN_METRICS.filter((m) => promoted.metrics[m[0]] !== undefined), "model-metrics") : null,
      plots,
    ),
    section("Version history", table("Model versions, newest first", [
      { label: "Version", value: (v: Version) => `${v.version}${v.promoted ? " (promoted)" : ""}` },
      { label: "ROC-AUC", value: (v: Version) => num(v.metrics.roc_auc, 3), numeric: true },
      { label: "PR-AUC", value: (v: Version) => num(v.metrics.pr_auc, 3), numeric: true },
      { label: "Baseline ROC-AUC", value: (v: Version) => num(v.metrics.baseline_roc_auc, 3), numeric: true },
      { label: "Training rows", value: (v: Version) => int(v.metrics.rows_train), numeric: true },
      { label: "Trained on", value: (v: Version) => v.training_key ?? "–" },
    ], [...answer.versions].reverse(), "model-versions")),
  );
  if (promoted) {
    for (const plot of promoted.plots) {
      const figure = h("figure", {}, h("figcaption", {}, plot.toUpperCase() === "PR" ? "Precision–recall" : plot === "roc" ? "ROC curve" : "Calibration"));
      plots.appendChild(figure);
      ctx.api.imageUrl(`/v1/models/${encodeURIComponent(service)}/versions/${promoted.version}/plots/${plot}`)
        .then((url) => figure.prepend(h("img", { src: url, alt: `${plot} plot of model ${promoted.version}`, width: 360, "data-plot": plot })))
        .catch((error: Error) => figure.append(errorBox(error.message)));
    }
  }
}

async function drawUsers(ctx: Context, out: HTMLElement, predictOut: HTMLElement): Promise<void> {
  let answer: Users;
  try {
    answer = await ctx.api.get<Users>("/users", { limit: 25 });
  } catch (error) {
    const reason = error instanceof ApiError && error.status === 503 ? "No model is promoted yet: run the ML pipeline." : (error as Error).message;
    out.append(section("Users", errorBox(reason)));
    return;
  }
  const form = predictionForm(ctx, answer.users[0]);
  out.append(section(
    "Users ranked by purchase probability",
    h("p", { class: "hint" }, `${int(answer.total)} users in the daily snapshot of ${answer.snapshot_date ?? "–"}, scored by ${answer.model_version}.`),
    table("The likeliest buyers", [
      { label: "User", value: (u: UserRow) => u.user_id },
      { label: "P(purchase)", value: (u: UserRow) => num(u.features.purchase_proba, 3), numeric: true },
      { label: "Buys?", value: (u: UserRow) => (u.features.will_purchase_pred ? "yes" : "no") },
      { label: "Days to next", value: (u: UserRow) => num(u.features.days_to_next_pred, 1), numeric: true },
      { label: "Next amount", value: (u: UserRow) => num(u.features.next_purchase_amount_pred, 2), numeric: true },
      { label: "Events (90 d)", value: (u: UserRow) => int(u.features.events_last_90d), numeric: true },
      { label: "Purchases", value: (u: UserRow) => int(u.features.total_purchases), numeric: true },
      { label: "Spent", value: (u: UserRow) => num(u.features.total_spent, 2), numeric: true },
      { label: "Features", value: (u: UserRow) => h("details", {}, h("summary", {}, "all"), h("dl", { class: "features" }, ...Object.entries(u.features).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null ? "–" : String(v))]))) },
      { label: "", value: (u: UserRow) => h("button", { type: "button", class: "link", onclick: () => form.fill(u) }, "Predict…") },
    ], answer.users, "model-users"),
  ));
  predictOut.append(form.element);
}

function predictionForm(ctx: Context, first: UserRow | undefined): { element: HTMLElement; fill: (u: UserRow) => void } {
  const user = h("input", { name: "user_id", autocomplete: "off" });
  const inputs = new Map(FORM_FEATURES.map((name) => [name, h("input", { name, type: "number", step: "any" })]));
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "controls wrap", "aria-label": "Prediction" },
    field("User id (its snapshot row fills what is blank)", user),
    ...[...inputs].map(([name, input]) => field(name, input)),
    h("button", { type: "submit" }, "Predict"));
  const fill = (u: UserRow) => {
    user.value = u.user_id;
    for (const [name, input] of inputs) input.value = u.features[name] === null || u.features[name] === undefined ? "" : String(u.features[name]);
    user.focus();
  };
  if (first) fill(first);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const record: Record<string, string | number> = {};
    if (user.value.trim()) record.user_id = user.value.trim();
    for (const [name, input] of inputs) if (input.value !== "") record[name] = Number(input.value);
    clear(out, h("p", { class: "hint" }, "Scoring…"));
    try {
      const answer = await ctx.api.post<{ predictions: Prediction[] }>("/predict", { records: [record] });
      clear(out, table("Prediction", [
        { label: "Output", value: (name: string) => name },
        { label: "Value", value: (name: string) => { const v = answer.predictions[0]?.[name]; return typeof v === "number" ? num(v, 4) : String(v ?? "–"); }, numeric: true },
      ], PREDICTIONS, "prediction"));
    } catch (error) {
      clear(out, errorBox((error as Error).message));
    }
  });
  return { element: section("Predict", form, out), fill };
}
