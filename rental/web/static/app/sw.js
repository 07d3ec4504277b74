// The rider app's service worker: the app's own files are kept for offline starts (network
// first, so a new release shows at once when online). API answers are never cached: they
// are the rider's own, and stale money or vehicle states would mislead.
const CACHE = "rider-app-v1";
const SHELL = [
  "/app/",
  "/web/app/app.js",
  "/web/app/i18n.js",
  "/web/app/app.css",
  "/web/app/messages/en.json",
  "/web/app/messages/zh-CN.json",
  "/web/common/api.js",
  "/web/common/map.js",
  "/vendor/leaflet/leaflet.js",
  "/vendor/leaflet/leaflet.css",
  "/vendor/jsqr/jsQR.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
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
  event.respondWith(
    fetch(event.request)
      .then((answer) => {
        const copy = answer.clone();
        caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        return answer;
      })
      .catch(() => caches.match(event.request)),
  );
});
