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

export async function makeMap(container) {
  const map = L.map(container, { zoomSnap: 0.25, maxZoom: 19 });
  const { tile_url: url, tile_attribution: attribution } = await webSettings();
  if (url) L.tileLayer(url, { attribution, maxZoom: 19 }).addTo(map);
  else container.classList.add("no-tiles");
  map.setView([31.2304, 121.4737], 13);
  return map;
}
