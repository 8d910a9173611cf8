// Offline use: the page's own files are served from a cache, refreshed from the network in the
// background whenever it is reachable. Models are cached by the worker (Cache API), not here.
const SHELL = "sslpron-shell-v1";
const FILES = [
  "./", "index.html", "style.css", "app.js", "config.js", "sentences.js", "scorer-client.js", "recorder.js",
  "recorder-worklet.js", "worker.js", "widget.js", "pkg/sslpron.js", "pkg/sslpron_bg.wasm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.endsWith(".sslpron")) return;
  event.respondWith(
    caches.open(SHELL).then(async (cache) => {
      const cached = await cache.match(event.request, { ignoreSearch: true });
      const refresh = fetch(event.request)
        .then((response) => {
          if (response.ok) cache.put(event.request, response.clone());
          return response;
        })
        .catch(() => cached);
      return cached || refresh;
    }),
  );
});
