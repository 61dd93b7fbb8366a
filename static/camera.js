// The Camera tab of the demo page (views/partials/camera.eta, input-tabs.eta).
//  - The camera is asked for only when the user presses "Start camera".
//  - "Take snapshot" puts the frame into the form's file input and submits the
//    form, so a snapshot goes through exactly the path of an uploaded photo.
//  - "Live" posts a small frame to the JSON API a few times a second, one
//    request in flight at a time, and redraws the boxes and bars in place.
//  - Private mode (static/private/runtime.js), where the server offers it and
//    the browser can run it: Live analyses the frames in this browser instead
//    and uploads nothing; a badge says where frames are analysed.
// No inline scripts or handlers anywhere (strict CSP).
import { t } from './strings.js';

(function () {
  'use strict';
  const form = document.getElementById('predict-form');
  const tabs = document.getElementById('input-tabs');
  const panel = document.getElementById('camera-panel');
  if (!form || !tabs || !panel) return;

  const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];

  function labelName(l) {
    return t('label.' + l, l);
  }
  const tabPhoto = document.getElementById('tab-photo');
  const tabCamera = document.getElementById('tab-camera');
  const dropzone = document.getElementById('dropzone');
  const input = document.getElementById('image');
  const video = document.getElementById('camera-video');
  const overlay = document.getElementById('camera-overlay');
  const status = document.getElementById('camera-status');
  const startBtn = document.getElementById('camera-start');
  const snapBtn = document.getElementById('camera-snap');
  const liveBtn = document.getElementById('camera-live');
  const stopBtn = document.getElementById('camera-stop');
  const liveList = document.getElementById('live-faces');
  const fps = Math.min(10, Math.max(0.5, Number(panel.getAttribute('data-fps')) || 3));
  const liveWidth = Number(panel.getAttribute('data-live-width')) || 480;
  // Same origin and base path as the form: /predict -> /api/predict.
  const apiUrl = (form.getAttribute('action') || '/predict').replace(/\/predict$/, '/api/predict');

  let stream = null;
  let live = false;
  let inFlight = null; // AbortController of the live request in flight
  let timer = null;
  let lastFaces = [];
  let lastFrame = null; // size of the frame the last answer is about
  // Private mode: the in-browser runtime once loaded, or why it is not there.
  const base = (form.getAttribute('action') || '/predict').replace(/\/predict$/, '');
  let device = null;
  let deviceLoading = null;
  let deviceError = '';
  const privateRow = document.createElement('p');
  privateRow.className = 'camera-private';
  privateRow.hidden = true;
  const privateLabel = document.createElement('label');
  const privateBox = document.createElement('input');
  privateBox.type = 'checkbox';
  privateBox.id = 'camera-private';
  privateBox.checked = true;
  privateLabel.append(privateBox, ' ', t('private.toggle', 'Private mode: analyse on this device'));
  const where = document.createElement('span');
  where.id = 'camera-where';
  where.className = 'camera-where';
  privateRow.append(privateLabel, ' ', where);
  panel.querySelector('.camera-buttons').after(privateRow);

  tabs.hidden = false;

  // ---------------------------------------------------------------- tabs
  function selectTab(camera) {
    tabPhoto.setAttribute('aria-selected', String(!camera));
    tabCamera.setAttribute('aria-selected', String(camera));
    tabPhoto.tabIndex = camera ? -1 : 0;
    tabCamera.tabIndex = camera ? 0 : -1;
    dropzone.hidden = camera;
    panel.hidden = !camera;
    if (!camera) stopCamera('');
  }
  tabPhoto.addEventListener('click', function () {
    selectTab(false);
  });
  tabCamera.addEventListener('click', function () {
    selectTab(true);
  });
  tabs.addEventListener('keydown', function (e) {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const camera = tabPhoto.getAttribute('aria-selected') === 'true';
    selectTab(camera);
    (camera ? tabCamera : tabPhoto).focus();
  });

  // ------------------------------------------------------- private mode
  function onDevice() {
    return !!device && privateBox.checked;
  }
  function showWhere() {
    const here = onDevice();
    where.classList.toggle('where-device', here);
    where.textContent =
      deviceLoading && privateBox.checked
        ? t('private.loading', 'Loading the model into this browser…')
        : here
          ? t('private.onDevice', 'On this device: camera frames never leave this browser.')
          : deviceError && privateBox.checked
            ? t('private.unavailable', 'Private mode cannot run here ({reason}); frames go to the server.', { reason: deviceError })
            : t('private.onServer', 'On the server: camera frames are sent to the server.');
    panel.setAttribute('data-where', here ? 'device' : 'server');
  }
  function loadDevice() {
    if (device || deviceLoading) return deviceLoading;
    privateRow.hidden = false;
    deviceLoading = import(base + '/static/private/runtime.js')
      .then(function (m) {
        return m.loadPrivate(base);
      })
      .then(
        function (rt) {
          device = rt;
          deviceError = '';
        },
        function (err) {
          deviceError = err && err.message ? err.message : String(err);
          // A server without private mode: no toggle, frames go to the server as before.
          if (/does not offer private mode/.test(deviceError)) privateRow.hidden = true;
        },
      )
      .finally(function () {
        deviceLoading = null;
        showWhere();
      });
    showWhere();
    return deviceLoading;
  }
  privateBox.addEventListener('change', showWhere);

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle('camera-error', !!isError);
  }

  // -------------------------------------------------------------- camera
  function cameraErrorMessage(err) {
    const name = err && err.name;
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      return t(
        'camera.denied',
        'Camera access was denied. Allow the camera for this site (the camera icon in the address bar or the browser settings), then press “Start camera” again. You can still upload a photo in the Photo tab.',
      );
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') {
      return t('camera.notFound', 'No camera was found on this device. Connect one, or upload a photo in the Photo tab.');
    }
    if (name === 'NotReadableError' || name === 'TrackStartError') {
      return t('camera.inUse', 'The camera is busy (another application may be using it). Close that application and try again.');
    }
    return err && err.message
      ? t('camera.failedWith', 'The camera could not be started: {message}', { message: err.message })
      : t('camera.failed', 'The camera could not be started.');
  }

  async function startCamera() {
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
      say(
        t(
          'camera.unsupported',
          'This browser offers no camera access here. Cameras work on secure pages (https:// or http://localhost) in a current browser. You can still upload a photo in the Photo tab.',
        ),
        true,
      );
      return;
    }
    startBtn.disabled = true;
    say(t('camera.asking', 'Asking for the camera…'));
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
    } catch (err) {
      stream = null;
      startBtn.disabled = false;
      say(cameraErrorMessage(err), true);
      return;
    }
    video.srcObject = stream;
    try {
      await video.play();
    } catch {
      /* autoplay of a muted stream is allowed; ignore */
    }
    if (!video.videoWidth)
      await new Promise(function (r) {
        video.addEventListener('loadedmetadata', r, { once: true });
      });
    panel.classList.add('camera-on');
    syncButtons();
    loadDevice();
    say(t('camera.on', 'Camera on. Take a snapshot, or press Live to follow your expression.'));
  }

  function stopCamera(message) {
    setLive(false);
    if (stream)
      stream.getTracks().forEach(function (t) {
        t.stop();
      });
    stream = null;
    video.srcObject = null;
    panel.classList.remove('camera-on');
    clearOverlay();
    syncButtons();
    if (message) say(message);
  }

  /** Buttons follow the camera's state (htmx re-enables every form button after a request). */
  function syncButtons() {
    startBtn.disabled = !!stream;
    snapBtn.disabled = !stream;
    liveBtn.disabled = !stream;
    stopBtn.disabled = !stream;
  }
  document.addEventListener('htmx:finally:request', function () {
    setTimeout(syncButtons, 0);
  });

  /** The current frame on a canvas, at most `maxWidth` wide. */
  function frameCanvas(maxWidth) {
    const w = video.videoWidth;
    const h = video.videoHeight;
    const scale = maxWidth && w > maxWidth ? maxWidth / w : 1;
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext('2d', { willReadFrequently: true }).drawImage(video, 0, 0, canvas.width, canvas.height);
    return canvas;
  }
  /** The current frame as a JPEG blob, at most `maxWidth` wide. */
  function grabFrame(maxWidth) {
    const canvas = frameCanvas(maxWidth);
    return new Promise(function (resolve, reject) {
      canvas.toBlob(
        function (b) {
          if (b) resolve({ blob: b, width: canvas.width, height: canvas.height });
          else reject(new Error('no frame'));
        },
        'image/jpeg',
        0.85,
      );
    });
  }

  // ------------------------------------------------------------ snapshot
  async function snapshot() {
    if (!stream) return;
    setLive(false);
    const frame = await grabFrame(0);
    const file = new File([frame.blob], 'camera-snapshot.jpg', { type: 'image/jpeg' });
    try {
      const dt = new DataTransfer();
      dt.items.add(file);
      input.files = dt.files;
    } catch {
      say(t('camera.noHandOff', 'This browser cannot hand the snapshot to the form; please upload a photo instead.'), true);
      return;
    }
    input.dispatchEvent(new Event('change', { bubbles: true })); // app.js updates the preview
    say(t('camera.snapSent', 'Snapshot sent: the result appears below.'));
    form.requestSubmit(document.getElementById('submit'));
  }

  // ---------------------------------------------------------------- live
  function setLive(on) {
    live = on;
    liveBtn.setAttribute('aria-pressed', String(on));
    liveBtn.textContent = on ? t('camera.pause', 'Pause live') : t('camera.live', 'Live');
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (inFlight) {
      inFlight.abort();
      inFlight = null;
    }
    if (on) {
      say(t('camera.liveStarting', 'Live: analysing about {fps} frames a second…', { fps: fps }));
      tick();
    } else {
      clearOverlay();
    }
  }

  function selectedModel() {
    const field = form.querySelector('[name="model"]');
    return field ? field.value : '';
  }

  function schedule(delay) {
    if (!live) return;
    timer = setTimeout(tick, Math.max(0, delay));
  }

  function showFaces(faces, frame, ms) {
    lastFaces = faces;
    lastFrame = frame;
    draw(lastFaces, lastFrame);
    updateBars(lastFaces);
    panel.setAttribute('data-ms', String(ms));
    say(
      lastFaces.length === 0
        ? t('camera.liveNoFace', 'Live: no face in view ({ms} ms). Face the camera in good light.', { ms: ms })
        : lastFaces.length === 1
          ? t('camera.liveOneFace', 'Live: 1 face · {ms} ms a frame', { ms: ms })
          : t('camera.liveFaces', 'Live: {n} faces · {ms} ms a frame', { n: lastFaces.length, ms: ms }),
    );
  }
  /** One frame analysed in this browser; false when private mode failed (the server takes over). */
  async function tickOnDevice(started) {
    try {
      const answer = await device.analyseCanvas(frameCanvas(liveWidth), selectedModel());
      if (live) showFaces(answer.faces, answer.image, Math.round(performance.now() - started));
      return true;
    } catch (err) {
      device = null;
      deviceError = err && err.message ? err.message : String(err);
      showWhere();
      return false;
    }
  }
  async function tick() {
    timer = null;
    if (!live || !stream || inFlight) return;
    const started = performance.now();
    if (deviceLoading && privateBox.checked) {
      // Still loading: check again shortly rather than upload a frame meant to stay here.
      schedule(200);
      return;
    }
    if (onDevice()) {
      inFlight = new AbortController();
      const ok = await tickOnDevice(started);
      inFlight = null;
      if (ok) {
        schedule(1000 / fps - (performance.now() - started));
        return;
      }
    }
    const controller = new AbortController();
    inFlight = controller;
    let wait = 1000 / fps;
    try {
      const frame = await grabFrame(liveWidth);
      const body = new FormData();
      body.append('image', frame.blob, 'frame.jpg');
      const model = selectedModel();
      if (model) body.append('model', model);
      const res = await fetch(apiUrl, { method: 'POST', body: body, signal: controller.signal, headers: { Accept: 'application/json' } });
      const json = await res.json().catch(function () {
        return {};
      });
      if (!live) return;
      if (res.ok) {
        showFaces(json.faces || [], json.image || frame, Math.round(performance.now() - started));
      } else if (res.status === 429 || res.status === 503) {
        // Busy or rate-limited: wait as long as the server asks, then go on.
        const after = Number(res.headers.get('Retry-After')) || 2;
        wait = after * 1000;
        say(
          t('camera.resumesIn', '{error} Live resumes in {seconds} s.', {
            error: json.error || t('camera.serverBusy', 'The server is busy.'),
            seconds: after,
          }),
          true,
        );
      } else {
        wait = 2000;
        say(json.error || t('camera.serverStatus', 'The server answered {status}.', { status: res.status }), true);
      }
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      wait = 2000;
      say(
        t('camera.unreachable', 'Live: the server could not be reached ({details}). Retrying…', {
          details: err && err.message ? err.message : t('camera.networkError', 'network error'),
        }),
        true,
      );
    } finally {
      if (inFlight === controller) inFlight = null;
    }
    // Throttle: the next frame no sooner than 1/fps after this one started.
    schedule(wait - (performance.now() - started));
  }

  function colour(label) {
    return (
      getComputedStyle(document.documentElement)
        .getPropertyValue('--c-' + label)
        .trim() || '#2f6fdf'
    );
  }

  function clearOverlay() {
    const ctx = overlay.getContext('2d');
    ctx.clearRect(0, 0, overlay.width, overlay.height);
  }

  /** Boxes over the video: the frame's pixel coordinates scaled to the shown video. */
  function draw(faces, frame) {
    const dpr = window.devicePixelRatio || 1;
    const w = video.clientWidth;
    const h = video.clientHeight;
    overlay.width = Math.round(w * dpr);
    overlay.height = Math.round(h * dpr);
    const ctx = overlay.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const sx = w / frame.width;
    const sy = h / frame.height;
    const tag = 20;
    faces.forEach(function (f, i) {
      const c = colour(f.label);
      const x = f.box.x * sx;
      const y = f.box.y * sy;
      ctx.lineWidth = 3;
      ctx.strokeStyle = c;
      ctx.strokeRect(x, y, f.box.width * sx, f.box.height * sy);
      const ty = y >= tag ? y - tag : y;
      ctx.fillStyle = c;
      ctx.fillRect(x, ty, tag, tag);
      ctx.fillStyle =
        getComputedStyle(document.documentElement)
          .getPropertyValue('--t-' + f.label)
          .trim() || '#ffffff';
      ctx.font = 'bold 14px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText(String(i + 1), x + tag / 2, ty + 15);
    });
  }

  /** One list entry per face, created once and then only updated. */
  function updateBars(faces) {
    while (liveList.children.length > faces.length) liveList.lastElementChild.remove();
    faces.forEach(function (f, i) {
      let li = liveList.children[i];
      if (!li) {
        li = document.createElement('li');
        li.className = 'live-face';
        const head = document.createElement('p');
        head.className = 'live-head';
        const num = document.createElement('span');
        num.className = 'face-number';
        num.textContent = String(i + 1);
        const label = document.createElement('span');
        label.className = 'live-label';
        head.append(num, ' ', label);
        const bars = document.createElement('ol');
        bars.className = 'bars';
        LABELS.forEach(function (l) {
          const bar = document.createElement('li');
          bar.className = 'bar';
          bar.setAttribute('data-label', l);
          const name = document.createElement('span');
          name.className = 'bar-label';
          name.textContent = labelName(l);
          const meter = document.createElement('meter');
          meter.min = 0;
          meter.max = 1;
          const value = document.createElement('span');
          value.className = 'bar-value';
          bar.append(name, meter, value);
          bars.append(bar);
        });
        li.append(head, bars);
        liveList.append(li);
      }
      li.querySelector('.face-number').className = 'face-number expr-' + f.label;
      li.querySelector('.live-label').textContent = labelName(f.label) + ' ' + (f.scores[f.label] * 100).toFixed(0) + '%';
      LABELS.forEach(function (l) {
        const bar = li.querySelector('[data-label="' + l + '"]');
        const p = f.scores[l];
        bar.classList.toggle('top', l === f.label);
        bar.querySelector('meter').value = p;
        bar.querySelector('.bar-value').textContent = (p * 100).toFixed(1) + '%';
      });
    });
  }

  startBtn.addEventListener('click', startCamera);
  stopBtn.addEventListener('click', function () {
    stopCamera(t('camera.off', 'Camera off.'));
  });
  snapBtn.addEventListener('click', function () {
    snapshot().catch(function (e) {
      say(t('camera.snapFailed', 'The snapshot failed: {message}', { message: e.message }), true);
    });
  });
  liveBtn.addEventListener('click', function () {
    if (stream) setLive(!live);
  });
  // The video changed size: redraw the last boxes at the new scale.
  window.addEventListener('resize', function () {
    if (live && lastFrame) draw(lastFaces, lastFrame);
  });
  // A hidden tab keeps no camera busy and sends no frames.
  document.addEventListener('visibilitychange', function () {
    if (document.hidden && stream)
      stopCamera(t('camera.hiddenOff', 'Camera off while the page was hidden. Press “Start camera” to resume.'));
  });
  window.addEventListener('pagehide', function () {
    stopCamera('');
  });
})();
