// The rider app's service worker: the app's own files are kept for offline starts (network
// first, so a new release shows at once when online). API answers are never cached: they
// are the rider's own, and stale money or vehicle states would mislead.
//
// "Network first" means the platform, not the browser's HTTP cache (which keeps /web/ files
// for minutes): every fetch here revalidates with the platform. Only answers that succeeded
// are kept: a 404 or 503 met during a deploy must not replace the copy an offline start needs.
const CACHE = "rider-app-v3";
const SHELL = [
  "/app/",
  "/web/app/app.js",
  "/web/app/i18n.js",
  "/web/app/funnel.js",
  "/web/app/app.css",
  "/web/app/messages/en.json",
  "/web/app/messages/zh-CN.json",
  "/web/common/api.js",
  "/web/common/map.js",
  "/vendor/leaflet/leaflet.js",
  "/vendor/leaflet/leaflet.css",
  "/vendor/leaflet.markercluster/leaflet.markercluster.js",
  "/vendor/leaflet.markercluster/MarkerCluster.css",
  "/vendor/leaflet.markercluster/MarkerCluster.Default.css",
  "/vendor/jsqr/jsQR.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)))),
  );
  self.clients.claim();
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(fromPlatform(url.pathname));
});

// Keyed by path: the page's own request and the install's are one entry.
async function fromPlatform(path) {
  let answer;
  try {
    answer = await fetch(path, { cache: "no-cache", credentials: "same-origin" });
  } catch {
    return (await caches.match(path)) || Response.error();
  }
  if (answer.ok) {
    const copy = answer.clone();
    await caches.open(CACHE).then((cache) => cache.put(path, copy));
    return answer;
  }
  // A failed answer (a deploy under way, say): the copy kept, if there is one.
  return (await caches.match(path)) || answer;
}
