// Installs the service worker (the page shell opens offline) and says when we are offline.

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    // Without a service worker the site still works online; nothing to tell the user.
  });
}

/** Shows the banner while the browser is offline, and hides it once back. */
export function watchConnection(banner, onChange = () => {}) {
  const update = () => {
    banner.hidden = navigator.onLine !== false;
    onChange(navigator.onLine !== false);
  };
  window.addEventListener("online", update);
  window.addEventListener("offline", update);
  update();
}
