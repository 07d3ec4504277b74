// The printable receipt's route map: the trip's trace (carried by the page) over the
// city's zones, so it reads without a tile server and on paper. Printing waits for it:
// the Print button is enabled once it is drawn, and the map is fitted again to the
// paper's width before the page is printed.
import { drawRoute, drawZones, latLngs, makeMap } from "../common/map.js";

const box = document.getElementById("receipt-map");
const print = document.getElementById("print");

async function drawn() {
  const points = latLngs(JSON.parse(box.dataset.route || "[]"));
  const map = await makeMap(box);
  const bounds = drawRoute(map, points);
  box.dataset.points = String(points.length);
  if (!bounds) box.append(Object.assign(document.createElement("p"), { className: "map-note", textContent: box.dataset.noRoute }));
  await drawZones(map, box.dataset.city).catch(() => null);
  const refit = () => {
    map.invalidateSize({ animate: false });
    if (bounds) map.fitBounds(bounds, { maxZoom: 17, animate: false });
  };
  window.addEventListener("beforeprint", refit);
  window.matchMedia("print").addEventListener("change", refit);
  return map;
}

const ready = box ? drawn().catch(() => null) : Promise.resolve(null);
ready.then(() => {
  if (box) box.dataset.ready = "true";
  if (print) print.disabled = false;
});
print?.addEventListener("click", async () => {
  await ready;
  window.print();
});
