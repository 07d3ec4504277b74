// One dispute as an operator judges it (GET /api/v1/ops/disputes/<id>): the fare's lines,
// the route over the city's zones with its start and end, where the ride was parked, and
// the rider's recent history in counts.
import { explain, label, t } from "../app/i18n.js";
import { api, el } from "../common/api.js";
import { drawRoute, drawZones, latLngs, makeMap } from "../common/map.js";
import { majorAmount } from "../common/money.js";
import { cityTime } from "./city.js";

// A button that opens the case below it (fetched once, when first opened).
export function caseOpener(disputeId, onLoaded) {
  const box = el("section", { class: "case", id: `case-${disputeId}`, hidden: true, "aria-label": t("case.title") });
  const button = el("button", { type: "button", class: "open-case", "aria-expanded": "false", "aria-controls": box.id }, t("case.open"));
  let loaded = null;
  button.addEventListener("click", async () => {
    const opening = box.hidden;
    box.hidden = !opening;
    button.setAttribute("aria-expanded", String(opening));
    button.textContent = t(opening ? "case.close" : "case.open");
    if (!opening || loaded) return;
    loaded = api("GET", `/api/v1/ops/disputes/${disputeId}`)
      .then((found) => showCase(box, found).then(() => onLoaded?.(found)))
      .catch((error) => {
        loaded = null;
        box.replaceChildren(el("p", { class: "error" }, explain(error)));
      });
  });
  return [button, box];
}

async function showCase(box, found) {
  const { receipt, parked, history } = found;
  const amount = (minor, currency = receipt.currency) => `${majorAmount(minor, currency)} ${currency}`;
  const route = el("div", { class: "map case-map", role: "region", "aria-label": t("case.route") });
  box.replaceChildren(
    el(
      "div",
      { class: "split" },
      el("div", {}, el("h3", {}, t("case.route_title")), route, routeLegend()),
      el(
        "div",
        {},
        el("h3", {}, t("case.fare", { number: receipt.number })),
        el("p", { class: "muted" }, t("case.ride", { kind: label("kind", receipt.asset.kind), code: receipt.asset.code, when: receipt.ended_at ? cityTime(receipt.ended_at, receipt.time_zone) : "" })),
        fareTable(receipt, amount),
        el("h3", {}, t("case.parked")),
        parking(parked),
        el("h3", {}, t("case.history", { days: history.window_days })),
        historyList(history, amount),
      ),
    ),
  );
  const map = await makeMap(route);
  const points = latLngs(found.route?.coordinates);
  route.dataset.points = String(points.length);
  if (!drawRoute(map, points) && parked.position) {
    const at = [parked.position[1], parked.position[0]];
    L.circleMarker(at, { radius: 7, weight: 3, color: "#fff", fillColor: "#d7301f", fillOpacity: 1, className: "route-end" }).addTo(map);
    map.setView(at, 17);
  }
  if (!points.length) route.append(el("p", { class: "map-note" }, t("case.no_route")));
  await drawZones(map, receipt.city_id).catch(() => null);
  route.dataset.ready = "true";
}

function routeLegend() {
  return el("p", { class: "legend" }, el("span", { class: "dot start" }), t("case.start"), el("span", { class: "dot end" }), t("case.end"));
}

// A line in the console's words where it has them (with its count), else the service's.
function lineWords(line) {
  return label("line", line.kind) === line.kind ? line.label : t(`line.${line.kind}`, { n: line.count });
}

function fareTable(receipt, amount) {
  const row = (words, minor, attributes = {}) => el("tr", attributes, el("td", {}, words), el("td", { class: "amount" }, amount(minor)));
  return el(
    "table",
    { class: "rows fare-lines" },
    el("tbody", {}, receipt.lines.map((line) => row(lineWords(line), line.amount_minor, { "data-kind": line.kind }))),
    el(
      "tfoot",
      {},
      row(t("case.total"), receipt.total_minor, { class: "total" }),
      row(t("case.paid"), receipt.paid_from_wallet_minor),
      row(t("case.owed"), receipt.owed_minor),
      row(t("case.refunded"), receipt.refunded_minor),
      row(t("case.refundable"), receipt.refundable_minor, { class: "refundable" }),
    ),
  );
}

function parking(parked) {
  const where = parked.position ? `${parked.position[1].toFixed(5)}, ${parked.position[0].toFixed(5)}` : t("case.no_position");
  const zones = parked.zones.filter((kind) => kind !== "service_area").map((kind) => label("zone", kind));
  const area = parked.inside_service_area === null ? t("case.area_unknown") : t(parked.inside_service_area ? "case.inside_area" : "case.outside_area");
  return el(
    "dl",
    { class: "figures parked" },
    el("dt", {}, t("case.verdict")),
    el("dd", { class: `verdict ${parked.outcome ?? "none"}`, "data-outcome": parked.outcome ?? "" }, parked.outcome ? label("parking", parked.outcome) : t("case.not_judged")),
    el("dt", {}, t("case.position")),
    el("dd", {}, where),
    el("dt", {}, t("case.zones_now")),
    el("dd", { class: "zones-now" }, [area, ...zones].join(t("list.separator"))),
    parked.position_doubt ? [el("dt", {}, t("case.doubt")), el("dd", {}, parked.position_doubt)] : null,
  );
}

function historyList(history, amount) {
  const figure = (name, value) => [el("dt", {}, t(`history.${name}`)), el("dd", { "data-figure": name }, String(value))];
  const refunds = history.refunded.map((given) => amount(given.amount_minor, given.currency)).join(t("list.separator")) || t("history.none");
  return el(
    "dl",
    { class: "figures history" },
    figure("rides", history.rides),
    figure("failed_unlocks", history.failed_unlocks),
    figure("parking_fees", history.parking_fees),
    figure("disputes", t("history.disputes_detail", { n: history.disputes_opened, open: history.disputes_open, refunded: history.disputes_refunded, rejected: history.disputes_rejected })),
    figure("refunds", refunds),
    figure("account_age", history.account_age_days === null ? t("history.unknown") : t("history.days", { n: history.account_age_days })),
    figure("credit_score", history.credit_score),
  );
}
