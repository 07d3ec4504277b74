// A city's zones: seen on the map by kind, drawn point by point on the map, or imported as
// a GeoJSON file; saving replaces the city's zones with what the page shows.
import { explain, t } from "../app/i18n.js";
import { append, api, el } from "../common/api.js";
import { makeMap } from "../common/map.js";
import { cityOf, cityPicker } from "./city.js";

// Each kind's colour; its words are "zone.<kind>" in the messages.
const KINDS = {
  service_area: { colour: "#0072B2" },
  parking: { colour: "#009E73" },
  no_parking: { colour: "#D55E00" },
  no_ride: { colour: "#B2182B" },
  slow: { colour: "#E69F00" },
};
const kindWords = (kind) => (kind in KINDS ? t(`zone.${kind}`) : kind);

export async function zonesPage(main, params) {
  const city = cityOf(params);
  const status = el("p", { id: "zones-status", role: "status" });
  const list = el("ul", { class: "zone-list", id: "zone-list" });
  const drawForm = el(
    "form",
    { class: "card stack", id: "draw-zone" },
    el("h2", {}, t("zones.draw_title")),
    el("p", { class: "muted" }, t("zones.draw_hint")),
    el("label", {}, t("zones.kind"), el("select", { name: "kind" }, Object.keys(KINDS).map((kind) => el("option", { value: kind }, kindWords(kind))))),
    el("label", {}, t("zones.name"), el("input", { name: "name", required: true })),
    el("label", {}, t("zones.speed"), el("input", { name: "max_speed_kph", type: "number", min: 1, max: 60 })),
    el("div", { class: "controls" }, el("button", { type: "submit", id: "add-zone" }, t("zones.add")), el("button", { type: "button", id: "clear-corners" }, t("zones.clear"))),
  );
  const file = el("input", { type: "file", accept: ".geojson,.json,application/geo+json,application/json", id: "zones-file" });
  const importer = el("section", { class: "card stack" }, el("h2", {}, t("zones.import_title")), el("p", { class: "muted" }, t("zones.import_hint")), el("label", {}, t("zones.import_file"), file));
  const mapBox = el("div", { class: "map", id: "zones-map" });
  append(main,
    el("h1", {}, t("zones.title")),
    cityPicker(params, "zones"),
    el("div", { class: "split" }, mapBox, el("div", { class: "side" }, list, el("p", {}, el("button", { id: "save-zones", type: "button" }, t("zones.save"))), status, drawForm, importer)),
  );
  const map = await makeMap(mapBox);
  const drawn = L.layerGroup().addTo(map);
  const corners = L.polyline([], { color: "#000", dashArray: "4 4" }).addTo(map);
  let collection = await api("GET", `/api/v1/ops/zones/${encodeURIComponent(city)}`);

  function render(fit) {
    drawn.clearLayers();
    const layer = L.geoJSON(collection, {
      style: (feature) => ({ color: (KINDS[feature.properties.kind] || {}).colour || "#333", weight: 2, fillOpacity: 0.15 }),
      onEachFeature: (feature, shape) => shape.bindTooltip(`${feature.properties.name} (${kindWords(feature.properties.kind)})`),
    }).addTo(drawn);
    list.replaceChildren(
      ...collection.features.map((feature, index) =>
        el(
          "li",
          { "data-kind": feature.properties.kind },
          `${feature.properties.name} · ${kindWords(feature.properties.kind)}`,
          el("button", { type: "button", class: "small", title: t("zones.remove"), onclick: () => { collection.features.splice(index, 1); render(false); } }, "×"),
        ),
      ),
    );
    if (fit && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { animate: false });
  }
  render(true);

  map.on("click", (event) => corners.addLatLng(event.latlng));
  drawForm.querySelector("#clear-corners").addEventListener("click", () => corners.setLatLngs([]));
  drawForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const points = corners.getLatLngs().map(({ lat, lng }) => [lng, lat]);
    if (points.length < 3) {
      status.textContent = t("zones.three_corners");
      return;
    }
    const data = Object.fromEntries(new FormData(drawForm));
    const properties = { kind: data.kind, name: data.name.trim() };
    if (data.max_speed_kph) properties.max_speed_kph = Number(data.max_speed_kph);
    collection.features.push({ type: "Feature", geometry: { type: "Polygon", coordinates: [[...points, points[0]]] }, properties });
    corners.setLatLngs([]);
    drawForm.reset();
    status.textContent = t("zones.added", { name: properties.name });
    render(false);
  });
  file.addEventListener("change", async () => {
    try {
      const read = JSON.parse(await file.files[0].text());
      if (read.type !== "FeatureCollection" || !Array.isArray(read.features)) throw new Error(t("zones.not_geojson"));
      collection = read;
      status.textContent = t("zones.read", { n: read.features.length });
      render(true);
    } catch (error) {
      status.textContent = t("zones.bad_file", { message: error.message });
    }
  });
  main.querySelector("#save-zones").addEventListener("click", async () => {
    try {
      const saved = await api("PUT", `/api/v1/ops/zones/${encodeURIComponent(city)}`, collection);
      status.textContent = t("zones.saved", { n: saved.zones, city });
    } catch (error) {
      status.textContent = explain(error);
    }
  });
}
