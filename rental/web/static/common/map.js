// A Leaflet map with the platform's tile settings (/web-config.json). Without a tile URL
// (offline, or no tile provider configured) the map has no base layer: features still show.

let settings;
// Offline, a map still opens here (the demo city's centre) and without tiles.
const FALLBACK = { tile_url: "", tile_attribution: "", center: { lon: 121.4737, lat: 31.2304 } };

export async function webSettings() {
  if (!settings) {
    settings = fetch("/web-config.json")
      .then((answer) => answer.json())
      .catch(() => FALLBACK);
  }
  return settings;
}

// Leaflet (its script and styles) is fetched by the first map, not with a page's first
// screen: a rider opening the app from a QR code sees it sooner on a slow link. A page
// that loads Leaflet itself (the console) finds it here already.
let leafletLoading = null;
export function leaflet() {
  if (window.L) return Promise.resolve(window.L);
  leafletLoading ??= new Promise((resolve, reject) => {
    const styles = Object.assign(document.createElement("link"), { rel: "stylesheet", href: "/vendor/leaflet/leaflet.css" });
    const script = Object.assign(document.createElement("script"), { src: "/vendor/leaflet/leaflet.js" });
    const styled = new Promise((done) => {
      styles.addEventListener("load", done);
      styles.addEventListener("error", done); // a map without its styles still works
    });
    script.addEventListener("load", () => styled.then(() => resolve(window.L)));
    script.addEventListener("error", () => {
      leafletLoading = null; // the next map tries again
      reject(new Error("the map could not be loaded"));
    });
    document.head.append(styles, script);
  });
  return leafletLoading;
}

export async function makeMap(container) {
  await leaflet();
  const map = L.map(container, { zoomSnap: 0.25, maxZoom: 19 });
  const { tile_url: url, tile_attribution: attribution } = await webSettings();
  if (url) L.tileLayer(url, { attribution, maxZoom: 19 }).addTo(map);
  else container.classList.add("no-tiles");
  map.setView([31.2304, 121.4737], 13);
  return map;
}

// Zones as riders read them: red where a trip may not end (no parking, no riding), green
// hotspots where parking is encouraged, the service area's edge dashed. They sit under the
// markers and take no taps.
const ZONE_STYLES = {
  service_area: { color: "#0072b2", weight: 2, fill: false, dashArray: "8 6" },
  parking: { color: "#009e73", weight: 1, fillOpacity: 0.2 },
  slow: { color: "#e69f00", weight: 1, fillOpacity: 0.12, dashArray: "2 4" },
  no_parking: { color: "#d7301f", weight: 1, fillOpacity: 0.3 },
  no_ride: { color: "#99000d", weight: 2, fillOpacity: 0.4 },
};

let running;

// The running city (GET /api/v1/cities, public) whose centre is nearest `latlng`, or null.
export async function cityNear(latlng) {
  await leaflet();
  running ??= fetch("/api/v1/cities")
    .then((answer) => (answer.ok ? answer.json() : { cities: [] }))
    .then((listed) => listed.cities)
    .catch(() => []);
  let nearest = null;
  let best = Infinity;
  for (const city of await running) {
    const metres = L.latLng(latlng).distanceTo([city.center.lat, city.center.lon]);
    if (metres < best) [nearest, best] = [city, metres];
  }
  return nearest;
}

// Draws the city's zones (GET /api/v1/cities/<id>/zones, public) on `map`: the layer, or
// null when they cannot be read (offline, say: the map works without them).
export async function drawZones(map, cityId) {
  const answer = await fetch(`/api/v1/cities/${encodeURIComponent(cityId)}/zones`).catch(() => null);
  if (!answer || !answer.ok) return null;
  const zones = await answer.json();
  return L.geoJSON(zones, {
    interactive: false,
    style: (feature) => {
      const kind = feature.properties.kind;
      return { ...(ZONE_STYLES[kind] || ZONE_STYLES.slow), className: `zone zone-${kind}` };
    },
  }).addTo(map);
}

// A trip's route on `map`: its trace (`points` as [lat, lng], in order) with where it
// started (green) and ended (red), the map fitted to it. Nothing is drawn for no points.
export function drawRoute(map, points) {
  if (!points.length) return null;
  L.polyline(points, { color: "#0072b2", weight: 5, className: "route" }).addTo(map);
  const end = (at, name) =>
    L.circleMarker(at, { radius: 7, weight: 3, color: "#fff", fillColor: name === "start" ? "#009e73" : "#d7301f", fillOpacity: 1, className: `route-${name}` });
  end(points[0], "start").addTo(map);
  end(points[points.length - 1], "end").addTo(map);
  const bounds = L.latLngBounds(points).pad(0.3);
  map.fitBounds(bounds, { maxZoom: 17, animate: false });
  return bounds;
}

// GeoJSON positions ([lon, lat]) as Leaflet's [lat, lng].
export const latLngs = (positions) => (positions || []).map(([lon, lat]) => [lat, lon]);
