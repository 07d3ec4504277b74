// Where riders looked for a vehicle and found none: a heatmap (leaflet.heat, from the npm
// registry) of the searches that found no vehicle in a city over some of its days, and on
// top of it the vehicles riders could take now, both counted per grid cell of about 140 m
// (GET /api/v1/ops/unmet-demand). The busiest cells are listed beside the map in numbers.
import { t } from "../app/i18n.js";
import { append, api, el } from "../common/api.js";
import { makeMap } from "../common/map.js";
import { cityOf, cityPicker, knownCities } from "./city.js";

const LISTED = 15; // cells listed beside the map, busiest first
// Blue for few, through yellow, to red for many: readable with the common colour
// blindnesses, and the same in the legend's bar.
const GRADIENT = { 0.2: "#2c7bb6", 0.5: "#ffffbf", 0.8: "#fdae61", 1.0: "#d7191c" };
const VEHICLE = "#000000";

export async function demandPage(main, params, onLeave) {
  const city = cityOf(params);
  const query = new URLSearchParams({ city_id: city });
  for (const end of ["first_day", "last_day"]) if (params.get(end)) query.set(end, params.get(end));
  const found = await api("GET", `/api/v1/ops/unmet-demand?${query}`);

  const first = el("input", { type: "date", id: "first-day", name: "first_day", value: found.first_day, required: true });
  const last = el("input", { type: "date", id: "last-day", name: "last_day", value: found.last_day, required: true });
  const days = el(
    "form",
    { class: "controls", id: "demand-days" },
    el("label", {}, t("demand.from"), first),
    el("label", {}, t("demand.to"), last),
    el("button", { type: "submit" }, t("demand.show")),
  );
  days.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/demand?city=${encodeURIComponent(city)}&first_day=${first.value}&last_day=${last.value}`;
  });
  const vehicles = found.vehicles.reduce((sum, cell) => sum + cell.count, 0);
  const mapBox = el("div", { class: "map", id: "demand-map", role: "region", "aria-label": t("demand.map") });
  append(main,
    el("h1", {}, t("demand.title")),
    el("div", { class: "controls" }, cityPicker(params, "demand"), days),
    el("p", { id: "demand-summary", role: "status" }, t("demand.summary", { searches: found.searches, vehicles, first: found.first_day, last: found.last_day })),
    el(
      "div",
      { class: "split" },
      el(
        "div",
        {},
        mapBox,
        el(
          "p",
          { class: "legend", id: "demand-legend" },
          el("span", { class: "heat-key" }), t("demand.key_searches"),
          el("span", { class: "vehicle-key" }), t("demand.key_vehicles"),
        ),
        el("p", { class: "muted" }, t("demand.privacy")),
      ),
      el("div", { class: "side" }, busiest(found)),
    ),
  );
  const map = await makeMap(mapBox);
  const most = Math.max(1, ...found.unmet.map((cell) => cell.count));
  const heat = L.heatLayer(
    found.unmet.map((cell) => [cell.lat, cell.lon, cell.count]),
    // Full strength from a city's zoom on (leaflet.heat fades points zoomed out of maxZoom).
    { radius: 28, blur: 18, max: most, maxZoom: 12, minOpacity: 0.35, gradient: GRADIENT },
  ).addTo(map);
  // The heat is redrawn on a frame of its own: once the page is left it stops drawing on a
  // canvas no longer in the page. The map itself stays, as on the other pages: removed
  // during a zoom's animation, Leaflet would still end the animation on panes it took away.
  onLeave(() => heat.remove());
  // The vehicles sit in a pane of their own above the heat, so they are never hidden by it.
  map.createPane("vehicles").style.zIndex = 450;
  for (const cell of found.vehicles) {
    L.circleMarker([cell.lat, cell.lon], {
      pane: "vehicles",
      radius: 4 + Math.min(8, Math.sqrt(cell.count) * 2),
      color: "#ffffff",
      weight: 1.5,
      fillColor: VEHICLE,
      fillOpacity: 0.85,
    })
      .bindTooltip(t("demand.vehicles_here", { n: cell.count }))
      .addTo(map);
  }
  const points = [...found.unmet, ...found.vehicles].map((cell) => [cell.lat, cell.lon]);
  if (points.length) map.fitBounds(points, { padding: [30, 30], maxZoom: 16, animate: false });
  else {
    const known = (await knownCities()).find((c) => c.id === city);
    if (known && known.center) map.setView([known.center.lat, known.center.lon], 13, { animate: false });
  }
}

function busiest(found) {
  if (!found.unmet.length) return el("p", { class: "muted", id: "no-demand" }, t("demand.none"));
  return el(
    "table",
    { class: "rows card", id: "demand-cells" },
    el("caption", {}, t("demand.busiest")),
    el("thead", {}, el("tr", {}, el("th", {}, t("demand.cell")), el("th", { class: "amount" }, t("demand.searches")))),
    el(
      "tbody",
      {},
      found.unmet.slice(0, LISTED).map((cell) =>
        el("tr", { "data-count": cell.count }, el("td", {}, `${cell.lat.toFixed(4)}, ${cell.lon.toFixed(4)}`), el("td", { class: "amount" }, cell.count)),
      ),
    ),
  );
}
