// Big pictures are made smaller here, before they are sent. A phone photo is often 12 to 50
// megapixels and 3 to 8 MB: more than the API takes (4 MiB a file on AWS, 4 megapixels for
// formats other than JPEG), and far more detail than a 28x28 digit needs.

/** The API decodes at most this many pixels of a PNG, WebP or GIF (MAX_DECODED_PIXELS). */
export const MAX_SEND_PIXELS = 2048 * 2048;
/** Lambda's 6 MB request limit leaves 4 MiB for a file once it is base64-encoded. */
export const MAX_SEND_BYTES = 4 * 1024 * 1024;
const JPEG_QUALITY = 0.92;
const MAY_HOLD_ALPHA = /^image\/(png|gif|webp)$/;

function canvasBlob(canvas, type, quality) {
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

function renamed(name, type) {
  const stem = (name || "upload").replace(/\.[^.]*$/, "");
  return `${stem}-smaller.${type === "image/png" ? "png" : "jpg"}`;
}

/** The size to draw a width x height picture at so that it holds at most MAX_SEND_PIXELS. */
export function fittedSize(width, height) {
  const scale = Math.min(1, Math.sqrt(MAX_SEND_PIXELS / (width * height)));
  return [Math.max(1, Math.floor(width * scale)), Math.max(1, Math.floor(height * scale))];
}

/**
 * The file itself when the API takes it as it is; otherwise a smaller copy (same aspect,
 * at most MAX_SEND_PIXELS, PNG where the original may be transparent and the copy fits,
 * else JPEG). Files the browser cannot decode are sent unchanged: the API says why it
 * refuses them.
 */
export async function fitForUpload(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file); // EXIF orientation applied, as the API does
  } catch {
    return file;
  }
  try {
    if (bitmap.width * bitmap.height <= MAX_SEND_PIXELS && file.size <= MAX_SEND_BYTES) return file;
    const [width, height] = fittedSize(bitmap.width, bitmap.height);
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    let blob = MAY_HOLD_ALPHA.test(file.type) ? await canvasBlob(canvas, "image/png") : null;
    if (!blob || blob.size > MAX_SEND_BYTES) {
      // JPEG has no transparency: what was transparent becomes white paper.
      context.globalCompositeOperation = "destination-over";
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, width, height);
      blob = await canvasBlob(canvas, "image/jpeg", JPEG_QUALITY);
    }
    return blob ? new File([blob], renamed(file.name, blob.type), { type: blob.type }) : file;
  } finally {
    bitmap.close();
  }
}
