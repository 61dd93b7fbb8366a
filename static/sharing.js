// Browser side of sharing the demo: the Share panel (copy, close, Escape), the copy
// buttons of the API page, and waiting politely when the server is busy
// (503 or 429 with Retry-After: count down, then send the same request again).
// Strings come from the page's JSON block #ui-strings (no inline scripts).
import { t } from './strings.js';

(function () {
  'use strict';

  // ------------------------------------------------------------- copying
  function copy(text, button, doneText) {
    function done() {
      var before = button.textContent;
      button.textContent = doneText;
      setTimeout(function () {
        button.textContent = before;
      }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        selectText(button);
      });
    } else {
      // Plain http on a LAN address is not a secure context: select it for Ctrl+C instead.
      selectText(button);
    }
  }
  function selectText(button) {
    var id = button.getAttribute('data-copy-from');
    var el = id ? document.getElementById(id) : document.getElementById('share-url');
    if (!el) return;
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  document.addEventListener('click', function (e) {
    var target = e.target;
    if (!target || !target.closest) return;
    var copyButton = target.closest('button[data-copy], button[data-copy-from]');
    if (copyButton) {
      var from = copyButton.getAttribute('data-copy-from');
      var text = from ? (document.getElementById(from) || {}).textContent : copyButton.getAttribute('data-copy');
      copy(text || '', copyButton, from ? t('api.copied', 'Copied') : t('share.copied', 'Link copied'));
      return;
    }
    if (target.closest('.share-close')) closeSharePanel();
  });

  function closeSharePanel() {
    var panel = document.getElementById('share-panel');
    if (!panel || !panel.firstElementChild) return false;
    panel.replaceChildren();
    var opener = document.querySelector('.share-button');
    if (opener) opener.focus();
    return true;
  }
  // Escape closes the Share panel, as it would a dialog.
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !e.defaultPrevented && closeSharePanel()) e.preventDefault();
  });

  // Move focus into the share panel when it opens.
  document.addEventListener('htmx:after:swap', function (e) {
    var target = e.detail && e.detail.ctx && e.detail.ctx.target;
    if (target && target.id === 'share-panel') {
      var h = target.querySelector('h2');
      if (h) {
        h.setAttribute('tabindex', '-1');
        h.focus();
      }
    }
  });

  // ------------------------------------------------ busy server: retry
  var form = document.getElementById('predict-form');
  if (!form) return;
  var lastSubmitter = null;
  var retry = null; // { timer, left, tries }
  var retrying = false; // the next submit is our own retry
  var MAX_TRIES = 5;

  function cancelRetry() {
    if (retry && retry.timer) clearInterval(retry.timer);
    retry = null;
  }

  form.addEventListener(
    'submit',
    function (e) {
      if (retrying) {
        retrying = false;
        return;
      } // our own retry keeps the count
      lastSubmitter = e.submitter || null;
      cancelRetry();
    },
    true,
  );
  form.addEventListener('reset', cancelRetry);

  var pending = null; // { seconds, status } to wait, set by the response, used after the swap
  document.addEventListener('htmx:after:request', function (e) {
    var ctx = e.detail && e.detail.ctx;
    if (!ctx || !ctx.response || (ctx.sourceElement !== form && !form.contains(ctx.sourceElement))) return;
    var status = ctx.response.status;
    var after = Number(ctx.response.headers && ctx.response.headers.get('Retry-After'));
    pending = (status === 503 || status === 429) && after > 0 ? { seconds: Math.min(after, 120), status: status } : null;
  });

  document.addEventListener('htmx:after:swap', function (e) {
    var ctx = e.detail && e.detail.ctx;
    if (!ctx || ctx.target !== document.getElementById('result') || pending === null) return;
    var seconds = pending.seconds;
    var status = pending.status;
    pending = null;
    var tries = (retry ? retry.tries : 0) + 1;
    cancelRetry();
    if (tries > MAX_TRIES) return;
    var card = ctx.target.querySelector('.error-card');
    if (!card) return;
    // One countdown: the server's sentence (with its fixed number of seconds)
    // gives way to the same sentence counting down, then the retry.
    var line = card.querySelector('.error-message') || card.appendChild(document.createElement('p'));
    line.classList.add('retrying');
    line.setAttribute('role', 'status');
    retry = { left: seconds, tries: tries, timer: null };
    function tick() {
      if (!retry) return;
      if (retry.left <= 0) {
        clearInterval(retry.timer);
        retry.timer = null;
        retrying = true;
        if (lastSubmitter && form.contains(lastSubmitter)) form.requestSubmit(lastSubmitter);
        else form.requestSubmit();
        return;
      }
      line.textContent =
        status === 429
          ? t('limit.rateRetrying', 'You have sent many photos in a short time. Trying again in {seconds} s…', { seconds: retry.left })
          : t('limit.retrying', 'Many people are using the demo right now. Trying again in {seconds} s…', { seconds: retry.left });
      retry.left -= 1;
    }
    tick();
    retry.timer = setInterval(tick, 1000);
  });
})();
