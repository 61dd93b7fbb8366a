/**
 * Pixel-format conversions every side of the face pipeline shares: the server
 * (decode.ts) and private mode's browser bundle (browser/pipeline.ts). Pure
 * functions with no imports, so the browser runs these very lines.
 */

/** Grey from RGB with the ITU-R 601 weights (what PIL's convert('L') and OpenCV use). */
export function rgbToGrey(rgb: Uint8Array): Uint8Array {
  const grey = new Uint8Array(rgb.length / 3);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) {
    grey[i] = Math.round(0.299 * rgb[j] + 0.587 * rgb[j + 1] + 0.114 * rgb[j + 2]);
  }
  return grey;
}

/** A canvas's RGBA (ImageData) as RGB; canvas pixels are opaque here (video frames, drawn photos). */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}
