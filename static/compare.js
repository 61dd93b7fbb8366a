// Browser side of /compare: draws each model's training curves and its
// reliability diagram with uPlot
// (loaded from /vendor/uplot.min.js) from the figure's data-series
// attribute. Everything else on the page is server-rendered HTML; no inline
// scripts anywhere (a strict CSP comes later).
import { t } from './strings.js';

(function () {
  'use strict';
  if (typeof uPlot === 'undefined') return;
  var css = getComputedStyle(document.documentElement);
  var fg = css.getPropertyValue('--fg').trim() || '#1c1d1f';
  var muted = css.getPropertyValue('--muted').trim() || '#5d6066';
  var grid = css.getPropertyValue('--border').trim() || '#d9dadd';
  var TRAIN = '#2f6fdf';

  var VAL = '#d9480f';

  // Dashed vertical lines where the learning rate or the phase changed, each
  // labelled with the new value when the label fits: a label goes right of its
  // line (left of it near the right edge), on the first of two rows where it
  // overlaps no other; one that fits nowhere is left out (the full list is
  // printed under the charts). The drawn boxes go to data-labels (CSS pixels).
  function changeLabel(c) {
    if (c.lr !== undefined && c.phase === undefined) return 'lr ' + c.lr.toExponential(1);
    return c.text.replace(/^phase /, '').replace(/, lr .* → /, ', lr ');
  }
  function markChanges(changes, el) {
    return function (u) {
      var ctx = u.ctx;
      var dpr = devicePixelRatio;
      var gap = 3 * dpr,
        rowHeight = 13 * dpr;
      var left = u.bbox.left,
        right = u.bbox.left + u.bbox.width;
      var rows = [[], []]; // the [from, to] spans taken on each row
      var placed = [];
      ctx.save();
      ctx.strokeStyle = muted;
      ctx.fillStyle = muted;
      ctx.setLineDash([4, 4]);
      ctx.lineWidth = 1;
      ctx.font = 11 * dpr + 'px system-ui, sans-serif';
      changes.forEach(function (c) {
        // The change takes effect in this epoch: draw just before it.
        var x = Math.round(u.valToPos(c.epoch - 0.5, 'x', true));
        if (x < left || x > right) return;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        var text = changeLabel(c);
        var w = ctx.measureText(text).width;
        var from = x + gap <= right - w ? x + gap : x - gap - w;
        if (from < left) return;
        for (var r = 0; r < rows.length; r++) {
          var free = rows[r].every(function (s) {
            return from + w + gap <= s[0] || from >= s[1] + gap;
          });
          if (!free) continue;
          rows[r].push([from, from + w]);
          var y = u.bbox.top + rowHeight * (r + 1) - 2 * dpr;
          ctx.fillText(text, from, y);
          placed.push({ text: text, left: from / dpr, right: (from + w) / dpr, row: r, plotLeft: left / dpr, plotRight: right / dpr });
          return;
        }
      });
      ctx.restore();
      el.setAttribute('data-labels', JSON.stringify(placed));
    };
  }

  function axis(label, fmt, incrs) {
    var a = { label: label, stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values: fmt };
    if (incrs) a.incrs = incrs;
    return a;
  }

  function draw(el, data, metric) {
    var isAcc = metric === 'acc';
    var pct = function (u, vals) {
      return vals.map(function (v) {
        var p = Math.round(v * 1000) / 10;
        return (p % 1 ? p.toFixed(1) : p.toFixed(0)) + '%';
      });
    };
    var width = Math.max(280, Math.floor(el.getBoundingClientRect().width) || 320);
    var opts = {
      width: width,
      height: 220,
      title: isAcc ? t('compare.chartAcc', 'Accuracy') : t('compare.chartLoss', 'Loss'),
      scales: { x: { time: false } },
      // Whole epochs only on the x axis.
      axes: [
        axis(t('compare.axisEpoch', 'epoch'), undefined, [1, 2, 5, 10, 20, 50, 100]),
        Object.assign(axis(isAcc ? t('compare.axisAcc', 'accuracy') : t('compare.axisLoss', 'loss'), isAcc ? pct : undefined), {
          size: 64,
        }),
      ],
      series: [
        { label: t('compare.axisEpoch', 'epoch') },
        {
          label: t('compare.seriesTrain', 'training'),
          stroke: TRAIN,
          width: 2,
          value: isAcc
            ? function (u, v) {
                return v == null ? '–' : (v * 100).toFixed(1) + '%';
              }
            : undefined,
        },
        {
          label: t('compare.seriesVal', 'validation'),
          stroke: VAL,
          width: 2,
          dash: [6, 3],
          value: isAcc
            ? function (u, v) {
                return v == null ? '–' : (v * 100).toFixed(1) + '%';
              }
            : undefined,
        },
      ],
      hooks: { draw: [markChanges(data.changes || [], el)] },
    };
    var rows = [data.epoch, isAcc ? data.acc : data.loss, isAcc ? data.val_acc : data.val_loss];
    var plot = new uPlot(opts, rows, el);
    el.setAttribute('data-drawn', 'true');
    return plot;
  }

  var plots = [];
  document.querySelectorAll('figure.curves[data-series]').forEach(function (fig) {
    var data;
    try {
      data = JSON.parse(fig.getAttribute('data-series'));
    } catch {
      return;
    }
    fig.querySelectorAll('.chart[data-metric]').forEach(function (el) {
      plots.push({ el: el, plot: draw(el, data, el.getAttribute('data-metric')) });
    });
  });

  // Reliability diagrams: share right per score bin, before and after the
  // temperature, against the diagonal of a perfectly calibrated model.
  function drawReliability(el, data) {
    var width = Math.max(260, Math.min(420, Math.floor(el.getBoundingClientRect().width) || 320));
    var pctAxis = function (u, vals) {
      return vals.map(function (v) {
        return Math.round(v * 100) + '%';
      });
    };
    var pctValue = function (u, v) {
      return v == null ? '–' : (v * 100).toFixed(1) + '%';
    };
    var series = [
      { label: t('compare.axisConfidence', 'top score'), value: pctValue },
      {
        label: t('compare.seriesPerfect', 'perfectly calibrated'),
        stroke: muted,
        width: 1,
        dash: [4, 4],
        points: { show: false },
        value: pctValue,
      },
      {
        label: t('compare.seriesBefore', 'as scored'),
        stroke: VAL,
        width: 2,
        points: { show: true, size: 6 },
        spanGaps: false,
        value: pctValue,
      },
    ];
    var rows = [data.x, data.x, data.before];
    if (data.after) {
      series.push({
        label: t('compare.seriesAfter', 'after temperature'),
        stroke: TRAIN,
        width: 2,
        points: { show: true, size: 6 },
        spanGaps: false,
        value: pctValue,
      });
      rows.push(data.after);
    }
    var opts = {
      width: width,
      height: Math.min(width, 300),
      title: t('compare.chartReliability', 'Reliability'),
      scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
      axes: [
        axis(t('compare.axisConfidence', 'top score'), pctAxis),
        Object.assign(axis(t('compare.axisRight', 'share right'), pctAxis), { size: 56 }),
      ],
      series: series,
    };
    var plot = new uPlot(opts, rows, el);
    el.setAttribute('data-drawn', 'true');
    return plot;
  }
  document.querySelectorAll('figure.reliability[data-series]').forEach(function (fig) {
    var data;
    try {
      data = JSON.parse(fig.getAttribute('data-series'));
    } catch {
      return;
    }
    var el = fig.querySelector('.chart');
    if (el) plots.push({ el: el, plot: drawReliability(el, data), square: true });
  });

  // Keep the charts as wide as their boxes.
  var pending = null;
  window.addEventListener('resize', function () {
    if (pending) cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      plots.forEach(function (p) {
        if (p.square) {
          var s = Math.max(260, Math.min(420, Math.floor(p.el.getBoundingClientRect().width)));
          p.plot.setSize({ width: s, height: Math.min(s, 300) });
          return;
        }
        var w = Math.max(280, Math.floor(p.el.getBoundingClientRect().width));
        p.plot.setSize({ width: w, height: 220 });
      });
    });
  });
})();
