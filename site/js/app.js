// The main page: upload, photograph or draw a digit; show the answer, the maps and the history.

import {
  ApiError,
  deletePrediction,
  describeError,
  fetchCapabilities,
  predict,
  predictBatch,
  predictMulti,
} from "./api.js";
import { prepareCorrection, wireCorrection } from "./correction.js";
import { DrawingPad } from "./draw.js";
import { clearOverDrawing, paintOverDrawing, renderExplanation } from "./explain.js";
import { registerServiceWorker, watchConnection } from "./offline.js";
import { formatConfidence, historyItem, notDigitText, renderFeatureMaps, renderPrediction } from "./render.js";
import { fitForUpload } from "./shrink.js";
import { addRowToHistory, addToHistory, clearHistory, loadHistory, makeThumbnail } from "./store.js";

const DRAW_DEBOUNCE_MS = 350;
const byId = (id) => document.getElementById(id);

const ui = {
  error: byId("error-message"),
  status: byId("status"),
  uploadInput: byId("upload-input"),
  cameraInput: byId("camera-input"),
  dropZone: byId("drop-zone"),
  modeControls: byId("mode-controls"),
  rowMode: byId("row-mode"),
  rowModeField: byId("row-mode-field"),
  batchHint: byId("batch-hint"),
  preview: byId("preview"),
  previewImg: byId("preview-img"),
  boxes: byId("box-overlay"),
  canvas: byId("draw-canvas"),
  drawEvidence: byId("draw-evidence"),
  evidenceOnDrawing: byId("evidence-on-drawing"),
  brush: byId("brush-size"),
  brushValue: byId("brush-size-value"),
  undo: byId("undo-button"),
  drawAnswer: byId("draw-answer"),
  resultCard: byId("result-card"),
  clear: byId("clear-button"),
  mapsCard: byId("maps-card"),
  mapsLink: byId("maps-link"),
  mapsNotice: byId("maps-notice"),
  batchCard: byId("batch-card"),
  batchResults: byId("batch-results"),
  historyList: byId("history-list"),
  historyEmpty: byId("history-empty"),
  historyClear: byId("history-clear"),
  offlineBanner: byId("offline-banner"),
  uploadFormats: byId("upload-formats"),
  staleNote: byId("stale-note"),
};

const state = {
  controller: null, // the request in flight, aborted when a newer one starts
  drawingId: null, // prediction id of the current drawing, replaced as it changes
  drawingResult: null, // the answer for the drawing as it now is (null while it changes)
  drawingVersion: 0, // counts changes to the drawing, so that a late answer is not taken for its own
  drawTimer: 0,
  previewUrl: "",
  capabilities: { batch: false, multi: false },
};

// ---- messages --------------------------------------------------------------------------

function showError(text) {
  ui.error.textContent = text;
  markEarlierAnswers(true);
}

/** After a failed request the answers on the page belong to an earlier image: dim them and
 * say so, so that they are not read as this file's answer. */
function markEarlierAnswers(earlier) {
  const shown = [byId("result-body"), byId("multi-body"), ui.mapsCard, ui.batchCard].filter((part) => !part.hidden);
  for (const part of [byId("result-body"), byId("multi-body"), ui.mapsCard, ui.batchCard]) {
    part.classList.toggle("stale", earlier && shown.includes(part));
  }
  ui.staleNote.hidden = !(earlier && shown.length);
}

function clearError() {
  ui.error.textContent = "";
}

function setStatus(text) {
  ui.status.textContent = text;
}

/** Runs one API task at a time; a newer task cancels the older one. */
async function runTask(statusText, task) {
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  clearError();
  setStatus(statusText);
  try {
    await task(controller.signal);
    // A task may leave its own closing words (they are announced); otherwise clear "Reading…".
    if (state.controller === controller && ui.status.textContent === statusText) setStatus("");
  } catch (err) {
    if (err?.name === "AbortError") return;
    if (state.controller === controller) setStatus("");
    showError(describeError(err));
  } finally {
    if (state.controller === controller) state.controller = null;
  }
}

// ---- showing results -------------------------------------------------------------------

function showResult(result, since = new Date().toISOString()) {
  markEarlierAnswers(false);
  renderPrediction(result);
  renderExplanation(result);
  prepareCorrection(result);
  // A digit of a row read without its maps has no prediction id and nothing stored to show.
  ui.mapsCard.hidden = !result.prediction_id;
  if (!result.prediction_id) return;
  renderFeatureMaps(result, { since, notice: ui.mapsNotice });
  ui.mapsLink.href = `/feature_maps?id=${encodeURIComponent(result.prediction_id)}`;
}

/** On a narrow screen the answer is below the fold: scroll to it after an upload. */
function bringIntoView(element) {
  const { top } = element.getBoundingClientRect();
  if (top > 0 && top < window.innerHeight * 0.6) return;
  const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  element.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
}

function showPreview(file) {
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = URL.createObjectURL(file);
  ui.boxes.replaceChildren();
  ui.preview.hidden = true; // shown once the browser has decoded it (see wireUpload)
  ui.previewImg.src = state.previewUrl;
}

async function remember(result, thumbSource, replaces = null) {
  addToHistory(result, await makeThumbnail(thumbSource), replaces);
  renderHistory();
}

// ---- single, batch and row-of-digits uploads -------------------------------------------

function predictFile(file) {
  return runTask("Reading your digit…", async (signal) => {
    const result = await predict(file, file.name || "upload", signal);
    ui.batchCard.hidden = true;
    ui.drawAnswer.hidden = true;
    showResult(result);
    bringIntoView(ui.resultCard);
    await remember(result, file);
    setStatus(
      result.refused_because === "photograph"
        ? "Read: a photograph, not handwriting."
        : result.is_digit === false
          ? "Read: not a digit."
          : `Read a ${result.predicted_digit}.`,
    );
  });
}

function predictFiles(files) {
  return runTask(`Reading ${files.length} images…`, async (signal) => {
    const { results } = await predictBatch(files, signal);
    const items = [];
    let first = null;
    for (const [index, result] of results.entries()) {
      const file = files[index];
      items.push(batchItem(file, result));
      if (result && !result.error) {
        first ??= result;
        await remember(result, file);
      }
    }
    ui.batchResults.replaceChildren(...items);
    ui.batchCard.hidden = false;
    if (first) showResult(first);
    const read = results.filter((result) => result && !result.error).length;
    setStatus(`Read ${read} of ${files.length} images.`);
  });
}

function batchItem(file, result) {
  const item = document.createElement("li");
  item.className = "batch-item";
  const thumb = document.createElement("img");
  const url = URL.createObjectURL(file);
  thumb.addEventListener("load", () => URL.revokeObjectURL(url));
  thumb.addEventListener("error", () => {
    URL.revokeObjectURL(url);
    thumb.classList.add("unreadable"); // not something the browser can show
  });
  thumb.src = url;
  thumb.alt = "";
  thumb.className = "batch-thumb";
  const text = document.createElement("div");
  text.className = "batch-text";
  const name = document.createElement("span");
  name.className = "batch-name";
  name.textContent = file.name;
  if (!result || result.error) {
    const problem = document.createElement("span");
    problem.className = "batch-error";
    const error = result?.error ?? {};
    problem.textContent = describeError(new ApiError(422, error.code, error.message));
    text.append(name, problem);
    item.append(thumb, text);
    return item;
  }
  const notDigit = result.is_digit === false;
  const button = document.createElement("button");
  button.type = "button";
  button.className = notDigit ? "batch-show not-digit-entry" : "batch-show";
  button.textContent = `${result.predicted_digit}`;
  const refusal = result.refused_because === "photograph" ? "a photograph, not handwriting" : "not a digit";
  const said = notDigit
    ? `${refusal} (closest: ${result.predicted_digit}, ${formatConfidence(result.confidence)})`
    : `${result.predicted_digit}, ${formatConfidence(result.confidence)} sure`;
  button.setAttribute("aria-label", `${file.name}: ${said}. Show details`);
  button.addEventListener("click", () => showResult(result));
  const confidence = document.createElement("span");
  confidence.textContent = notDigit
    ? `${refusal}, ${formatConfidence(result.confidence)}`
    : `${formatConfidence(result.confidence)} sure`;
  text.append(name, confidence);
  item.append(thumb, button, text);
  return item;
}

function predictRow(file) {
  return runTask("Reading the row of digits…", async (signal) => {
    const result = await predictMulti(file, signal);
    ui.batchCard.hidden = true;
    showRow(result);
    addRowToHistory(result, await makeThumbnail(file));
    renderHistory();
    setStatus(result.number ? `Read the number ${result.number}.` : "Nothing in it looks like a digit.");
  });
}

function showRow(result) {
  const digits = result.digits ?? [];
  // The number in big figures; no number at all is said in a plain sentence instead.
  byId("multi-number").textContent = result.number ?? "";
  byId("multi-number").closest("p").hidden = !result.number;
  const leftOut = digits.filter((digit) => digit.is_digit === false).length;
  const leftOutText = byId("multi-left-out");
  if (result.refused_because === "photograph") {
    leftOutText.textContent = "No number read: this looks like a photograph, not handwriting.";
  } else if (!result.number) {
    const marks = leftOut === 1 ? "the one mark found" : `the ${leftOut} marks found`;
    leftOutText.textContent = `No number read: nothing here looks like a digit (${marks}, marked ?).`;
  } else {
    leftOutText.textContent = leftOut
      ? `Left out: ${leftOut === 1 ? "1 mark that does" : `${leftOut} marks that do`} not look like a digit (marked ?).`
      : "";
  }
  leftOutText.hidden = !leftOutText.textContent;
  const chips = digits.map((digit, index) => {
    const notDigit = digit.is_digit === false;
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = notDigit ? "digit-chip not-digit-entry" : "digit-chip";
    chip.textContent = notDigit ? "?" : String(digit.predicted_digit);
    const said = notDigit
      ? `not a digit (closest: ${digit.predicted_digit}, ${formatConfidence(digit.confidence)})`
      : `${digit.predicted_digit}, ${formatConfidence(digit.confidence)} sure`;
    chip.setAttribute("aria-label", `Mark ${index + 1}: ${said}. Show details`);
    chip.addEventListener("click", () => select(index));
    return chip;
  });
  const select = (chosen) => {
    showResult(digits[chosen]);
    byId("multi-body").hidden = false;
    chips.forEach((chip, index) => chip.setAttribute("aria-pressed", String(index === chosen)));
  };
  byId("multi-digits").replaceChildren(...chips);
  if (digits.length) select(0);
  drawBoxes(digits, result.marks ?? []);
}

const SIGN_LABELS = { "-": "minus", ".": "point", ",": "comma" };

/** Outlines each digit and each sign (a minus, a decimal point or comma) found, in the
 * uploaded image's own pixels (an SVG over the preview). */
function drawBoxes(digits, marks = []) {
  const draw = () => {
    const { naturalWidth: width, naturalHeight: height } = ui.previewImg;
    ui.boxes.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const stroke = Math.max(2, Math.round(Math.max(width, height) / 150));
    const shapes = digits.flatMap((digit) => {
      const [x, y, w, h] = digit.box;
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      for (const [key, value] of Object.entries({ x, y, width: w, height: h, "stroke-width": stroke })) {
        rect.setAttribute(key, String(value));
      }
      const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
      label.setAttribute("x", String(x + stroke));
      label.setAttribute("y", String(Math.max(y - stroke, stroke * 6)));
      label.setAttribute("font-size", String(stroke * 7));
      label.textContent = digit.is_digit === false ? "?" : String(digit.predicted_digit);
      return [rect, label];
    });
    const signs = marks.flatMap((mark) => {
      const [x, y, w, h] = mark.box;
      const pad = stroke;
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      const shape = { x: x - pad, y: y - pad, width: w + 2 * pad, height: h + 2 * pad, "stroke-width": stroke };
      for (const [key, value] of Object.entries(shape)) rect.setAttribute(key, String(value));
      rect.setAttribute("class", "sign-box");
      const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
      label.setAttribute("x", String(x - pad));
      label.setAttribute("y", String(y + h + pad + stroke * 6));
      label.setAttribute("font-size", String(stroke * 5));
      label.setAttribute("class", "sign-label");
      label.textContent = SIGN_LABELS[mark.symbol] ?? mark.symbol;
      return [rect, label];
    });
    ui.boxes.replaceChildren(...shapes, ...signs);
  };
  if (ui.previewImg.complete && ui.previewImg.naturalWidth) draw();
  else ui.previewImg.addEventListener("load", draw, { once: true });
}

async function handleFiles(fileList) {
  if (!fileList.length) return;
  const files = await Promise.all([...fileList].map(fitForUpload));
  if (files.length > 1 && state.capabilities.batch) {
    ui.preview.hidden = true;
    predictFiles(files);
    return;
  }
  showPreview(files[0]);
  if (ui.rowMode.checked && state.capabilities.multi) {
    predictRow(files[0]);
  } else {
    predictFile(files[0]).then(() => {
      if (files.length > 1) setStatus("Read the first image only: one image at a time here.");
    });
  }
}

function wireUpload() {
  for (const input of [ui.uploadInput, ui.cameraInput]) {
    input.addEventListener("change", () => {
      handleFiles(input.files);
      input.value = ""; // choosing the same file again should predict again
    });
  }
  // Files the browser cannot show (not images, or formats only the server reads) get no preview.
  ui.previewImg.addEventListener("load", () => (ui.preview.hidden = false));
  ui.previewImg.addEventListener("error", () => (ui.preview.hidden = true));
  const zone = ui.dropZone;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    handleFiles(event.dataTransfer.files);
  });
  // Pasting an image (a screenshot, say) works like choosing a file.
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])].filter((file) => file.type.startsWith("image/"));
    if (files.length) handleFiles(files);
  });
}

// ---- drawing ---------------------------------------------------------------------------

/** The evidence map over the drawing, when asked for and the answer is the drawing's as it is. */
function showEvidenceOnDrawing() {
  const shown = ui.evidenceOnDrawing.checked && Boolean(state.drawingResult);
  ui.drawEvidence.hidden = !(shown && paintOverDrawing(ui.drawEvidence, ui.canvas, state.drawingResult));
}

function wireDrawing() {
  const pad = new DrawingPad(ui.canvas, {
    brushSize: () => Number(ui.brush.value),
    onChange: () => {
      clearTimeout(state.drawTimer);
      state.drawingResult = null; // the drawing changed: its last map no longer fits it
      state.drawingVersion += 1;
      clearOverDrawing(ui.drawEvidence);
      ui.drawEvidence.hidden = true;
      ui.undo.disabled = pad.isEmpty;
      ui.clear.disabled = pad.isEmpty;
      if (pad.isEmpty || pad.current) {
        if (!pad.isEmpty) state.drawTimer = setTimeout(() => predictDrawing(pad), DRAW_DEBOUNCE_MS * 2);
        return;
      }
      state.drawTimer = setTimeout(() => predictDrawing(pad), DRAW_DEBOUNCE_MS);
    },
  });
  const showBrush = () => (ui.brushValue.textContent = `${ui.brush.value} px`);
  ui.brush.addEventListener("input", showBrush);
  showBrush();
  ui.undo.addEventListener("click", () => pad.undo());
  ui.evidenceOnDrawing.addEventListener("change", showEvidenceOnDrawing);
  ui.clear.addEventListener("click", () => {
    pad.clear();
    ui.drawAnswer.hidden = true;
    state.drawingId = null; // the next drawing is a new history entry
  });
  ui.undo.disabled = true;
  ui.clear.disabled = true;
}

function predictDrawing(pad) {
  if (pad.isEmpty) return;
  return runTask("Reading your drawing…", async (signal) => {
    const version = state.drawingVersion;
    const blob = await pad.toBlob();
    const result = await predict(blob, "drawing.png", signal);
    ui.batchCard.hidden = true;
    showResult(result);
    // Beside the canvas too, so the answer is in sight while drawing on a phone.
    ui.drawAnswer.textContent =
      result.is_digit === false
        ? notDigitText(result)
        : `Reads as ${result.predicted_digit} (${formatConfidence(result.confidence)} sure)`;
    ui.drawAnswer.classList.toggle("not-digit", result.is_digit === false);
    ui.drawAnswer.hidden = false;
    ui.preview.hidden = true; // the answer is the drawing's now, not the last upload's
    state.drawingResult = version === state.drawingVersion ? result : null;
    showEvidenceOnDrawing();
    const previous = state.drawingId;
    state.drawingId = result.prediction_id;
    await remember(result, blob, previous);
    // A drawing in progress keeps one history entry; what the older version stored goes.
    if (previous && previous !== result.prediction_id) deletePrediction(previous).catch(() => {});
  });
}

// ---- history ---------------------------------------------------------------------------

function renderHistory() {
  const entries = loadHistory();
  ui.historyList.replaceChildren(...entries.map(historyItem));
  ui.historyEmpty.hidden = entries.length > 0;
  ui.historyClear.disabled = entries.length === 0;
}

async function clearAll() {
  const entries = loadHistory();
  clearError();
  ui.historyClear.disabled = true;
  setStatus("Clearing…");
  const ids = entries.flatMap((entry) => entry.ids ?? [entry.id]); // a row's entry holds each digit's
  const outcomes = await Promise.allSettled(ids.map((id) => deletePrediction(id)));
  // A prediction already gone from the server (404) is as good as deleted.
  const failed = outcomes.filter(
    (outcome) => outcome.status === "rejected" && outcome.reason?.status !== 404,
  ).length;
  clearHistory();
  state.drawingId = null;
  renderHistory();
  resetResult();
  if (failed) {
    showError(
      `Cleared this browser's history, but the server could not be reached to delete what ${failed} of ${entries.length} predictions stored. They expire on their own.`,
    );
    setStatus("");
  } else {
    setStatus(`History cleared: ${entries.length} stored prediction${entries.length === 1 ? "" : "s"} deleted.`);
  }
}

function resetResult() {
  byId("result-body").hidden = true;
  byId("multi-body").hidden = true;
  byId("result-empty").hidden = false;
  ui.mapsCard.hidden = true;
  ui.batchCard.hidden = true;
}

// ---- optional endpoints ----------------------------------------------------------------

async function enableOptionalControls() {
  state.capabilities = await fetchCapabilities();
  const upload = state.capabilities.upload;
  if (upload) ui.uploadFormats.textContent = `${upload.formats}, up to ${upload.max_size}.`;
  const { batch, multi } = state.capabilities;
  ui.uploadInput.multiple = batch;
  ui.batchHint.hidden = !batch;
  ui.rowModeField.hidden = !multi;
  if (!multi) ui.rowMode.checked = false;
  ui.modeControls.hidden = !(batch || multi);
  document.documentElement.dataset.controls = "ready"; // tests wait for this before using them
}

// ---- start -----------------------------------------------------------------------------

wireUpload();
wireDrawing();
wireCorrection();
renderHistory();
ui.historyClear.addEventListener("click", clearAll);
watchConnection(ui.offlineBanner, (online) => {
  if (online) enableOptionalControls();
});
registerServiceWorker();
