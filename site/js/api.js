// Calls to the recognizer API (same origin, under /api) and plain-words error messages.

const API = "/api";

/** An API answer that is not a success, or a request that never got an answer. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status; // 0 when the request never reached the server
    this.code = code || "";
  }
}

async function errorFromResponse(response) {
  let code = "";
  let message = "";
  try {
    const body = await response.json();
    code = body?.error?.code ?? "";
    message = body?.error?.message ?? "";
  } catch {
    // Not JSON (a proxy's or gateway's own error page): the status says enough.
  }
  return new ApiError(response.status, code, message);
}

async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(`${API}${path}`, { credentials: "same-origin", ...options });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, navigator.onLine === false ? "offline" : "network", String(err));
  }
  if (!response.ok) throw await errorFromResponse(response);
  if (response.status === 204) return null;
  return response.json();
}

function formWith(field, files) {
  const form = new FormData();
  for (const [blob, name] of files) form.append(field, blob, name);
  return form;
}

/** A file over what the API takes in a request (a phone's HEIC the browser cannot shrink) goes
 * straight to storage first (POST /api/uploads, then its presigned POST). */
function tooBigToSend(blob) {
  return Boolean(uploadLimits?.max_s3_bytes) && blob.size > uploadLimits.max_bytes;
}

/** Sends `blob` to storage; the JSON body that names it to a predict route. */
async function sentToStorage(blob, signal) {
  const type = blob.type && blob.type.startsWith("image/") ? blob.type : "image/jpeg";
  const ticket = await request("/uploads", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content_type: type, content_length: blob.size }),
    signal,
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
  form.append("file", blob);
  let response;
  try {
    response = await fetch(ticket.url, { method: "POST", body: form, signal });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "network", String(err));
  }
  if (!response.ok) throw new ApiError(response.status, "file_too_large", "storage refused the file");
  return JSON.stringify({ upload_id: ticket.upload_id });
}

async function imageBody(blob, filename, signal) {
  if (tooBigToSend(blob)) {
    return { headers: { "Content-Type": "application/json" }, body: await sentToStorage(blob, signal) };
  }
  return { body: formWith("image", [[blob, filename]]) };
}

/** One image -> {predicted_digit, confidence, probabilities, prediction_id, input_url, feature_maps,
 * explanation} (the evidence map: asked for with ?explain=true, a few milliseconds more). */
export async function predict(blob, filename, signal) {
  return request("/predict?explain=true", { method: "POST", ...(await imageBody(blob, filename, signal)), signal });
}

/** Several images -> {results: [prediction | {error}]}, in order: one request per group
 * of files the batch endpoint takes at once (`batchGroups`), one after the other. */
export async function predictBatch(files, signal) {
  const results = [];
  for (const group of batchGroups(files, batchLimits())) {
    const answer = await request("/predict/batch", {
      method: "POST",
      body: formWith("images", group.map((file) => [file, file.name])),
      signal,
    });
    results.push(...answer.results);
  }
  return { results };
}

// Until the API says its own: Lambda's 6 MB request, base64-encoded, holds 4 MiB of files.
const DEFAULT_BATCH_LIMITS = { maxFiles: 32, maxBytes: 4 * 1024 * 1024 };

function batchLimits() {
  if (!uploadLimits?.max_batch_files || !uploadLimits?.max_batch_bytes) return DEFAULT_BATCH_LIMITS;
  return { maxFiles: uploadLimits.max_batch_files, maxBytes: uploadLimits.max_batch_bytes };
}

/**
 * `files` in order, in groups of at most `maxFiles` whose sizes add up to at most `maxBytes`
 * (a file bigger than that on its own goes alone; the API answers for it alone).
 */
export function batchGroups(files, { maxFiles, maxBytes }) {
  const groups = [];
  let group = [];
  let bytes = 0;
  for (const file of files) {
    if (group.length && (group.length >= maxFiles || bytes + file.size > maxBytes)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(file);
    bytes += file.size;
  }
  if (group.length) groups.push(group);
  return groups;
}

/** A row of digits -> {number, digits: [{box: [x, y, w, h], ...prediction}]}, with each digit's maps
 * and evidence map. */
export async function predictMulti(file, signal) {
  return request("/predict/multi?feature_maps=true&explain=true", {
    method: "POST",
    ...(await imageBody(file, file.name, signal)),
    signal,
  });
}

/** Says what a prediction's image really was (`digit` 0-9, or null: not a digit); the person
 * has agreed that its 28x28 input and this label are kept. */
export function sendCorrection(id, digit) {
  return request(`/predictions/${encodeURIComponent(id)}/correction`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ digit, consent: true }),
  });
}

/** Removes what a prediction stored (its feature maps and input image). */
export function deletePrediction(id) {
  return request(`/predictions/${encodeURIComponent(id)}`, { method: "DELETE" });
}

// What the API reads and how much, as its OpenAPI document says (info.x-upload), once known.
let uploadLimits = null;

function limitText() {
  if (!uploadLimits) return "";
  if (!uploadLimits.max_s3_size) return ` (the limit is ${uploadLimits.max_size})`;
  return ` (the limit is ${uploadLimits.max_s3_size} for a photo, ${uploadLimits.max_size} for other pictures)`;
}

function formatsText() {
  return uploadLimits ? `Use a picture in one of these formats: ${uploadLimits.formats}.` : "Use a photo or a picture file.";
}

/**
 * Which optional endpoints this API has, read from its OpenAPI document, so that the
 * controls for endpoints that are not there yet stay absent rather than broken.
 */
export async function fetchCapabilities() {
  const none = { batch: false, multi: false, upload: null };
  if (navigator.onLine === false) return none;
  try {
    const response = await fetch(`${API}/openapi.json`, { credentials: "same-origin" });
    if (!response.ok) return none;
    const spec = await response.json();
    const paths = Object.keys(spec?.paths ?? {});
    const has = (suffix) => paths.some((path) => path.endsWith(suffix));
    const upload = spec?.info?.["x-upload"] ?? null;
    if (upload) uploadLimits = upload;
    return { batch: has("/predict/batch"), multi: has("/predict/multi"), upload };
  } catch {
    return none;
  }
}

const MESSAGES = {
  file_too_large: () =>
    `That file is too large${limitText()}: try a smaller photo, or crop it to the digit.`,
  image_too_large:
    "That image has too many pixels to read. Try a smaller photo, or crop it to the digit.",
  unsupported_media_type: () => `That file is not an image we can read. ${formatsText()}`,
  invalid_image: () => `That file is not an image we can read, or it is damaged. ${formatsText()}`,
  no_digit_found:
    "No digit found in that image. Try a darker, thicker digit on a plain background, filling most of the picture.",
  missing_image: "No image was sent. Choose a file, take a photo or draw a digit.",
  not_found: "That prediction is gone from the server already.",
  too_many_files: "Too many files at once. Send fewer images in one go.",
  offline: "You are offline. The page still works, but predictions need a connection.",
  network: "Could not reach the server. Check your connection and try again.",
};

/** A sentence a person understands, for any error a call above can throw. */
export function describeError(err) {
  const say = (code) => (typeof MESSAGES[code] === "function" ? MESSAGES[code]() : MESSAGES[code]);
  if (!(err instanceof ApiError)) return "Something went wrong in this page. Reload it and try again.";
  if (MESSAGES[err.code]) return say(err.code);
  if (err.status === 0) return MESSAGES.network;
  if (err.status === 413) return say("file_too_large");
  if (err.status === 415) return say("unsupported_media_type");
  if (err.status === 422) return say("invalid_image");
  if (err.status === 429) return "Too many requests just now. Wait a few seconds and try again.";
  if (err.status >= 500) return "The server had a problem reading that. Try again in a moment.";
  return err.message ? `The server refused that: ${err.message}` : MESSAGES.network;
}
