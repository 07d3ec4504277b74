// A city at a glance: rides per hour (the last 24) and per day, utilisation (rides per
// vehicle and day), unlocks (share that worked, how long they took), vehicles available
// at the morning hotspots, and revenue. Figures come from GET /api/v1/ops/dashboard; the
// charts are Chart.js (from the npm registry), each with its numbers in a table beside it.
import { currentLanguage, t } from "../app/i18n.js";
import { append, api, el } from "../common/api.js";
import { majorAmount } from "../common/money.js";
import { cityOf, cityPicker } from "./city.js";

const DAYS = [7, 14, 30, 90];
const BLUE = "#0072B2";
const GREEN = "#009E73";
const ORANGE = "#E69F00";

export async function dashboardPage(main, params) {
  const city = cityOf(params);
  const days = DAYS.includes(Number(params.get("days"))) ? Number(params.get("days")) : 14;
  const figures = await api("GET", `/api/v1/ops/dashboard?city_id=${encodeURIComponent(city)}&days=${days}`);
  const money = (minor) => `${majorAmount(minor, figures.currency)} ${figures.currency}`;
  const percent = (share) => (share == null ? "—" : `${(share * 100).toFixed(1)}%`);
  const seconds = (ms) => (ms == null ? "—" : t("dashboard.seconds", { s: (ms / 1000).toFixed(2) }));
  const today = figures.days[figures.days.length - 1];
  const unlocks = figures.unlocks;
  const period = el(
    "select",
    { id: "days", "aria-label": t("dashboard.window") },
    DAYS.map((n) => el("option", { value: n, selected: n === days }, t("dashboard.last_days", { n }))),
  );
  period.addEventListener("change", () => {
    location.hash = `#/dashboard?city=${encodeURIComponent(city)}&days=${period.value}`;
  });
  const figure = (id, name, value) => el("div", { class: "card tile" }, el("span", { class: "muted" }, name), el("strong", { id }, value));
  append(main,
    el("h1", {}, t("dashboard.title")),
    el("div", { class: "controls" }, cityPicker(params, "dashboard"), period),
    el(
      "div",
      { class: "tiles" },
      figure("rides-today", t("dashboard.rides_today"), today ? today.rides : 0),
      figure("utilisation-today", t("dashboard.utilisation_today"), today ? today.rides_per_vehicle.toFixed(2) : "—"),
      figure("unlock-rate", t("dashboard.unlock_rate"), percent(unlocks.success_rate)),
      figure("unlock-latency", t("dashboard.unlock_latency"), t("dashboard.latency", { median: seconds(unlocks.median_ms), p95: seconds(unlocks.p95_ms) })),
      figure("revenue", t("dashboard.revenue", { n: days }), money(figures.revenue_minor)),
    ),
  );
  const hourLabel = (iso) => iso.slice(11, 16); // the city's own clock, as the API gives it
  const dayLabel = (iso) => iso.slice(5);
  append(main,
    el(
      "div",
      { class: "columns" },
      chartCard("hours-chart", t("dashboard.rides_by_hour"), {
        type: "bar",
        labels: figures.hours.map((h) => hourLabel(h.hour)),
        datasets: [{ label: t("dashboard.rides"), data: figures.hours.map((h) => h.rides), backgroundColor: BLUE }],
      }),
      chartCard("days-chart", t("dashboard.rides_by_day"), {
        type: "bar",
        labels: figures.days.map((d) => dayLabel(d.day)),
        datasets: [
          { label: t("dashboard.rides"), data: figures.days.map((d) => d.rides), backgroundColor: BLUE, yAxisID: "y" },
          { type: "line", label: t("dashboard.per_vehicle"), data: figures.days.map((d) => d.rides_per_vehicle), borderColor: ORANGE, backgroundColor: ORANGE, yAxisID: "perVehicle" },
        ],
        scales: { perVehicle: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } },
      }),
      chartCard("revenue-chart", t("dashboard.revenue_by_day", { currency: figures.currency }), {
        type: "bar",
        labels: figures.days.map((d) => dayLabel(d.day)),
        datasets: [{ label: figures.currency, data: figures.days.map((d) => Number(majorAmount(d.revenue_minor, figures.currency))), backgroundColor: GREEN }],
      }),
    ),
    el("h2", {}, t("dashboard.hotspots")),
    figures.hotspots.length
      ? el(
          "table",
          { class: "rows card", id: "hotspots" },
          el("thead", {}, el("tr", {}, el("th", {}, t("dashboard.hotspot")), el("th", { class: "amount" }, t("dashboard.available")), el("th", { class: "amount" }, t("dashboard.morning_rides")))),
          el(
            "tbody",
            {},
            figures.hotspots.map((spot) =>
              el(
                "tr",
                { "data-hotspot": spot.name, class: spot.available < spot.morning_rides ? "short" : "" },
                el("td", {}, spot.name),
                el("td", { class: "amount" }, spot.available),
                el("td", { class: "amount" }, spot.morning_rides.toFixed(1)),
              ),
            ),
          ),
        )
      : el("p", { class: "muted", id: "no-hotspots" }, t("dashboard.no_hotspots")),
    el(
      "details",
      { class: "card" },
      el("summary", {}, t("dashboard.table")),
      el(
        "table",
        { class: "rows", id: "days-table" },
        el("thead", {}, el("tr", {}, ["day", "rides", "vehicles", "per_vehicle", "revenue_day"].map((key) => el("th", {}, t(`dashboard.${key}`))))),
        el(
          "tbody",
          {},
          figures.days.map((d) =>
            el("tr", { "data-day": d.day }, el("td", {}, d.day), el("td", {}, d.rides), el("td", {}, d.vehicles), el("td", {}, d.rides_per_vehicle.toFixed(2)), el("td", { class: "amount" }, money(d.revenue_minor))),
          ),
        ),
      ),
    ),
  );
  drawCharts(main);
}

// A chart's canvas, described for screen readers; drawn once the page is in the document.
function chartCard(id, title, spec) {
  const canvas = el("canvas", { id, role: "img", "aria-label": title });
  canvas.spec = spec;
  return el("figure", { class: "card chart" }, el("figcaption", {}, title), el("div", { class: "chart-box" }, canvas));
}

function drawCharts(main) {
  for (const canvas of main.querySelectorAll("canvas")) {
    const { type, labels, datasets, scales = {} } = canvas.spec;
    new Chart(canvas, {
      type,
      data: { labels, datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        locale: currentLanguage(),
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, ...scales },
        plugins: { legend: { display: datasets.length > 1 } },
      },
    });
  }
}
