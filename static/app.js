// Browser side of the demo page: preview, drag and drop, paste (Ctrl+V), Clear,
// refusing a file that is not a photo before it is sent, and showing which
// example was picked. The form works without this file (plain POST);
// htmx does the posting. No inline scripts anywhere: a strict CSP comes later.
import { t } from './strings.js';

(function () {
  'use strict';
  var form = document.getElementById('predict-form');
  if (!form) return;
  var input = document.getElementById('image');
  var zone = document.getElementById('dropzone');
  var preview = document.getElementById('preview');
  var result = document.getElementById('result');
  var objectUrl = null;

  function showPreview(src) {
    if (objectUrl && objectUrl !== src) URL.revokeObjectURL(objectUrl);
    objectUrl = src && src.indexOf('blob:') === 0 ? src : null;
    if (src) {
      preview.src = src;
      preview.hidden = false;
      zone.classList.add('has-preview');
    } else {
      preview.removeAttribute('src');
      preview.hidden = true;
      zone.classList.remove('has-preview');
    }
  }

  // The formats the server reads (the file input's accept list); a file of
  // another kind is refused here, before a phone spends the upload on it.
  var ACCEPT = (input.getAttribute('accept') || '')
    .split(',')
    .map(function (s) {
      return s.trim().toLowerCase();
    })
    .filter(Boolean);
  function isPhoto(file) {
    var type = (file.type || '').toLowerCase();
    var dot = file.name ? file.name.lastIndexOf('.') : -1;
    var ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : '';
    if (type) return ACCEPT.indexOf(type) >= 0;
    return ext !== '' && ACCEPT.indexOf(ext) >= 0;
  }
  function refuse(file) {
    var heic = /hei[cf]/i.test(file.type || '') || /\.hei[cf]$/i.test(file.name || '');
    showError(
      heic
        ? t('err.heic', 'HEIC photos are not supported. Please export the photo as JPEG.')
        : t('err.notPhotoFile', '"{name}" is not a photo. Please choose a JPEG, PNG, WebP, GIF, AVIF or TIFF image.', {
            name: file.name || '?',
          }),
    );
  }

  input.addEventListener('change', function () {
    var file = input.files && input.files[0];
    if (file && !isPhoto(file)) {
      input.value = '';
      showPreview(null);
      refuse(file);
      return;
    }
    showPreview(file ? URL.createObjectURL(file) : null);
  });

  // Paste a photo (Ctrl+V / Cmd+V) anywhere on the page but in a text field:
  // it fills the file input like a pick or a drop.
  var pasteHint = document.getElementById('paste-hint');
  if (pasteHint) pasteHint.hidden = false;
  document.addEventListener('paste', function (e) {
    var data = e.clipboardData;
    var files = data && data.files;
    if (!files || files.length === 0) return;
    var el = e.target;
    if (el && el.closest && el.closest('textarea, input[type="text"], input:not([type])')) return;
    e.preventDefault();
    var file = files[0];
    if (!isPhoto(file)) {
      refuse(file);
      return;
    }
    var photoTab = document.getElementById('tab-photo');
    if (photoTab && zone.hidden) photoTab.click();
    var list = new DataTransfer();
    // A pasted screenshot has no name of its own: give it one with the right extension.
    var named =
      file.name && file.name !== 'image.png'
        ? file
        : new File([file], 'pasted.' + (file.type.split('/')[1] || 'png').replace('jpeg', 'jpg'), { type: file.type });
    list.items.add(named);
    input.files = list.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });

  // Drag and drop onto the zone fills the file input, so the form (and the
  // no-JavaScript path) sees one and the same field.
  ['dragenter', 'dragover'].forEach(function (type) {
    zone.addEventListener(type, function (e) {
      e.preventDefault();
      zone.classList.add('dragging');
    });
  });
  ['dragleave', 'dragend'].forEach(function (type) {
    zone.addEventListener(type, function () {
      zone.classList.remove('dragging');
    });
  });
  zone.addEventListener('drop', function (e) {
    e.preventDefault();
    zone.classList.remove('dragging');
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || files.length === 0) return;
    input.files = files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });

  // An example shows its own picture as the preview.
  form.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('button.example');
    if (!button) return;
    var img = button.querySelector('img');
    if (img) showPreview(img.currentSrc || img.src);
  });

  // Refuse an over-limit file before uploading it: saves a phone the upload,
  // and a browser may report a connection error instead of the server's 413.
  var maxBytes = Number(form.getAttribute('data-max-bytes')) || 0;
  document.addEventListener('htmx:config:request', function (e) {
    var body = e.detail && e.detail.ctx && e.detail.ctx.request && e.detail.ctx.request.body;
    if (!maxBytes || !body || typeof body.get !== 'function' || body.get('example')) return;
    var file = body.get('image');
    if (file && file.size > 0 && !isPhoto(file)) {
      e.preventDefault();
      refuse(file);
      return;
    }
    if (file && file.size > maxBytes) {
      e.preventDefault();
      showError(
        t('err.tooLarge', 'The file is too large: the limit is {mb} MB. Please choose a smaller photo.', {
          mb: Math.round((maxBytes / 1048576) * 10) / 10,
        }),
      );
    }
  });

  function showError(message) {
    var card = document.createElement('div');
    card.className = 'error-card';
    card.setAttribute('role', 'alert');
    var h = document.createElement('h2');
    h.textContent = t('error.title', 'That did not work');
    var p = document.createElement('p');
    p.className = 'error-message';
    p.textContent = message;
    card.append(h, p);
    result.replaceChildren(card);
  }

  form.addEventListener('reset', function () {
    showPreview(null);
    var placeholder = document.createElement('p');
    placeholder.className = 'placeholder';
    placeholder.textContent = t('index.placeholder', 'The result will appear here.');
    result.replaceChildren(placeholder);
  });

  // Once a result arrives: focus its first heading (screen readers,
  // keyboards) without jumping to it, and bring the annotated photo into view,
  // its top at the top of the screen: the numbers on it lead to the faces below.
  document.addEventListener('htmx:after:swap', function (e) {
    var target = e.detail && e.detail.ctx && e.detail.ctx.target;
    if (target !== result) return;
    var heading = result.querySelector('.top-label, .agreement, .error-card h2');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    var show = result.querySelector('.photo-frame') || result.firstElementChild;
    if (show && show.scrollIntoView) {
      var still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      show.scrollIntoView({ block: 'start', behavior: still ? 'auto' : 'smooth' });
    }
  });
})();
