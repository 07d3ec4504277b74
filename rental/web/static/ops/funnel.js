// The rider funnel of a city over a range of its days: how many app visits reached each
// step from opening the map to the ride's end, the share of the step before that went on,
// and why visits stopped (a deposit needed, money owed, a lock offline, nothing nearby,
// ...). Figures come from GET /api/v1/ops/funnel; the chart is Chart.js (from the npm
// registry), with its numbers in the table below it.
import { currentLanguage, label, t } from "../app/i18n.js";
import { append, api, el } from "../common/api.js";
import { cityOf, cityPicker } from "./city.js";

const BLUE = "#0072B2";
const ORANGE = "#E69F00";
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function funnelPage(main, params) {
  const city = cityOf(params);
  const query = new URLSearchParams({ city_id: city });
  for (const name of ["from", "to"]) {
    if (DAY.test(params.get(name) || "")) query.set(name, params.get(name));
  }
  const funnel = await api("GET", `/api/v1/ops/funnel?${query}`);
  const percent = (share) => (share == null ? "—" : `${(share * 100).toFixed(1)}%`);
  const from = el("input", { type: "date", id: "from", name: "from", value: funnel.first_day, required: true });
  const to = el("input", { type: "date", id: "to", name: "to", value: funnel.last_day, required: true });
  const range = el(
    "form",
    { class: "controls", id: "days" },
    el("label", {}, t("funnel.from"), from),
    el("label", {}, t("funnel.to"), to),
    el("button", { type: "submit" }, t("funnel.show")),
  );
  range.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams({ city, from: from.value, to: to.value });
    location.hash = `#/funnel?${chosen}`;
  });
  const steps = funnel.steps;
  const names = steps.map((step) => label("funnel.step", step.step));
  const canvas = el("canvas", { id: "funnel-chart", role: "img", "aria-label": t("funnel.chart") });
  append(main,
    el("h1", {}, t("funnel.title")),
    el("div", { class: "controls" }, cityPicker(params, "funnel"), range),
    el("p", { class: "muted", id: "funnel-days" }, t("funnel.days", { first: funnel.first_day, last: funnel.last_day, zone: funnel.time_zone })),
    el("figure", { class: "card chart" }, el("figcaption", {}, t("funnel.chart")), el("div", { class: "chart-box" }, canvas)),
    el(
      "table",
      { class: "rows card", id: "funnel-steps" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", {}, t("funnel.step")),
          el("th", { class: "amount" }, t("funnel.visits")),
          el("th", { class: "amount" }, t("funnel.conversion")),
          el("th", {}, t("funnel.drop_outs")),
        ),
      ),
      el(
        "tbody",
        {},
        steps.map((step, index) =>
          el(
            "tr",
            { "data-step": step.step },
            el("td", {}, names[index]),
            el("td", { class: "amount visits" }, step.visits),
            el("td", { class: "amount conversion" }, percent(step.conversion)),
            el(
              "td",
              { class: "drop-outs" },
              step.drop_outs.length
                ? el(
                    "ul",
                    { class: "plain" },
                    step.drop_outs.map((drop) =>
                      el("li", { "data-reason": drop.reason }, t("funnel.drop_out", { reason: label("funnel.reason", drop.reason), n: drop.visits })),
                    ),
                  )
                : "—",
            ),
          ),
        ),
      ),
    ),
    el("p", { class: "muted" }, t("funnel.explained")),
  );
  // The steps as a funnel: visits that reached each, and those that dropped out before it.
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: names,
      datasets: [
        { label: t("funnel.visits"), data: steps.map((step) => step.visits), backgroundColor: BLUE, stack: "all" },
        {
          label: t("funnel.dropped"),
          data: steps.map((step) => step.drop_outs.reduce((sum, drop) => sum + drop.visits, 0)),
          backgroundColor: ORANGE,
          stack: "all",
        },
      ],
    },
    options: {
      indexAxis: "y",
      animation: false,
      maintainAspectRatio: false,
      locale: currentLanguage(),
      scales: { x: { beginAtZero: true, stacked: true, ticks: { precision: 0 } }, y: { stacked: true } },
    },
  });
}
