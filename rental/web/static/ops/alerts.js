// What needs an operator in the city, in one list, most urgent kind first: latches open
// without a rental, locks offline or silent, lock messages that could not be processed,
// payments and refunds left hanging, low batteries, items in the wrong cabinet. Live: asked
// again every few seconds with the last answer's ETag (GET /api/v1/ops/attention), and
// redrawn only when something changed.
import { t } from "../app/i18n.js";
import { append, el, poll } from "../common/api.js";
import { cityOf, cityPicker, cityTime, timeZoneOf } from "./city.js";

const REFRESH_MS = 5000;

export async function alertsPage(main, params, leave) {
  const city = cityOf(params);
  const zone = await timeZoneOf(city).catch(() => undefined);
  const summary = el("p", { class: "legend", id: "alert-counts", role: "status" });
  const list = el("tbody");
  const table = el(
    "table",
    { class: "rows card", id: "alerts" },
    el("thead", {}, el("tr", {}, ["kind", "subject", "detail", "since"].map((key) => el("th", {}, t(`alerts.${key}`))))),
    list,
  );
  append(main, el("h1", {}, t("alerts.title")), cityPicker(params, "alerts"), summary, table);
  let tag = null;

  async function load() {
    const changed = await poll(`/api/v1/ops/attention?city_id=${encodeURIComponent(city)}`, tag);
    if (!changed) return;
    tag = changed.tag;
    const { items } = changed.data;
    list.replaceChildren(
      ...items.map((item) =>
        el(
          "tr",
          { "data-kind": item.kind, "data-subject": item.subject, class: `alert-${item.kind}` },
          el("td", {}, t(`attention.${item.kind}`)),
          el("td", {}, item.lon != null ? el("a", { href: `#/fleet?city=${encodeURIComponent(city)}&q=${encodeURIComponent(item.subject)}` }, item.subject) : item.subject),
          el("td", {}, item.detail),
          el("td", {}, item.since ? cityTime(item.since, zone) : "—"),
        ),
      ),
    );
    const counts = {};
    for (const item of items) counts[item.kind] = (counts[item.kind] || 0) + 1;
    summary.replaceChildren(
      ...(items.length
        ? Object.entries(counts).map(([kind, n]) => el("span", { "data-count": kind }, t("alerts.count", { kind: t(`attention.${kind}`), n })))
        : [el("span", { id: "no-alerts" }, t("alerts.none"))]),
    );
  }
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  leave(() => clearInterval(timer));
  await load();
}
