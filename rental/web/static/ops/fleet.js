// The fleet on a map: each vehicle and item by its state (available, in a ride, reserved,
// out of service, offline), with its battery; counts per state; refreshed every 15 s.
import { api, el } from "../common/api.js";
import { makeMap } from "../common/map.js";
import { cityOf, cityPicker } from "./city.js";

const STATES = {
  available: { label: "Available", colour: "#009E73" },
  riding: { label: "In a ride", colour: "#0072B2" },
  reserved: { label: "Reserved", colour: "#E69F00" },
  out_of_service: { label: "Out of service", colour: "#777777" },
  offline: { label: "Offline", colour: "#D55E00" },
};
const REFRESH_MS = 15000;

export function stateOf(asset) {
  if (asset.rental_state === "active" || asset.rental_state === "unlocking") return "riding";
  if (!asset.in_service || asset.open_damage_reports || asset.needs_retrieval) return "out_of_service";
  if (!asset.lock.online) return "offline";
  if ((asset.unavailable || []).includes("reserved")) return "reserved";
  return asset.available ? "available" : "out_of_service";
}

export async function fleetPage(main, params, leave) {
  const counts = el("p", { class: "legend", id: "fleet-counts" });
  const mapBox = el("div", { class: "map", id: "fleet-map" });
  const table = el("tbody");
  main.append(
    el("h1", {}, "Fleet"),
    cityPicker(params, "fleet"),
    counts,
    el("div", { class: "split" }, mapBox, el("div", { class: "side card" }, el("table", { class: "rows" }, el("thead", {}, el("tr", {}, el("th", {}, "Code"), el("th", {}, "Kind"), el("th", {}, "State"), el("th", {}, "Battery"))), table))),
  );
  const map = await makeMap(mapBox);
  const layer = L.layerGroup().addTo(map);
  let fitted = false;

  async function load() {
    const city = cityOf(params);
    const { assets } = await api("GET", `/api/v1/ops/assets?city_id=${encodeURIComponent(city)}`);
    layer.clearLayers();
    const tally = Object.fromEntries(Object.keys(STATES).map((state) => [state, 0]));
    const rows = [];
    for (const asset of assets) {
      const state = stateOf(asset);
      tally[state] += 1;
      const battery = asset.lock.battery_pct == null ? "—" : `${asset.lock.battery_pct}%`;
      rows.push(el("tr", { "data-code": asset.code, "data-state": state }, el("td", {}, asset.code), el("td", {}, asset.kind), el("td", {}, STATES[state].label), el("td", {}, battery)));
      const where = asset.lock.position;
      if (!where) continue;
      L.circleMarker([where.lat, where.lon], {
        className: `asset state-${state}`,
        radius: 7,
        color: "white",
        weight: 2,
        fillColor: STATES[state].colour,
        fillOpacity: 1,
      })
        .bindTooltip(`${asset.code} · ${asset.kind} · ${STATES[state].label} · battery ${battery}`)
        .addTo(layer);
    }
    table.replaceChildren(...rows);
    counts.replaceChildren(
      ...Object.entries(STATES).flatMap(([state, { label, colour }]) => {
        const dot = el("span", { class: "dot" });
        dot.style.background = colour;
        dot.style.borderColor = colour;
        return [dot, el("span", { "data-count": state }, `${label}: ${tally[state]}`)];
      }),
    );
    const placed = layer.getLayers().map((marker) => marker.getLatLng());
    if (!fitted && placed.length) {
      map.fitBounds(L.latLngBounds(placed).pad(0.1), { maxZoom: 17, animate: false });
      fitted = true;
    }
  }
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  leave(() => clearInterval(timer));
  await load();
}
