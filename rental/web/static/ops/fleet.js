// The fleet on a map: each vehicle and item by its state (available, in a ride, reserved,
// out of service, offline), with its battery; counts per state. Live: asked again every
// few seconds with the last answer's ETag, redrawn only when the platform says it changed.
import { t } from "../app/i18n.js";
import { el, poll } from "../common/api.js";
import { makeMap } from "../common/map.js";
import { cityOf, cityPicker } from "./city.js";

// Each state's colour; its words are "state.<state>" in the messages.
const STATES = {
  available: { colour: "#009E73" },
  riding: { colour: "#0072B2" },
  reserved: { colour: "#E69F00" },
  out_of_service: { colour: "#777777" },
  offline: { colour: "#D55E00" },
};
const REFRESH_MS = 5000;

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
    el("h1", {}, t("fleet.title")),
    cityPicker(params, "fleet"),
    counts,
    el("div", { class: "split" }, mapBox, el("div", { class: "side card" }, el("table", { class: "rows" }, el("thead", {}, el("tr", {}, el("th", {}, t("fleet.code")), el("th", {}, t("fleet.kind")), el("th", {}, t("fleet.state")), el("th", {}, t("fleet.battery")))), table))),
  );
  const map = await makeMap(mapBox);
  const layer = L.layerGroup().addTo(map);
  let fitted = false;
  let tag = null;

  async function load() {
    const city = cityOf(params);
    const changed = await poll(`/api/v1/ops/assets?city_id=${encodeURIComponent(city)}`, tag);
    if (!changed) return; // as drawn
    tag = changed.tag;
    const { assets } = changed.data;
    layer.clearLayers();
    const tally = Object.fromEntries(Object.keys(STATES).map((state) => [state, 0]));
    const rows = [];
    for (const asset of assets) {
      const state = stateOf(asset);
      tally[state] += 1;
      const battery = asset.lock.battery_pct == null ? "—" : `${asset.lock.battery_pct}%`;
      rows.push(el("tr", { "data-code": asset.code, "data-state": state }, el("td", {}, asset.code), el("td", {}, t(`kind.${asset.kind}`)), el("td", {}, t(`state.${state}`)), el("td", {}, battery)));
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
        .bindTooltip(t("fleet.tooltip", { code: asset.code, kind: t(`kind.${asset.kind}`), state: t(`state.${state}`), battery }))
        .addTo(layer);
    }
    table.replaceChildren(...rows);
    counts.replaceChildren(
      ...Object.entries(STATES).flatMap(([state, { colour }]) => {
        const dot = el("span", { class: "dot" });
        dot.style.background = colour;
        dot.style.borderColor = colour;
        return [dot, el("span", { "data-count": state }, t("fleet.count", { state: t(`state.${state}`), n: tally[state] }))];
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
