// Puts a prediction on the page: digit, confidence, ten probability bars, input, feature maps.

import { attachZoom } from "./mapzoom.js";
import { linkExpiresAt } from "./store.js";

const byId = (id) => document.getElementById(id);

/** A confidence: as formatPercent, but one that rounds to zero reads "under 0.1%" (a chance is not none). */
export function formatConfidence(value) {
  const number = Number(value);
  return number < 0.05 ? "under 0.1%" : formatPercent(number); // the API rounds to 0.0 under 0.05
}

export function formatPercent(value, digits = 1) {
  const number = Number(value);
  let text = number.toFixed(digits);
  // Rounding must not claim certainty: 99.996% shows as 99.9%, never 100.0%.
  if (number < 100 && Number(text) >= 100) text = (100 - 10 ** -digits).toFixed(digits);
  return `${text}%`;
}

export function formatTime(iso) {
  const when = new Date(iso);
  const sameDay = when.toDateString() === new Date().toDateString();
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${when.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

/** "This does not look like a digit (closest: 4, 31.0%)", "This looks like a photograph, not
 * handwriting (...)" when the whole upload was refused as one, or "" for a digit. */
export function notDigitText(result) {
  if (result.is_digit !== false) return "";
  const closest = `closest: ${result.predicted_digit}, ${formatConfidence(result.confidence)}`;
  if (result.refused_because === "photograph") return `This looks like a photograph, not handwriting (${closest})`;
  return `This does not look like a digit (${closest})`;
}

/** Ten rows: digit, a bar as wide as its probability, the percentage. */
export function renderProbabilities(list, probabilities, predicted) {
  const rows = probabilities.map((probability, digit) => {
    const item = document.createElement("li");
    item.className = digit === predicted ? "prob top" : "prob";
    const label = document.createElement("span");
    label.className = "prob-digit";
    label.textContent = String(digit);
    const track = document.createElement("span");
    track.className = "prob-track";
    track.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.className = "prob-fill";
    fill.style.width = `${Math.max(0, Math.min(1, probability)) * 100}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "prob-value";
    value.textContent = formatPercent(probability * 100);
    item.append(label, track, value);
    return item;
  });
  list.replaceChildren(...rows);
}

/** The answer card: digit, confidence, the 28x28 input and the probability bars. */
export function renderPrediction(result) {
  byId("result-empty").hidden = true;
  byId("multi-body").hidden = true;
  byId("result-body").hidden = false;
  byId("predicted-digit").textContent = String(result.predicted_digit);
  byId("confidence").textContent = formatConfidence(result.confidence);
  // Not a digit: said in words above the answer; the digit shown is only the closest one.
  const notDigit = byId("not-digit");
  notDigit.textContent = notDigitText(result);
  notDigit.hidden = result.is_digit !== false;
  byId("result-body").classList.toggle("is-not-digit", result.is_digit === false);
  byId("digit-label").textContent = result.is_digit === false ? "Closest digit" : "Digit";
  const input = byId("input-img");
  if (result.input_url) input.src = result.input_url;
  else input.removeAttribute("src");
  input.closest("figure").hidden = !result.input_url;
  renderProbabilities(byId("probabilities"), result.probabilities, result.predicted_digit);
  labelProbabilities(result.is_digit === false);
}

/**
 * The bars' heading. Each bar is a digit's probability if the image is a digit at all; for
 * something that is not (bars dimmed by .is-not-digit), the heading says so, so that "4: 98%"
 * beside "Confidence: under 0.1%" reads as what it is.
 */
function labelProbabilities(notDigit) {
  const hint = document.createElement("span");
  hint.className = "hint";
  hint.textContent = notDigit
    ? "(it does not look like one: the confidence above counts that, these bars do not)"
    : "(if it is a digit)";
  const title = notDigit ? "If it were a digit, which one " : "All ten probabilities ";
  byId("probs-title").replaceChildren(title, hint);
}

const zoomed = new WeakSet();

/**
 * Shows the two feature-map grids of a result, wiring their zoom panels once.
 * `since` is when the prediction was made; links past their lifetime are not loaded.
 * Returns false (and says why in `notice`) when the links have expired.
 */
export function renderFeatureMaps(result, { since = new Date().toISOString(), notice = null } = {}) {
  if (!result.feature_maps) {
    // The prediction worked but storing its images did not (the answer carries warnings).
    byId("maps-body").hidden = true;
    if (notice) {
      notice.textContent = UNAVAILABLE_TEXT;
      notice.hidden = false;
    }
    return false;
  }
  const layers = ["conv1", "conv2"];
  const expired = layers.some((layer) => Date.now() >= linkExpiresAt(result.feature_maps[layer].url, since));
  for (const layer of layers) {
    const map = result.feature_maps[layer];
    const img = byId(`map-${layer}`);
    img.dataset.rows = String(map.rows);
    img.dataset.cols = String(map.cols);
    img.dataset.layer = layer;
    img.alt = `${layer}: ${map.rows * map.cols} feature maps in a ${map.rows} by ${map.cols} grid. Bright cells are where a filter responded strongly.`;
    if (!zoomed.has(img)) {
      zoomed.add(img);
      attachZoom(img, {
        canvas: byId(`zoom-${layer}`),
        label: byId(`zoom-${layer}-label`),
        marker: byId(`marker-${layer}`),
      });
      img.addEventListener("error", () => {
        if (img.getAttribute("src") && notice) {
          notice.textContent = EXPIRED_TEXT;
          notice.hidden = false;
        }
      });
    }
    byId(`zoom-${layer}`).hidden = true;
    byId(`zoom-${layer}-label`).textContent = "Point at, tap or focus a map to see one filter larger.";
    if (expired) img.removeAttribute("src");
    else img.src = map.url;
  }
  byId("maps-body").hidden = expired;
  if (notice) {
    notice.textContent = expired ? EXPIRED_TEXT : "";
    notice.hidden = !expired;
  }
  return !expired;
}

export const UNAVAILABLE_TEXT =
  "The feature maps of this prediction are unavailable: the server could not store them. The answer itself is fine.";

export const EXPIRED_TEXT =
  "These feature maps have expired: their links last 15 minutes. Make a new prediction to see fresh ones.";

/** One history entry as a list item linking to its feature maps. */
export function historyItem(entry) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.className = "history-item";
  link.href = `/feature_maps?id=${encodeURIComponent(entry.id)}`;
  const said = entry.notDigit
    ? `Not a digit (closest: ${entry.digit}), ${formatConfidence(entry.confidence)}`
    : `${entry.digit}, ${formatConfidence(entry.confidence)} sure`;
  link.setAttribute("aria-label", `${said}, at ${formatTime(entry.time)}. See its feature maps`);
  if (entry.notDigit) link.classList.add("not-digit-entry");
  if (entry.thumb) {
    const thumb = document.createElement("img");
    thumb.src = entry.thumb;
    thumb.alt = "";
    thumb.width = 48;
    thumb.height = 48;
    thumb.className = "history-thumb";
    link.append(thumb);
  }
  const digit = document.createElement("span");
  digit.className = "history-digit";
  digit.textContent = String(entry.digit);
  const meta = document.createElement("span");
  meta.className = "history-meta";
  const confidence = document.createElement("span");
  // As the answer card says it ("under 0.1%", never "0.0%").
  confidence.textContent = entry.notDigit
    ? `not a digit, ${formatConfidence(entry.confidence)}`
    : formatConfidence(entry.confidence);
  const time = document.createElement("time");
  time.dateTime = entry.time;
  time.textContent = formatTime(entry.time);
  meta.append(confidence, time);
  link.append(digit, meta);
  item.append(link);
  return item;
}
