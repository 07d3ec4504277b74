// The fleet on a map: each vehicle and item by its state (available, in a ride, reserved,
// out of service, offline), with its battery; counts per state. Live: asked again every
// few seconds with the last answer's ETag, redrawn only when the platform says it changed.
// Filters (state, battery below, zone, code) narrow the map and the list at once; each
// vehicle says why riders cannot take it. The city's rides and fleet export as CSV.
import { t } from "../app/i18n.js";
import { append, api, download, el, poll } from "../common/api.js";
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
  const city = cityOf(params);
  const counts = el("p", { class: "legend", id: "fleet-counts" });
  const shown = el("p", { class: "muted", id: "fleet-shown", role: "status" });
  const mapBox = el("div", { class: "map", id: "fleet-map" });
  const table = el("tbody");
  const { features: zones } = await api("GET", `/api/v1/ops/zones/${encodeURIComponent(city)}`).catch(() => ({ features: [] }));
  const filters = el(
    "form",
    { class: "controls", id: "fleet-filters", role: "search" },
    el("label", {}, t("fleet.filter_state"), el("select", { name: "state" }, el("option", { value: "" }, t("fleet.any")), Object.keys(STATES).map((state) => el("option", { value: state }, t(`state.${state}`))))),
    el("label", {}, t("fleet.filter_battery"), el("input", { name: "battery", type: "number", min: 1, max: 100, size: 4 })),
    el("label", {}, t("fleet.filter_zone"), el("select", { name: "zone" }, el("option", { value: "" }, t("fleet.any")), zones.map((zone, index) => el("option", { value: index }, zone.properties.name)))),
    el("label", {}, t("fleet.filter_code"), el("input", { name: "code", type: "search", value: params.get("q") || "", size: 12 })),
  );
  const exports = el(
    "p",
    { class: "controls" },
    el("button", { type: "button", id: "export-fleet", onclick: () => download(`/api/v1/ops/exports/fleet.csv?city_id=${encodeURIComponent(city)}`, `fleet-${city}.csv`) }, t("fleet.export_fleet")),
    el("button", { type: "button", id: "export-rides", onclick: () => download(`/api/v1/ops/exports/rides.csv?city_id=${encodeURIComponent(city)}`, `rides-${city}.csv`) }, t("fleet.export_rides")),
  );
  const head = ["code", "kind", "state", "battery", "why"].map((key) => el("th", {}, t(`fleet.${key}`)));
  append(main,
    el("h1", {}, t("fleet.title")),
    cityPicker(params, "fleet"),
    filters,
    counts,
    shown,
    el("div", { class: "split" }, mapBox, el("div", { class: "side card", tabindex: 0, role: "region", "aria-label": t("nav.fleet") }, el("table", { class: "rows" }, el("thead", {}, el("tr", {}, ...head)), table))),
    exports,
  );
  const map = await makeMap(mapBox);
  const layer = L.layerGroup().addTo(map);
  let fitted = false;
  let tag = null;
  let assets = [];

  function wanted(asset, state) {
    const chosen = Object.fromEntries(new FormData(filters));
    const code = chosen.code.trim().toLowerCase();
    if (chosen.state && state !== chosen.state) return false;
    if (chosen.battery && !(asset.lock.battery_pct != null && asset.lock.battery_pct < Number(chosen.battery))) return false;
    if (code && !asset.code.toLowerCase().includes(code)) return false;
    if (chosen.zone !== "") {
      const where = asset.lock.position;
      if (!where || !inZone([where.lon, where.lat], zones[Number(chosen.zone)].geometry)) return false;
    }
    return true;
  }

  function draw() {
    layer.clearLayers();
    const tally = Object.fromEntries(Object.keys(STATES).map((state) => [state, 0]));
    const rows = [];
    for (const asset of assets) {
      const state = stateOf(asset);
      tally[state] += 1;
      if (!wanted(asset, state)) continue;
      const battery = asset.lock.battery_pct == null ? "—" : `${asset.lock.battery_pct}%`;
      const why = (asset.unavailable || []).map((reason) => t(`why.${reason}`)).join(t("list.separator"));
      rows.push(el("tr", { "data-code": asset.code, "data-state": state }, el("td", {}, asset.code), el("td", {}, t(`kind.${asset.kind}`)), el("td", {}, t(`state.${state}`)), el("td", {}, battery), el("td", { class: "why" }, why)));
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
        .bindTooltip(t("fleet.tooltip", { code: asset.code, kind: t(`kind.${asset.kind}`), state: t(`state.${state}`), battery }) + (why ? ` · ${why}` : ""))
        .addTo(layer);
    }
    table.replaceChildren(...rows);
    shown.textContent = t("fleet.shown", { n: rows.length, total: assets.length });
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

  async function load() {
    const changed = await poll(`/api/v1/ops/assets?city_id=${encodeURIComponent(city)}`, tag);
    if (!changed) return; // as drawn
    tag = changed.tag;
    assets = changed.data.assets;
    draw();
  }
  filters.addEventListener("input", draw);
  filters.addEventListener("submit", (event) => event.preventDefault());
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  leave(() => clearInterval(timer));
  await load();
}

// Whether [lon, lat] lies in a GeoJSON Polygon or MultiPolygon (even-odd rule: holes too).
function inZone(point, geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  return polygons.some((rings) => rings.filter((ring) => crossings(point, ring) % 2 === 1).length % 2 === 1);
}

function crossings([x, y], ring) {
  let count = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) count += 1;
  }
  return count;
}
