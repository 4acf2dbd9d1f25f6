// The evidence map: which pixels of the 28x28 input made the answer (the API's `explanation`,
// asked for with ?explain=true). Shown over the input beside it, in words for screen readers
// (alt text and a region-by-region reading with the arrow keys), and optionally over the drawing.

const SIDE = 28;
const REGIONS = 3; // the keyboard reads the map in 3x3 regions
const ROW_NAMES = ["top", "middle", "bottom"];
const COL_NAMES = ["left", "centre", "right"];
const FOR_RGB = [220, 38, 38]; // as the API's PNG (recognizer.feature_maps.EVIDENCE_FOR_RGB)
const AGAINST_RGB = [37, 99, 235];

const byId = (id) => document.getElementById(id);

/** What the answer is called in the legend: "a 7", or "like a 4" for something not a digit. */
function answerName(result) {
  return result.is_digit === false ? `look like a ${result.predicted_digit}` : `a ${result.predicted_digit}`;
}

/** "red: what made it a 7; blue: what spoke against it" (one line, under the map). */
export function legendText(result) {
  return result.is_digit === false
    ? `red: what made it look like a ${result.predicted_digit}; blue: what spoke against it`
    : `red: what made it a ${result.predicted_digit}; blue: what spoke against it`;
}

/** The legend, its colour words in their colours (the text is `legendText`'s). */
function showLegend(element, result) {
  const [pro, con] = legendText(result).split("; ");
  const part = (text, className) => {
    const colour = document.createElement("span");
    colour.className = className;
    colour.textContent = text.slice(0, text.indexOf(":"));
    return [colour, text.slice(text.indexOf(":"))];
  };
  element.replaceChildren(...part(pro, "evidence-legend-for"), "; ", ...part(con, "evidence-legend-against"));
}

/** Sum of the evidence in each of the 3x3 regions of the input: {for, against}[row][col]. */
export function regionTotals(values) {
  const totals = Array.from({ length: REGIONS }, () =>
    Array.from({ length: REGIONS }, () => ({ for: 0, against: 0 })),
  );
  values.forEach((row, y) =>
    row.forEach((value, x) => {
      const cell = totals[Math.min(REGIONS - 1, Math.floor((y * REGIONS) / SIDE))][
        Math.min(REGIONS - 1, Math.floor((x * REGIONS) / SIDE))
      ];
      if (value > 0) cell.for += value;
      else cell.against -= value;
    }),
  );
  return totals;
}

function regionName(row, col) {
  if (row === 1 && col === 1) return "the middle";
  if (row === 1) return `the ${COL_NAMES[col]}`;
  if (col === 1) return `the ${ROW_NAMES[row]}`;
  return `the ${ROW_NAMES[row]} ${COL_NAMES[col]}`;
}

function strongest(values) {
  return Math.max(1e-12, ...values.flat().map((value) => Math.abs(value)));
}

/** The map in one or two sentences: where the evidence for and against the answer lies. */
export function describeEvidence(result) {
  const { values } = result.explanation;
  const totals = regionTotals(values);
  const cells = totals.flatMap((row, r) => row.map((cell, c) => ({ ...cell, name: regionName(r, c) })));
  const total = cells.reduce((sum, cell) => sum + cell.for + cell.against, 0) || 1;
  const named = (key) =>
    cells
      .filter((cell) => cell[key] / total >= 0.1)
      .sort((a, b) => b[key] - a[key])
      .slice(0, 3)
      .map((cell) => cell.name);
  const list = (names) => (names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0]);
  const pro = named("for");
  const con = named("against");
  const what = answerName(result);
  let text = pro.length ? `What made it ${what}: mostly ${list(pro)} of the digit.` : `No part stands out as making it ${what}.`;
  text += con.length ? ` Against it: ${list(con)}.` : " Nothing spoke much against it.";
  return text;
}

/** A region's evidence in words, for the keyboard reading. */
function regionText(result, totals, row, col, scale) {
  const { for: pro, against: con } = totals[row][col];
  const strength = (value) => (value / scale >= 0.5 ? "strong" : value / scale >= 0.15 ? "some" : "little");
  const where = regionName(row, col);
  if (pro < 1e-9 && con < 1e-9) return `${where[0].toUpperCase()}${where.slice(1)}: no ink.`;
  return `${where[0].toUpperCase()}${where.slice(1)}: ${strength(pro)} evidence for ${result.predicted_digit}, ${strength(con)} against.`;
}

/**
 * Shows `result.explanation` beside the input (or hides the view when there is none): the
 * input with the API's PNG over it, the legend, the alt text; arrow keys read it by region.
 */
export function renderExplanation(result) {
  const view = byId("evidence-view");
  const explanation = result.explanation;
  if (!explanation || !result.input_url) {
    view.hidden = true;
    return;
  }
  byId("evidence-input").src = result.input_url;
  const overlay = byId("evidence-img");
  overlay.src = explanation.url;
  overlay.alt = `Evidence map over the 28 by 28 input. ${describeEvidence(result)}`;
  showLegend(byId("evidence-legend"), result);
  const totals = regionTotals(explanation.values);
  const scale = Math.max(1e-12, ...totals.flat().map((cell) => Math.max(cell.for, cell.against)));
  const state = { row: 1, col: 1 };
  const cursor = byId("evidence-cursor");
  const reading = byId("evidence-reading");
  const show = () => {
    cursor.style.left = `${(state.col * 100) / REGIONS}%`;
    cursor.style.top = `${(state.row * 100) / REGIONS}%`;
    cursor.hidden = false;
    reading.textContent = regionText(result, totals, state.row, state.col, scale);
  };
  overlay.onfocus = show;
  overlay.onblur = () => {
    cursor.hidden = true;
  };
  overlay.onkeydown = (event) => {
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    state.row = Math.max(0, Math.min(REGIONS - 1, state.row + move[0]));
    state.col = Math.max(0, Math.min(REGIONS - 1, state.col + move[1]));
    show();
  };
  cursor.hidden = true;
  reading.textContent = "";
  view.hidden = false;
}

/** The bounding box of the ink on the drawing canvas (white on black), in canvas pixels. */
function inkBox(canvas) {
  const { width, height } = canvas;
  const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (pixels[(y * width + x) * 4] > 64) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
      }
    }
  }
  return right < 0 ? null : { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/** Where the evidence lies in the input: the box of its non-zero values, in input pixels. */
function valuesBox(values) {
  let left = SIDE;
  let right = -1;
  let top = SIDE;
  let bottom = -1;
  values.forEach((row, y) =>
    row.forEach((value, x) => {
      if (value !== 0) {
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }),
  );
  return right < 0 ? null : { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * Paints the evidence over the drawing on `overlay` (a canvas laid over the drawing canvas, its
 * colours multiplied with the strokes so only the ink is tinted). The service fitted the
 * drawing's ink into the input keeping its shape, so one scale and shift map the one onto the
 * other. Returns false (painting nothing) when there is nothing to map.
 */
export function paintOverDrawing(overlay, drawing, result) {
  const context = overlay.getContext("2d");
  context.clearRect(0, 0, overlay.width, overlay.height);
  const values = result?.explanation?.values;
  const ink = inkBox(drawing);
  const source = values && valuesBox(values);
  if (!ink || !source) return false;
  const scale = Math.max(ink.width, ink.height) / Math.max(source.width, source.height);
  const offsetX = ink.left + ink.width / 2 - (source.left + source.width / 2) * scale;
  const offsetY = ink.top + ink.height / 2 - (source.top + source.height / 2) * scale;
  const peak = strongest(values);
  values.forEach((row, y) =>
    row.forEach((value, x) => {
      if (value === 0) return;
      const [r, g, b] = value > 0 ? FOR_RGB : AGAINST_RGB;
      const strength = Math.sqrt(Math.abs(value) / peak);
      // Multiplied with white ink: white where the evidence is weak, the colour where strong.
      const mix = (channel) => Math.round(255 - (255 - channel) * strength);
      context.fillStyle = `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
      context.fillRect(offsetX + x * scale, offsetY + y * scale, Math.ceil(scale), Math.ceil(scale));
    }),
  );
  return true;
}

/** Clears the overlay (a new stroke makes the last map stale). */
export function clearOverDrawing(overlay) {
  overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
}
