// Faces followed across a video's samples by box overlap: each new sample's
// faces are matched greedily to the tracks seen recently, highest IoU first,
// and a face that overlaps no track starts a new one. A track survives a
// short gap (the detector missing a face for a sample or two), so a face id
// stays the same while the face keeps overlapping where it was.
// Plain JS with no DOM: the page uses it and the Node tests import it (track.d.ts).

/** Intersection over union of two boxes {x, y, width, height}; 0 when either is empty. */
export function iou(a, b) {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

export const TRACK_DEFAULTS = { minIou: 0.3, maxGap: 2 };

/**
 * A tracker: update(faces) takes one sample's faces (objects with a `box`)
 * and returns them, in the same order, each with its track `id` (1, 2, ...).
 * minIou: least overlap that continues a track; maxGap: samples a track may
 * go unseen and still be continued.
 */
export function createTracker(options = {}) {
  const { minIou, maxGap } = { ...TRACK_DEFAULTS, ...options };
  const tracks = []; // { id, box, last } (last: the sample it was last seen in)
  let nextId = 1;
  let step = -1;
  return {
    update(faces) {
      step += 1;
      const live = tracks.filter((t) => step - t.last <= maxGap + 1);
      const pairs = [];
      live.forEach((t) =>
        faces.forEach((f, i) => {
          const overlap = iou(t.box, f.box);
          if (overlap >= minIou) pairs.push({ t, i, overlap });
        }),
      );
      // Best overlaps first; on a tie the older track wins, so ids are stable.
      pairs.sort((a, b) => b.overlap - a.overlap || a.t.id - b.t.id);
      const ids = new Array(faces.length).fill(0);
      const taken = new Set();
      for (const { t, i } of pairs) {
        if (ids[i] || taken.has(t.id)) continue;
        ids[i] = t.id;
        taken.add(t.id);
        t.box = faces[i].box;
        t.last = step;
      }
      // Unmatched faces, left to right, start new tracks.
      faces
        .map((f, i) => i)
        .filter((i) => !ids[i])
        .sort((a, b) => faces[a].box.x - faces[b].box.x)
        .forEach((i) => {
          const t = { id: nextId++, box: faces[i].box, last: step };
          tracks.push(t);
          ids[i] = t.id;
        });
      return faces.map((f, i) => ({ ...f, id: ids[i] }));
    },
  };
}
