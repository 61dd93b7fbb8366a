// The timeline chart (uPlot, loaded by the page from /vendor/uplot.min.js):
// the selected face's seven probabilities over the video's time, a gap where
// that face is not in view. Moving the cursor reports the sample under it
// (the page shows that frame); a click pins it.

import { LABELS } from './csv.js';

/** uPlot's columns for face `id`: sample times, then one column per label (null where the face is absent). */
export function faceSeries(samples, id) {
  const cols = [samples.map((s) => s.time), ...LABELS.map(() => [])];
  for (const s of samples) {
    const f = s.faces.find((x) => x.id === id);
    LABELS.forEach((l, k) => cols[k + 1].push(f ? f.scores[l] : null));
  }
  return cols;
}

/**
 * A chart in `el`. options: duration (s, the x axis's extent), t (strings),
 * labelName, colour(label), onCursor(index), onPick(index).
 */
export function timelineChart(el, options) {
  const { t, labelName, colour } = options;
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue('--fg').trim() || '#1c1d1f';
  const grid = css.getPropertyValue('--border').trim() || '#d9dadd';
  const pct = (u, v) => (v == null ? '–' : `${(v * 100).toFixed(1)}%`);
  let plot = null;
  let duration = options.duration;

  function width() {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width) || 640);
  }

  function make(data) {
    const axis = (label, values) => ({ label, stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values });
    plot = new window.uPlot(
      {
        width: width(),
        height: 260,
        scales: { x: { time: false, range: () => [0, duration] }, y: { range: [0, 1] } },
        axes: [
          axis(t('video.axisTime', 'time (s)')),
          Object.assign(
            axis(t('video.axisP', 'probability'), (u, vals) => vals.map((v) => `${Math.round(v * 100)}%`)),
            { size: 56 },
          ),
        ],
        series: [
          { label: t('video.axisTime', 'time (s)'), value: (u, v) => (v == null ? '–' : `${v.toFixed(2)} s`) },
          ...LABELS.map((l) => ({ label: labelName(l), stroke: colour(l), width: 2, value: pct, spanGaps: false, points: { size: 4 } })),
        ],
        // No drag-to-zoom: a click picks a frame.
        cursor: { drag: { x: false, y: false, setScale: false } },
        hooks: {
          setCursor: [
            (u) => {
              if (u.cursor.idx != null) options.onCursor(u.cursor.idx);
            },
          ],
        },
      },
      data,
      el,
    );
    plot.over.addEventListener('click', () => {
      if (plot.cursor.idx != null) options.onPick(plot.cursor.idx);
    });
    plot.over.addEventListener('mouseleave', () => options.onLeave && options.onLeave());
  }

  return {
    /** New columns (faceSeries) and, optionally, a new duration. */
    set(data, newDuration) {
      if (newDuration) duration = newDuration;
      if (!plot) make(data);
      else plot.setData(data);
    },
    /** Moves the cursor to sample `index` (the slider, a pinned frame). */
    point(index) {
      if (!plot || !plot.data[0].length) return;
      const x = plot.valToPos(plot.data[0][index], 'x');
      plot.setCursor({ left: x, top: plot.over.clientHeight / 2 }, false);
    },
    resize() {
      if (plot) plot.setSize({ width: width(), height: 260 });
    },
    destroy() {
      if (plot) plot.destroy();
      plot = null;
    },
  };
}
