// This browser's prediction history, kept in localStorage.

const HISTORY_KEY = "digits.history.v1";
const MAX_ENTRIES = 12;
const THUMB_SIZE = 56;
// Presigned links last 15 minutes unless the URL itself says otherwise (X-Amz-Expires).
const DEFAULT_LINK_LIFETIME_S = 15 * 60;

function readJson(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false; // storage full or disabled: the page keeps working without history
  }
}

/** Newest first: [{id, digit, confidence, time, thumb, result}]. */
export function loadHistory() {
  const entries = readJson(HISTORY_KEY, []);
  return Array.isArray(entries) ? entries.filter((entry) => entry && entry.id) : [];
}

/** Adds (or replaces, by id or by `replaces`) an entry for a prediction result. */
export function addToHistory(result, thumb, replaces = null) {
  const entry = {
    id: result.prediction_id,
    digit: result.predicted_digit,
    confidence: result.confidence,
    notDigit: result.is_digit === false,
    time: new Date().toISOString(),
    thumb,
    result,
  };
  const others = loadHistory().filter((old) => old.id !== entry.id && old.id !== replaces);
  const entries = [entry, ...others].slice(0, MAX_ENTRIES);
  // If storage is full, drop the oldest entries until it fits.
  while (entries.length && !writeJson(HISTORY_KEY, entries)) entries.pop();
  return entry;
}

/**
 * One entry for a row of digits: its number as the entry's digit, its least sure digit's
 * confidence, the first digit's prediction (its maps are what the entry links to), and every
 * digit's prediction id (all of them are deleted with the entry).
 */
export function addRowToHistory(row, thumb) {
  const stored = row.digits.filter((digit) => digit.prediction_id);
  if (!stored.length) return null;
  const entry = {
    id: stored[0].prediction_id,
    ids: stored.map((digit) => digit.prediction_id),
    digit: row.number || "?",
    notDigit: !row.number,
    confidence: Math.min(...row.digits.map((digit) => digit.confidence)),
    time: new Date().toISOString(),
    thumb,
    result: stored[0],
  };
  const entries = [entry, ...loadHistory().filter((old) => old.id !== entry.id)].slice(0, MAX_ENTRIES);
  while (entries.length && !writeJson(HISTORY_KEY, entries)) entries.pop();
  return entry;
}

export function findInHistory(id) {
  return loadHistory().find((entry) => entry.id === id) ?? null;
}

export function clearHistory() {
  localStorage.removeItem(HISTORY_KEY);
}

/** When a presigned URL stops working, from its own X-Amz-Date/X-Amz-Expires when present. */
export function linkExpiresAt(url, fallbackStart) {
  try {
    const params = new URL(url, location.href).searchParams;
    const stamp = params.get("X-Amz-Date");
    const lifetime = Number(params.get("X-Amz-Expires") || DEFAULT_LINK_LIFETIME_S);
    if (stamp) {
      const iso = stamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z");
      const start = Date.parse(iso);
      if (!Number.isNaN(start)) return start + lifetime * 1000;
    }
    const legacy = Number(params.get("Expires")); // SigV2 style: epoch seconds
    if (legacy) return legacy * 1000;
  } catch {
    // not a URL we can read: use the default lifetime
  }
  return Date.parse(fallbackStart) + DEFAULT_LINK_LIFETIME_S * 1000;
}

/**
 * A small PNG data URL of an image blob or canvas, fitted inside a square; `box` ([x, y, w, h]
 * in the image's pixels) crops it first, to one digit of a row.
 */
export async function makeThumbnail(source, box = null) {
  const canvas = document.createElement("canvas");
  canvas.width = THUMB_SIZE;
  canvas.height = THUMB_SIZE;
  const context = canvas.getContext("2d");
  try {
    const bitmap = source instanceof Blob ? await createImageBitmap(source) : source;
    const [x, y, w, h] = box ?? [0, 0, bitmap.width, bitmap.height];
    const scale = Math.min(THUMB_SIZE / w, THUMB_SIZE / h);
    const width = w * scale;
    const height = h * scale;
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, THUMB_SIZE, THUMB_SIZE);
    context.drawImage(bitmap, x, y, w, h, (THUMB_SIZE - width) / 2, (THUMB_SIZE - height) / 2, width, height);
    if (bitmap.close) bitmap.close();
    return canvas.toDataURL("image/png");
  } catch {
    return ""; // a format the browser cannot draw (the server could): no thumbnail
  }
}
