// Frames from a video file, in this browser: when to sample (sampleTimes,
// pure, tested from Node), opening a chosen file in a <video>, seeking to a
// time and copying that frame onto a canvas. No frame leaves the page.

/** Most samples one video may give (memory and patience); the page asks for a lower rate beyond it. */
export const MAX_SAMPLES = 10000;

/**
 * Sample times in seconds, `fps` a second from 0, every one before the end:
 * a 4.0 s video at 5/s gives 0, 0.2, ..., 3.8 (20 samples). Times are
 * rounded to the millisecond so they read well in the CSV.
 */
export function sampleTimes(duration, fps) {
  if (!(duration > 0) || !Number.isFinite(duration) || !(fps > 0)) return [];
  // The small allowance keeps a container's rounding (4.001 s) from adding a sample at the very end.
  const n = Math.max(1, Math.floor(duration * fps - 0.01) + 1);
  return Array.from({ length: n }, (_, i) => Math.round((i / fps) * 1000) / 1000);
}

function once(target, events, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
    const handlers = {};
    function finish(err, ev) {
      clearTimeout(timer);
      Object.entries(handlers).forEach(([name, h]) => target.removeEventListener(name, h));
      if (err) reject(err);
      else resolve(ev);
    }
    events.forEach((name) => {
      handlers[name] = (ev) => finish(name === 'error' ? new Error(`${what} failed`) : null, ev);
      target.addEventListener(name, handlers[name]);
    });
  });
}

/**
 * Opens `url` (an object URL of the chosen file) in `video` and resolves its
 * duration and size. Files recorded by a browser (MediaRecorder webm) often
 * carry no duration: seeking far past the end makes the browser find it.
 */
export async function openVideo(video, url) {
  video.muted = true;
  video.preload = 'auto';
  video.src = url;
  await once(video, ['loadedmetadata', 'error'], 30000, 'reading the video');
  if (!Number.isFinite(video.duration)) {
    video.currentTime = 1e7;
    await once(video, ['seeked', 'error'], 30000, "finding the video's length");
    await seek(video, 0);
  }
  if (!video.videoWidth || !(video.duration > 0)) throw new Error('no video track');
  return { duration: video.duration, width: video.videoWidth, height: video.videoHeight };
}

/** Shows the frame at `t` seconds; rejects if the browser cannot get there (a broken file) rather than hang. */
export async function seek(video, t) {
  if (Math.abs(video.currentTime - t) > 1e-4 || video.readyState < 2) {
    const arrived = once(video, ['seeked', 'error'], 20000, `seeking to ${t} s`);
    video.currentTime = t;
    await arrived;
  }
  if (video.readyState < 2) await once(video, ['loadeddata', 'canplay', 'error'], 20000, `decoding the frame at ${t} s`);
}

/** The video's current frame on `canvas`, at most `maxWidth` wide; the scale from canvas to video pixels. */
export function grab(video, canvas, maxWidth) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  const scale = maxWidth && w > maxWidth ? maxWidth / w : 1;
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  canvas.getContext('2d', { willReadFrequently: true }).drawImage(video, 0, 0, canvas.width, canvas.height);
  return w / canvas.width;
}
