// Service worker: keeps the page shell so the site opens offline. The API is never cached:
// predictions need the network, and the page says so when it is offline.

const CACHE = "digits-shell-v4";
const SHELL = [
  "/",
  "/feature_maps",
  "/css/style.css",
  "/js/app.js",
  "/js/api.js",
  "/js/correction.js",
  "/js/draw.js",
  "/js/explain.js",
  "/js/mapzoom.js",
  "/js/maps-page.js",
  "/js/offline.js",
  "/js/render.js",
  "/js/shrink.js",
  "/js/store.js",
  "/manifest.webmanifest",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/favicon-32.png",
  "/icons/apple-touch-icon.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

// Network first (so a deploy shows at once), the cached shell when the network fails.
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  // One cached copy per page, whatever its query (/feature_maps?id=...).
  const key = request.mode === "navigate" ? new URL(request.url).pathname : request;
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") cache.put(key, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    if (request.mode === "navigate") {
      const page = new URL(request.url).pathname.startsWith("/feature_maps") ? "/feature_maps" : "/";
      const shell = await cache.match(page);
      if (shell) return shell;
    }
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // predictions and deletions: network only
  event.respondWith(networkFirst(request));
});
