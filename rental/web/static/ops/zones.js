// A city's zones: seen on the map by kind, drawn point by point on the map, or imported as
// a GeoJSON file; saving replaces the city's zones with what the page shows.
import { api, el } from "../common/api.js";
import { makeMap } from "../common/map.js";
import { cityOf, cityPicker } from "./city.js";

const KINDS = {
  service_area: { label: "Service area", colour: "#0072B2" },
  parking: { label: "Parking hotspot", colour: "#009E73" },
  no_parking: { label: "No parking", colour: "#D55E00" },
  no_ride: { label: "No riding", colour: "#B2182B" },
  slow: { label: "Slow zone", colour: "#E69F00" },
};

export async function zonesPage(main, params) {
  const city = cityOf(params);
  const status = el("p", { id: "zones-status", role: "status" });
  const list = el("ul", { class: "zone-list", id: "zone-list" });
  const drawForm = el(
    "form",
    { class: "card stack", id: "draw-zone" },
    el("h2", {}, "Draw a zone"),
    el("p", { class: "muted" }, "Click the map at each corner, then give the zone a kind and a name."),
    el("label", {}, "Kind", el("select", { name: "kind" }, Object.entries(KINDS).map(([kind, { label }]) => el("option", { value: kind }, label)))),
    el("label", {}, "Name", el("input", { name: "name", required: true })),
    el("label", {}, "Speed limit, km/h (slow zones)", el("input", { name: "max_speed_kph", type: "number", min: 1, max: 60 })),
    el("div", { class: "controls" }, el("button", { type: "submit", id: "add-zone" }, "Add the zone"), el("button", { type: "button", id: "clear-corners" }, "Clear corners")),
  );
  const file = el("input", { type: "file", accept: ".geojson,.json,application/geo+json,application/json", id: "zones-file" });
  const importer = el("section", { class: "card stack" }, el("h2", {}, "Import GeoJSON"), el("p", { class: "muted" }, "A FeatureCollection of polygons with properties kind and name: it replaces the zones shown."), el("label", {}, "GeoJSON file", file));
  const mapBox = el("div", { class: "map", id: "zones-map" });
  main.append(
    el("h1", {}, "Zones"),
    cityPicker(params, "zones"),
    el("div", { class: "split" }, mapBox, el("div", { class: "side" }, list, el("p", {}, el("button", { id: "save-zones", type: "button" }, "Save zones")), status, drawForm, importer)),
  );
  const map = await makeMap(mapBox);
  const drawn = L.layerGroup().addTo(map);
  const corners = L.polyline([], { color: "#000", dashArray: "4 4" }).addTo(map);
  let collection = await api("GET", `/api/v1/ops/zones/${encodeURIComponent(city)}`);

  function render(fit) {
    drawn.clearLayers();
    const layer = L.geoJSON(collection, {
      style: (feature) => ({ color: (KINDS[feature.properties.kind] || {}).colour || "#333", weight: 2, fillOpacity: 0.15 }),
      onEachFeature: (feature, shape) => shape.bindTooltip(`${feature.properties.name} (${feature.properties.kind})`),
    }).addTo(drawn);
    list.replaceChildren(
      ...collection.features.map((feature, index) =>
        el(
          "li",
          { "data-kind": feature.properties.kind },
          `${feature.properties.name} · ${(KINDS[feature.properties.kind] || {}).label || feature.properties.kind}`,
          el("button", { type: "button", class: "small", title: "Remove", onclick: () => { collection.features.splice(index, 1); render(false); } }, "×"),
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
      status.textContent = "Click at least three corners on the map first.";
      return;
    }
    const data = Object.fromEntries(new FormData(drawForm));
    const properties = { kind: data.kind, name: data.name.trim() };
    if (data.max_speed_kph) properties.max_speed_kph = Number(data.max_speed_kph);
    collection.features.push({ type: "Feature", geometry: { type: "Polygon", coordinates: [[...points, points[0]]] }, properties });
    corners.setLatLngs([]);
    drawForm.reset();
    status.textContent = `Added "${properties.name}". Save to publish it.`;
    render(false);
  });
  file.addEventListener("change", async () => {
    try {
      const read = JSON.parse(await file.files[0].text());
      if (read.type !== "FeatureCollection" || !Array.isArray(read.features)) throw new Error("not a GeoJSON FeatureCollection");
      collection = read;
      status.textContent = `${read.features.length} zones read. Save to publish them.`;
      render(true);
    } catch (error) {
      status.textContent = `That file cannot be used: ${error.message}`;
    }
  });
  main.querySelector("#save-zones").addEventListener("click", async () => {
    try {
      const saved = await api("PUT", `/api/v1/ops/zones/${encodeURIComponent(city)}`, collection);
      status.textContent = `Saved: ${saved.zones} zones are live in ${city}.`;
    } catch (error) {
      status.textContent = error.message;
    }
  });
}
