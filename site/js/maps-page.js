// /feature_maps: the maps of one prediction from this browser's history (?id=...), or the latest.

import { registerServiceWorker, watchConnection } from "./offline.js";
import { formatConfidence, formatTime, historyItem, renderFeatureMaps } from "./render.js";
import { findInHistory, linkExpiresAt, loadHistory } from "./store.js";

const byId = (id) => document.getElementById(id);

function chosenEntry() {
  const id = new URLSearchParams(location.search).get("id");
  if (id) return { id, entry: findInHistory(id) };
  return { id: null, entry: loadHistory()[0] ?? null };
}

function showSource(entry) {
  const { result } = entry;
  byId("source").hidden = false;
  const thumb = byId("source-thumb");
  if (entry.thumb) thumb.src = entry.thumb;
  thumb.hidden = !entry.thumb;
  byId("source-text").textContent =
    `${entry.notDigit ? `Not a digit (closest: ${entry.digit})` : `Your ${entry.digit}`}, read with ` +
    `${formatConfidence(entry.confidence)} confidence at ${formatTime(entry.time)}.`;
  const input = byId("input-img");
  if (result.input_url && Date.now() < linkExpiresAt(result.input_url, entry.time)) input.src = result.input_url;
  else input.closest("figure").hidden = true;
}

function showOthers(current) {
  const others = loadHistory().filter((entry) => entry.id !== current?.id);
  byId("history-list").replaceChildren(...others.map(historyItem));
  byId("others").hidden = others.length === 0;
}

function start() {
  const notice = byId("maps-notice");
  const { id, entry } = chosenEntry();
  if (!entry?.result) {
    notice.hidden = false;
    notice.textContent = id
      ? "That prediction is not in this browser's history (it may have been cleared). Make a new one on the Recognize page."
      : "No prediction yet. Upload, photograph or draw a digit on the Recognize page, then come back here.";
  } else {
    showSource(entry);
    renderFeatureMaps(entry.result, { since: entry.time, notice });
  }
  showOthers(entry);
}

start();
watchConnection(byId("offline-banner"));
registerServiceWorker();
