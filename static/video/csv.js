// The timeline as CSV: one row per face per sample, and one row with only the
// time for a sample where no face was found (so every sampled time is there).
// Boxes are in the video's own pixels; probabilities have four decimals.
// Plain JS with no DOM: the page uses it and the Node tests import it (csv.d.ts).

export const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
export const CSV_COLUMNS = ['time_s', 'face', 'box_x', 'box_y', 'box_width', 'box_height', ...LABELS, 'label'];

/** The CSV rows (arrays of strings) of samples [{ time, faces: [{ id, box, label, scores }] }]. */
export function timelineRows(samples) {
  const rows = [];
  for (const s of samples) {
    const time = s.time.toFixed(3);
    if (s.faces.length === 0) {
      rows.push([time, ...CSV_COLUMNS.slice(1).map(() => '')]);
      continue;
    }
    for (const f of [...s.faces].sort((a, b) => a.id - b.id)) {
      const b = f.box;
      rows.push([
        time,
        String(f.id),
        ...[b.x, b.y, b.width, b.height].map((v) => String(Math.round(v))),
        ...LABELS.map((l) => f.scores[l].toFixed(4)),
        f.label,
      ]);
    }
  }
  return rows;
}

/** The whole file: a header line, then the rows (fields never need quoting: numbers and label names). */
export function timelineCsv(samples) {
  return [CSV_COLUMNS, ...timelineRows(samples)].map((r) => r.join(',')).join('\n') + '\n';
}
