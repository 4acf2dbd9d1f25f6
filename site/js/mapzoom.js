// Hover, tap or arrow keys over a feature-map grid show one filter's map larger.
// The grid is one PNG of rows x cols maps separated by a thin transparent gap, so the cell
// under the pointer is computed from the pointer position and the grid's shape.

const ZOOM_TARGET_PX = 240;

/** Pixel pitch of one cell and the gap, from the image's natural size and grid shape. */
export function gridGeometry(width, height, rows, cols) {
  // The server draws cols*cell + (cols-1)*gap pixels: find the smallest gap that fits both axes.
  for (let gap = 0; gap <= 16; gap += 1) {
    if ((width + gap) % cols === 0 && (height + gap) % rows === 0) {
      const pitchX = (width + gap) / cols;
      const pitchY = (height + gap) / rows;
      return { pitchX, pitchY, cellWidth: pitchX - gap, cellHeight: pitchY - gap };
    }
  }
  return { pitchX: width / cols, pitchY: height / rows, cellWidth: width / cols, cellHeight: height / rows };
}

/**
 * Wires a grid <img> to a zoom panel.
 * @param {HTMLImageElement} img  the grid (data-rows, data-cols, data-layer set by the page)
 * @param {{canvas: HTMLCanvasElement, label: HTMLElement, marker: HTMLElement}} panel
 */
export function attachZoom(img, panel) {
  let selected = -1;
  const shape = () => ({
    rows: Number(img.dataset.rows) || 1,
    cols: Number(img.dataset.cols) || 1,
    layer: img.dataset.layer || "",
  });

  function show(index) {
    const { rows, cols, layer } = shape();
    if (!img.naturalWidth || index < 0 || index >= rows * cols) return;
    selected = index;
    const row = Math.floor(index / cols);
    const col = index % cols;
    const geometry = gridGeometry(img.naturalWidth, img.naturalHeight, rows, cols);
    const factor = Math.max(1, Math.floor(ZOOM_TARGET_PX / geometry.cellWidth));
    const { canvas } = panel;
    canvas.width = Math.round(geometry.cellWidth * factor);
    canvas.height = Math.round(geometry.cellHeight * factor);
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(
      img,
      col * geometry.pitchX, row * geometry.pitchY, geometry.cellWidth, geometry.cellHeight,
      0, 0, canvas.width, canvas.height,
    );
    canvas.hidden = false;
    const text = `${layer} filter ${index + 1} of ${rows * cols} (row ${row + 1}, column ${col + 1})`;
    panel.label.textContent = text;
    canvas.setAttribute("aria-label", `${text}, enlarged`);
    // The marker outlines the cell on the grid, placed in percent of the displayed image.
    const marker = panel.marker;
    marker.hidden = false;
    marker.style.left = `${(100 * col * geometry.pitchX) / img.naturalWidth}%`;
    marker.style.top = `${(100 * row * geometry.pitchY) / img.naturalHeight}%`;
    marker.style.width = `${(100 * geometry.cellWidth) / img.naturalWidth}%`;
    marker.style.height = `${(100 * geometry.cellHeight) / img.naturalHeight}%`;
  }

  function indexAt(event) {
    const { rows, cols } = shape();
    const rect = img.getBoundingClientRect();
    const col = Math.floor(((event.clientX - rect.left) / rect.width) * cols);
    const row = Math.floor(((event.clientY - rect.top) / rect.height) * rows);
    if (col < 0 || col >= cols || row < 0 || row >= rows) return -1;
    return row * cols + col;
  }

  img.addEventListener("pointermove", (event) => show(indexAt(event)));
  img.addEventListener("pointerdown", (event) => show(indexAt(event)));
  img.addEventListener("focus", () => show(selected < 0 ? 0 : selected));
  img.addEventListener("keydown", (event) => {
    const { rows, cols } = shape();
    const current = selected < 0 ? 0 : selected;
    const moves = {
      ArrowLeft: current - 1,
      ArrowRight: current + 1,
      ArrowUp: current - cols,
      ArrowDown: current + cols,
      Home: 0,
      End: rows * cols - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    show(Math.min(rows * cols - 1, Math.max(0, moves[event.key])));
  });
  img.addEventListener("load", () => {
    selected = -1;
    panel.marker.hidden = true;
  });
  return { show };
}
