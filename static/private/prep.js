// The server's face pipeline, step for step, for private mode (the browser runs it):
//   rgbToGrey            src/inference/decode.ts
//   BlazeFace decoding   src/inference/detect/blazeface.ts
//   regionFromDetection  src/inference/align.ts
//   sampleRegion         src/inference/align.ts
//   facesToTensor, blurFaces, flipFaces   src/inference/preprocess.ts
//   predictFaces         src/inference/predict.ts
// tests/private-prep.test.ts runs this file in Node against those functions
// on real photos, so a change on one side that is not made on the other fails.
// The one step that differs on purpose: the detector's 256x256 letterbox is
// an area-average resize here and sharp's resize on the server.
// Plain ES module, no DOM: `tf` is passed in (the page's global, or Node's).

export const FACE_SIZE = 48;
export const FACE_PIXELS = FACE_SIZE * FACE_SIZE;
export const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];

// ------------------------------------------------------------ decode.ts
/** Grey from RGB with the ITU-R 601 weights. */
export function rgbToGrey(rgb) {
  const grey = new Uint8Array(rgb.length / 3);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) {
    grey[i] = Math.round(0.299 * rgb[j] + 0.587 * rgb[j + 1] + 0.114 * rgb[j + 2]);
  }
  return grey;
}

/** Canvas ImageData (RGBA) -> RGB; canvas pixels are opaque here (video frames, drawn photos). */
export function rgbaToRgb(rgba) {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

// ------------------------------------------------------------ blazeface.ts
export const BLAZEFACE = { input: 256, valuesPerAnchor: 17, iou: 0.3, minScore: 0.4, margin: 1.25 };

export function blazeFaceAnchors(size = BLAZEFACE.input) {
  const out = [];
  for (const [stride, perCell] of [
    [size / 16, 2],
    [size / 8, 6],
  ]) {
    const cells = Math.ceil(size / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push([stride * (gx + 0.5), stride * (gy + 0.5)]);
      }
    }
  }
  return out;
}

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

/**
 * Letterbox to size x size (fit inside, top-left, black padding) with area
 * averaging: each output pixel is the coverage-weighted mean of the source
 * pixels under it. Returns { data: Float32Array RGB, scale }.
 */
export function letterbox(rgb, width, height, size = BLAZEFACE.input) {
  const scale = Math.max(width, height) / size;
  const outW = Math.min(size, Math.max(1, Math.round(width / scale)));
  const outH = Math.min(size, Math.max(1, Math.round(height / scale)));
  const sx = width / outW;
  const sy = height / outH;
  // Horizontal pass: width -> outW, per source row.
  const tmp = new Float32Array(outW * height * 3);
  for (let ox = 0; ox < outW; ox++) {
    const x0 = ox * sx;
    const x1 = x0 + sx;
    for (let y = 0; y < height; y++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let x = Math.floor(x0); x < Math.min(width, Math.ceil(x1)); x++) {
        const w = Math.min(x + 1, x1) - Math.max(x, x0);
        const i = (y * width + x) * 3;
        r += rgb[i] * w;
        g += rgb[i + 1] * w;
        b += rgb[i + 2] * w;
      }
      const o = (y * outW + ox) * 3;
      tmp[o] = r / sx;
      tmp[o + 1] = g / sx;
      tmp[o + 2] = b / sx;
    }
  }
  const out = new Float32Array(size * size * 3);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < outW; ox++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = Math.floor(y0); y < Math.min(height, Math.ceil(y1)); y++) {
        const w = Math.min(y + 1, y1) - Math.max(y, y0);
        const i = (y * outW + ox) * 3;
        r += tmp[i] * w;
        g += tmp[i + 1] * w;
        b += tmp[i + 2] * w;
      }
      const o = (oy * size + ox) * 3;
      // sharp hands the server whole numbers: round the same way.
      out[o] = Math.round(r / sy);
      out[o + 1] = Math.round(g / sy);
      out[o + 2] = Math.round(b / sy);
    }
  }
  return { data: out, scale };
}

/** The model's four outputs as one [896, 17] tensor, told apart by size (as on the server). */
function joinOutputs(tf, out) {
  if (!Array.isArray(out)) return tf.squeeze(out, [0]);
  if (out.length === 1) return tf.squeeze(out[0], [0]);
  const [scores384, scores512, boxes384, boxes512] = [...out].sort((a, b) => a.size - b.size);
  const grid16 = tf.concat([scores512, boxes512], 2);
  const grid8 = tf.concat([scores384, boxes384], 2);
  return tf.squeeze(tf.concat([grid16, grid8], 1), [0]);
}

/** BlazeFace on an RGB image: detections in that image's pixels, as detect/blazeface.ts returns them. */
export async function detectFaces(tf, model, rgb, width, height, maxFaces, anchors = blazeFaceAnchors()) {
  const { input: INPUT, valuesPerAnchor: V } = BLAZEFACE;
  const { data: small, scale } = letterbox(rgb, width, height, INPUT);
  const raw = tf.tidy(() => {
    const pixels = tf.tensor3d(small, [INPUT, INPUT, 3]);
    const x = tf.expandDims(tf.sub(tf.div(pixels, 127.5), 1), 0);
    return joinOutputs(tf, model.execute(x));
  });
  const values = await raw.data();
  raw.dispose();
  const keep = [];
  for (let i = 0; i < anchors.length; i++) if (sigmoid(values[i * V]) >= BLAZEFACE.minScore) keep.push(i);
  if (keep.length === 0) return [];
  const boxes = [];
  const scores = [];
  for (const i of keep) {
    const o = i * V;
    const cx = values[o + 1] + anchors[i][0];
    const cy = values[o + 2] + anchors[i][1];
    const w = values[o + 3];
    const h = values[o + 4];
    boxes.push(cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2);
    scores.push(sigmoid(values[o]));
  }
  const boxT = tf.tensor2d(boxes, [keep.length, 4]);
  const scoreT = tf.tensor1d(scores);
  const chosenT = await tf.image.nonMaxSuppressionAsync(boxT, scoreT, maxFaces, BLAZEFACE.iou, BLAZEFACE.minScore);
  const chosen = Array.from(await chosenT.data());
  tf.dispose([boxT, scoreT, chosenT]);
  const point = (o, k, anchor) => ({
    x: (values[o + 5 + 2 * k] + anchor[0]) * scale,
    y: (values[o + 6 + 2 * k] + anchor[1]) * scale,
  });
  return chosen.map((j) => {
    const i = keep[j];
    const [y1, x1, y2, x2] = boxes.slice(j * 4, j * 4 + 4);
    return {
      x: x1 * scale,
      y: y1 * scale,
      width: (x2 - x1) * scale,
      height: (y2 - y1) * scale,
      score: scores[j],
      rightEye: point(i * V, 0, anchors[i]),
      leftEye: point(i * V, 1, anchors[i]),
    };
  });
}

// ------------------------------------------------------------ align.ts
const MIN_ROLL = (2 * Math.PI) / 180;

export function rollFromEyes(rightEye, leftEye) {
  return Math.atan2(leftEye.y - rightEye.y, leftEye.x - rightEye.x);
}

function squareBox(centre, side, width, height) {
  const x0 = Math.max(0, Math.round(centre.x - side / 2));
  const y0 = Math.max(0, Math.round(centre.y - side / 2));
  const x1 = Math.min(width, Math.round(centre.x + side / 2));
  const y1 = Math.min(height, Math.round(centre.y + side / 2));
  return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

export function regionFromDetection(d, scale, photo, margin = BLAZEFACE.margin) {
  const centre = { x: (d.x + d.width / 2) * scale, y: (d.y + d.height / 2) * scale };
  const side = Math.max(d.width, d.height) * margin * scale;
  let angle = d.rightEye && d.leftEye ? rollFromEyes(d.rightEye, d.leftEye) : 0;
  if (Math.abs(angle) < MIN_ROLL) angle = 0;
  return { box: squareBox(centre, side, photo.width, photo.height), centre, side, angle, score: d.score };
}

export function sampleRegion(src, region, scale, out, offset) {
  const { data, width, height } = src;
  const cx = region.centre.x / scale;
  const cy = region.centre.y / scale;
  const side = region.side / scale;
  const step = side / FACE_SIZE;
  const k = Math.max(1, Math.min(8, Math.ceil(step)));
  const cos = Math.cos(region.angle);
  const sin = Math.sin(region.angle);
  const maxX = width - 1;
  const maxY = height - 1;
  const bilinear = (x, y) => {
    x = Math.min(maxX, Math.max(0, x));
    y = Math.min(maxY, Math.max(0, y));
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const x1 = Math.min(maxX, x0 + 1);
    const y1 = Math.min(maxY, y0 + 1);
    const fx = x - x0;
    const fy = y - y0;
    const top = data[y0 * width + x0] * (1 - fx) + data[y0 * width + x1] * fx;
    const bottom = data[y1 * width + x0] * (1 - fx) + data[y1 * width + x1] * fx;
    return top * (1 - fy) + bottom * fy;
  };
  for (let v = 0; v < FACE_SIZE; v++) {
    for (let u = 0; u < FACE_SIZE; u++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const b = ((v + (j + 0.5) / k) / FACE_SIZE - 0.5) * side;
        for (let i = 0; i < k; i++) {
          const a = ((u + (i + 0.5) / k) / FACE_SIZE - 0.5) * side;
          sum += bilinear(cx + a * cos - b * sin - 0.5, cy + a * sin + b * cos - 0.5);
        }
      }
      out[offset + v * FACE_SIZE + u] = Math.round(sum / (k * k));
    }
  }
}

// ------------------------------------------------------------ preprocess.ts
export function facesToTensor(tf, faces, spec, sourceBlur = 0) {
  if (faces.length % FACE_PIXELS !== 0) {
    throw new Error(`faces buffer has ${faces.length} values, not a multiple of ${FACE_PIXELS}`);
  }
  const n = faces.length / FACE_PIXELS;
  const extra = Math.sqrt(Math.max(0, (spec.blur ?? 0) ** 2 - sourceBlur ** 2));
  const data = extra >= 0.05 ? blurFaces(faces, extra) : faces instanceof Float32Array ? faces : Float32Array.from(faces);
  return tf.tidy(() => {
    let x = tf.tensor4d(data, [n, FACE_SIZE, FACE_SIZE, 1]);
    x = spec.normalisation === 'symmetric' ? tf.sub(tf.div(x, 127.5), 1) : tf.div(x, 255);
    if (spec.size !== FACE_SIZE) x = tf.image.resizeBilinear(x, [spec.size, spec.size], false, true);
    if (spec.channels === 3) x = tf.tile(x, [1, 1, 1, 3]);
    return x;
  });
}

export function flipFaces(faces) {
  const out = new Float32Array(faces.length);
  for (let base = 0; base < faces.length; base += FACE_SIZE) {
    for (let x = 0; x < FACE_SIZE; x++) out[base + x] = faces[base + FACE_SIZE - 1 - x];
  }
  return out;
}

export function blurFaces(faces, sigma) {
  const out = new Float32Array(faces.length);
  if (sigma <= 0) {
    out.set(faces);
    return out;
  }
  const r = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    kernel[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += kernel[i + r];
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const S = FACE_SIZE;
  const tmp = new Float32Array(FACE_PIXELS);
  const clamp = (v) => (v < 0 ? 0 : v > S - 1 ? S - 1 : v);
  for (let off = 0; off < faces.length; off += FACE_PIXELS) {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += kernel[i + r] * faces[off + y * S + clamp(x + i)];
        tmp[y * S + x] = a;
      }
    }
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += kernel[i + r] * tmp[clamp(y + i) * S + x];
        out[off + y * S + x] = a;
      }
    }
  }
  return out;
}

// ------------------------------------------------------------ predict.ts
/** n rows of 7 probabilities; `entry` = { model, run?, spec, outputsProbabilities, tta, temperature }. */
export function predictFaces(tf, entry, faces) {
  const n = faces.length / FACE_PIXELS;
  if (n === 0) return [];
  if (entry.members) return averageRows(entry.members.map((m) => predictFaces(tf, m, faces)));
  const temperature = entry.temperature ?? 1;
  const forward = entry.run ?? ((x) => entry.model.predict(x));
  const probs = tf.tidy(() => {
    const run = (x) => {
      const y = forward(x);
      // softmax(log(p) / T) = softmax(logits / T): the card's calibration, as on the server.
      if (temperature !== 1) return tf.softmax(tf.div(entry.outputsProbabilities ? tf.log(tf.maximum(y, 1e-12)) : y, temperature));
      return entry.outputsProbabilities ? y : tf.softmax(y);
    };
    if (!entry.tta) return run(facesToTensor(tf, faces, entry.spec));
    // The face and its mirror image in one batch, as the server's runWithMirrors does.
    const both = new Float32Array(2 * faces.length);
    both.set(faces);
    both.set(flipFaces(faces), faces.length);
    const [plain, mirrored] = tf.split(run(facesToTensor(tf, both, entry.spec)), 2, 0);
    return tf.div(tf.add(plain, mirrored), 2);
  });
  try {
    const flat = probs.dataSync();
    const rows = [];
    for (let i = 0; i < n; i++) rows.push(flat.slice(i * LABELS.length, (i + 1) * LABELS.length));
    return rows;
  } finally {
    probs.dispose();
  }
}

/** Row-wise mean of several models' probability rows for the same faces (an ensemble). */
export function averageRows(perModel) {
  return perModel[0].map((_, i) => {
    const mean = new Float32Array(LABELS.length);
    for (const rows of perModel) for (let k = 0; k < mean.length; k++) mean[k] += rows[i][k] / perModel.length;
    return mean;
  });
}

export function topLabel(row) {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return LABELS[best];
}

export function toScores(row) {
  const scores = {};
  LABELS.forEach((label, i) => {
    scores[label] = row[i];
  });
  return scores;
}

// ------------------------------------------------------------ pipeline.ts
/**
 * An RGB working image (already at most 1024 px, as the server's working copy)
 * -> faces left to right with box, label and scores, like POST /api/predict.
 */
export async function analysePixels(tf, detector, entry, rgb, width, height, maxFaces = 20) {
  const grey = rgbToGrey(rgb);
  const found = await detectFaces(tf, detector, rgb, width, height, Math.max(1, maxFaces));
  const photo = { width, height };
  const regions = found.map((d) => regionFromDetection(d, 1, photo)).sort((a, b) => a.centre.x - b.centre.x || a.centre.y - b.centre.y);
  const faces = new Uint8Array(regions.length * FACE_PIXELS);
  regions.forEach((r, i) => sampleRegion({ data: grey, width, height }, r, 1, faces, i * FACE_PIXELS));
  const rows = predictFaces(tf, entry, faces);
  return rows.map((row, i) => ({ box: regions[i].box, label: topLabel(row), scores: toScores(row) }));
}
