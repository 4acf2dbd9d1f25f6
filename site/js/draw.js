// A drawing pad on a <canvas>: pointer events (mouse, touch, pen), brush size, undo, clear.
// It draws white on black, the polarity the network was trained on.

const BACKGROUND = "#000000";
const INK = "#ffffff";

export class DrawingPad {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{onChange: () => void, brushSize: () => number}} options
   */
  constructor(canvas, { onChange, brushSize }) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.onChange = onChange;
    this.brushSize = brushSize;
    this.strokes = [];
    this.current = null;
    this.paint();
    canvas.addEventListener("pointerdown", (event) => this.start(event));
    canvas.addEventListener("pointermove", (event) => this.extend(event));
    canvas.addEventListener("pointerup", (event) => this.finish(event));
    canvas.addEventListener("pointercancel", (event) => this.finish(event));
    canvas.addEventListener("lostpointercapture", (event) => this.finish(event));
  }

  get isEmpty() {
    return this.strokes.length === 0;
  }

  /** Pointer position in canvas pixels (the canvas is scaled by CSS). */
  pointAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * this.canvas.width) / rect.width,
      ((event.clientY - rect.top) * this.canvas.height) / rect.height,
    ];
  }

  start(event) {
    if (event.button !== 0 && event.pointerType === "mouse") return;
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    this.current = { pointerId: event.pointerId, size: this.brushSize(), points: [this.pointAt(event)] };
    this.strokes.push(this.current);
    this.paint();
    this.onChange();
  }

  extend(event) {
    if (!this.current || event.pointerId !== this.current.pointerId) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const each of events.length ? events : [event]) this.current.points.push(this.pointAt(each));
    this.paint();
    this.onChange();
  }

  finish(event) {
    if (!this.current || event.pointerId !== this.current.pointerId) return;
    this.current = null;
    this.onChange();
  }

  undo() {
    this.current = null;
    this.strokes.pop();
    this.paint();
    this.onChange();
  }

  clear() {
    this.current = null;
    this.strokes = [];
    this.paint();
    this.onChange();
  }

  paint() {
    const { context, canvas } = this;
    context.fillStyle = BACKGROUND;
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.strokeStyle = INK;
    context.fillStyle = INK;
    context.lineCap = "round";
    context.lineJoin = "round";
    for (const stroke of this.strokes) {
      const [first, ...rest] = stroke.points;
      if (!rest.length) {
        context.beginPath();
        context.arc(first[0], first[1], stroke.size / 2, 0, Math.PI * 2);
        context.fill();
        continue;
      }
      context.lineWidth = stroke.size;
      context.beginPath();
      context.moveTo(...first);
      for (const point of rest) context.lineTo(...point);
      context.stroke();
    }
  }

  /** The drawing as a PNG blob. */
  toBlob() {
    return new Promise((resolve, reject) =>
      this.canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("empty canvas"))), "image/png"),
    );
  }
}
