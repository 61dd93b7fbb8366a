// The video timeline page (views/video.eta, partials/video-timeline.eta).
// A chosen video file is opened in this browser, sampled (sample.js), each
// frame analysed by private mode's runtime (../private/runtime.js: BlazeFace
// and the chosen model on TF.js's wasm backend), faces followed by box
// overlap (track.js), and the selected face's probabilities drawn over time
// (chart.js); the frame under the cursor is shown with its numbered boxes.
// Nothing is uploaded: without private mode the page says so and does nothing.
// The progress, the result and the mean time a frame are also data-*
// attributes of the section, for the tests and `npm run bench`.
import { loadPrivate } from '../private/runtime.js';
import { t } from '../strings.js';
import { timelineChart, faceSeries } from './chart.js';
import { timelineCsv } from './csv.js';
import { grab, MAX_SAMPLES, openVideo, sampleTimes, seek } from './sample.js';
import { createTracker } from './track.js';

const root = document.getElementById('video-timeline');
if (root) start(root);

function start(section) {
  const $ = (id) => document.getElementById(id);
  const base = document.documentElement.getAttribute('data-base') || '';
  const labelName = (l) => t(`label.${l}`, l);
  const colour = (l) => getComputedStyle(document.documentElement).getPropertyValue(`--c-${l}`).trim() || '#2f6fdf';

  const fileInput = $('video-file');
  const fpsInput = $('video-fps');
  const modelField = $('video-model');
  const startBtn = $('video-start');
  const cancelBtn = $('video-cancel');
  const status = $('video-status');
  const progressRow = $('video-progress-row');
  const progress = $('video-progress');
  const progressText = $('video-progress-text');
  const results = $('video-results');
  const faceSelect = $('video-face');
  const csvBtn = $('video-csv');
  const slider = $('video-frame-index');
  const frameTime = $('video-frame-time');
  const frameCanvas = $('video-frame');
  const frameCaption = $('video-frame-caption');
  const maxWidth = Number(section.getAttribute('data-max-width')) || 640;
  // Two players of the same file: one is sampled, the other shows the frame under the cursor.
  const source = document.createElement('video');
  const viewer = document.createElement('video');

  let runtime = null;
  let file = null; // { name, url, duration, width, height }
  let samples = []; // [{ time, faces: [{ id, box, label, scores }] }]
  let run = null; // { controller, total } while analysing
  let selectedFace = 0;
  let pinned = 0;
  let chart = null;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle('video-error', !!isError);
  }
  function sync() {
    const busy = !!run;
    startBtn.disabled = busy || !runtime || !file;
    cancelBtn.disabled = !busy;
    fileInput.disabled = busy || !runtime;
    fpsInput.disabled = busy;
    if (modelField) modelField.disabled = busy;
    section.setAttribute(
      'data-state',
      busy ? 'running' : section.getAttribute('data-state') === 'running' ? 'idle' : section.getAttribute('data-state') || 'idle',
    );
  }
  function fps() {
    const v = Number(fpsInput.value);
    return Number.isFinite(v) && v > 0 ? Math.min(30, v) : 5;
  }

  // ------------------------------------------------------- private mode
  if (section.getAttribute('data-private') !== 'true') {
    // The server offers no private mode: the page already says so; nothing to load, nothing to send.
    fileInput.disabled = true;
    sync();
    return;
  }
  say(t('private.loading', 'Loading the model into this browser…'));
  section.setAttribute('data-runtime', 'loading');
  loadPrivate(base).then(
    (rt) => {
      runtime = rt;
      section.setAttribute('data-runtime', 'ready');
      say(t('video.ready', 'Ready: frames are analysed on this device and the video is never uploaded. Choose a video.'));
      sync();
    },
    (err) => {
      section.setAttribute('data-runtime', 'failed');
      say(
        t(
          'video.noPrivate',
          'The video timeline needs private mode (the models running in this browser), and it cannot run here: {reason}. Nothing is uploaded instead.',
          { reason: err && err.message ? err.message : String(err) },
        ),
        true,
      );
      fileInput.disabled = true;
      sync();
    },
  );
  sync();

  // ---------------------------------------------------------- the file
  async function choose(chosen) {
    cancel();
    if (file) URL.revokeObjectURL(file.url);
    file = null;
    sync();
    if (!chosen) return;
    const url = URL.createObjectURL(chosen);
    try {
      const info = await openVideo(source, url);
      file = { name: chosen.name, url, ...info };
      describe();
    } catch (err) {
      URL.revokeObjectURL(url);
      say(
        t('video.badFile', 'This file cannot be played in this browser ({reason}). Choose an mp4 (H.264) or webm video.', {
          reason: err && err.message ? err.message : String(err),
        }),
        true,
      );
    }
    sync();
  }
  /** What the chosen file will give at the chosen rate. */
  function describe() {
    if (!file) return;
    const n = sampleTimes(file.duration, fps()).length;
    section.setAttribute('data-duration', String(file.duration));
    say(
      t('video.chosen', '{name}: {duration} s, {width} × {height}. {n} frames at {fps} a second.', {
        name: file.name,
        duration: file.duration.toFixed(1),
        width: file.width,
        height: file.height,
        n,
        fps: fps(),
      }),
      n > MAX_SAMPLES,
    );
    if (n > MAX_SAMPLES)
      say(t('video.tooMany', '{n} frames is more than {max}: choose fewer frames a second.', { n, max: MAX_SAMPLES }), true);
  }
  fileInput.addEventListener('change', () => {
    choose(fileInput.files && fileInput.files[0]);
  });
  fpsInput.addEventListener('change', describe);

  // --------------------------------------------------------- analysing
  async function analyse() {
    if (!runtime || !file || run) return;
    const times = sampleTimes(file.duration, fps());
    if (times.length === 0 || times.length > MAX_SAMPLES) {
      describe();
      return;
    }
    const controller = new AbortController();
    run = { controller, total: times.length };
    samples = [];
    selectedFace = 0;
    pinned = 0;
    faceSelect.replaceChildren();
    results.hidden = false;
    progressRow.hidden = false;
    section.setAttribute('data-state', 'running');
    section.removeAttribute('data-ms-per-frame');
    sync();
    if (!chart) {
      chart = timelineChart($('video-chart'), {
        duration: file.duration,
        t,
        labelName,
        colour,
        onCursor: (i) => showFrame(i),
        onPick: (i) => pick(i),
        onLeave: () => showFrame(pinned),
      });
    }
    const model = modelField ? modelField.value : '';
    const tracker = createTracker();
    const canvas = document.createElement('canvas');
    let spent = 0;
    report(0, times.length);
    try {
      for (const time of times) {
        if (controller.signal.aborted) break;
        const t0 = performance.now();
        await seek(source, time);
        if (controller.signal.aborted) break;
        const scale = grab(source, canvas, maxWidth);
        const answer = await runtime.analyseCanvas(canvas, model);
        // A cancel during the frame's analysis drops it: the count never moves after Cancel.
        if (controller.signal.aborted) break;
        spent += performance.now() - t0;
        const faces = answer.faces.map((f) => ({
          box: { x: f.box.x * scale, y: f.box.y * scale, width: f.box.width * scale, height: f.box.height * scale },
          label: f.label,
          scores: f.scores,
        }));
        samples.push({ time, faces: tracker.update(faces) });
        section.setAttribute('data-ms-per-frame', (spent / samples.length).toFixed(1));
        report(samples.length, times.length);
        refresh(file.duration);
      }
      const msFrame = samples.length ? Math.round(spent / samples.length) : 0;
      if (controller.signal.aborted) {
        section.setAttribute('data-state', 'cancelled');
        say(
          t('video.cancelled', 'Cancelled after {done} of {total} frames; the timeline shows the part analysed.', {
            done: samples.length,
            total: times.length,
          }),
        );
      } else {
        section.setAttribute('data-state', 'done');
        const ids = faceIds();
        say(
          ids.length === 0
            ? t('video.noFaces', 'Done: {n} frames, and no face in any of them.', { n: samples.length })
            : t('video.done', 'Done: {n} frames, {faces} faces followed, {ms} ms a frame on this device.', {
                n: samples.length,
                faces: ids.length,
                ms: msFrame,
              }),
        );
      }
    } catch (err) {
      section.setAttribute('data-state', 'failed');
      say(t('video.failed', 'The analysis stopped: {message}', { message: err && err.message ? err.message : String(err) }), true);
    } finally {
      run = null;
      sync();
      refresh(file ? file.duration : 0);
    }
  }
  function cancel() {
    if (!run) return;
    run.controller.abort();
    cancelBtn.disabled = true;
  }
  function report(done, total) {
    const percent = total ? Math.floor((done / total) * 100) : 0;
    progress.max = total;
    progress.value = done;
    progressText.textContent = t('video.progress', '{done} / {total} frames ({percent}%)', { done, total, percent });
    section.setAttribute('data-done', String(done));
    section.setAttribute('data-total', String(total));
  }
  startBtn.addEventListener('click', () => {
    analyse();
  });
  cancelBtn.addEventListener('click', cancel);
  window.addEventListener('pagehide', cancel);

  // ------------------------------------------------------------ results
  function faceIds() {
    const seen = new Map();
    samples.forEach((s) => s.faces.forEach((f) => seen.set(f.id, (seen.get(f.id) || 0) + 1)));
    return [...seen.entries()].sort((a, b) => a[0] - b[0]);
  }
  /** Face list, chart and slider after a new sample (or at the end). */
  function refresh(duration) {
    const ids = faceIds();
    section.setAttribute('data-samples', String(samples.length));
    section.setAttribute('data-faces', String(ids.length));
    // Options are added as faces appear and their counts kept current.
    ids.forEach(([id, n]) => {
      let opt = faceSelect.querySelector(`option[value="${id}"]`);
      if (!opt) {
        opt = document.createElement('option');
        opt.value = String(id);
        faceSelect.append(opt);
      }
      opt.textContent = t('video.faceSeen', 'Face {id} (in {n} of {total} frames)', { id, n, total: samples.length });
    });
    if (!selectedFace && ids.length) {
      selectedFace = ids[0][0];
      faceSelect.value = String(selectedFace);
    }
    if (chart && samples.length) chart.set(faceSeries(samples, selectedFace), duration);
    slider.max = String(Math.max(0, samples.length - 1));
    if (samples.length === 1) showFrame(0);
  }
  faceSelect.addEventListener('change', () => {
    selectedFace = Number(faceSelect.value);
    if (chart) chart.set(faceSeries(samples, selectedFace));
    drawFrame(shown);
  });
  function pick(i) {
    pinned = i;
    slider.value = String(i);
    showFrame(i);
  }
  slider.addEventListener('input', () => {
    pick(Number(slider.value));
    if (chart) chart.point(pinned);
  });

  // The frame under the cursor: the viewer seeks there (one seek at a time; the latest wish wins).
  let wanted = -1;
  let shown = -1;
  let seeking = false;
  async function showFrame(i) {
    if (!file || !samples[i]) return;
    wanted = i;
    if (seeking) return;
    seeking = true;
    try {
      if (viewer.src !== file.url) await openVideo(viewer, file.url);
      while (wanted !== shown && samples[wanted]) {
        const j = wanted;
        await seek(viewer, samples[j].time);
        shown = j;
        drawFrame(j);
      }
    } catch (err) {
      frameCaption.textContent = t('video.failed', 'The analysis stopped: {message}', {
        message: err && err.message ? err.message : String(err),
      });
    } finally {
      seeking = false;
    }
  }
  /** Frame `i` with its faces' boxes, numbered by face; the selected face drawn thicker. */
  function drawFrame(i) {
    const s = samples[i];
    if (!s || shown !== i) return;
    const scale = 1 / grab(viewer, frameCanvas, maxWidth);
    const ctx = frameCanvas.getContext('2d');
    const tag = 22;
    s.faces.forEach((f) => {
      const c = colour(f.label);
      const x = f.box.x * scale;
      const y = f.box.y * scale;
      ctx.lineWidth = f.id === selectedFace ? 5 : 2;
      ctx.strokeStyle = c;
      ctx.strokeRect(x, y, f.box.width * scale, f.box.height * scale);
      const ty = y >= tag ? y - tag : y;
      ctx.fillStyle = c;
      ctx.fillRect(x, ty, tag, tag);
      ctx.fillStyle = f.label === 'happy' ? '#1c1d1f' : '#ffffff';
      ctx.font = 'bold 15px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText(String(f.id), x + tag / 2, ty + 16);
    });
    const figure = frameCanvas.parentElement;
    figure.setAttribute('data-index', String(i));
    figure.setAttribute('data-time', String(s.time));
    figure.setAttribute('data-faces', s.faces.map((f) => f.id).join(' '));
    frameTime.textContent = `${s.time.toFixed(2)} s`;
    slider.value = String(i);
    const mine = s.faces.find((f) => f.id === selectedFace);
    const at = { time: s.time.toFixed(2), n: s.faces.length };
    frameCaption.textContent =
      (s.faces.length === 1
        ? t('video.frameAtOne', 'Frame at {time} s: 1 face.', at)
        : t('video.frameAt', 'Frame at {time} s: {n} faces.', at)) +
      (mine
        ? ` ${t('video.face', 'Face {id}', { id: selectedFace })}: ${labelName(mine.label)} ${(mine.scores[mine.label] * 100).toFixed(0)}%`
        : '');
  }
  // A click on a box selects that face.
  frameCanvas.addEventListener('click', (e) => {
    const s = samples[shown];
    if (!s) return;
    const r = frameCanvas.getBoundingClientRect();
    // From CSS pixels on the page to the video's own pixels, where the boxes are.
    const k = viewer.videoWidth / r.width;
    const px = (e.clientX - r.left) * k;
    const py = (e.clientY - r.top) * k;
    const hit = s.faces.find((f) => px >= f.box.x && px <= f.box.x + f.box.width && py >= f.box.y && py <= f.box.y + f.box.height);
    if (hit) {
      faceSelect.value = String(hit.id);
      faceSelect.dispatchEvent(new Event('change'));
    }
  });

  // ---------------------------------------------------------------- CSV
  csvBtn.addEventListener('click', () => {
    if (!samples.length) return;
    const blob = new Blob([timelineCsv(samples)], { type: 'text/csv' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${(file ? file.name : 'video').replace(/\.[^.]+$/, '')}-timeline.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
  window.addEventListener('resize', () => {
    if (chart) chart.resize();
  });
}
