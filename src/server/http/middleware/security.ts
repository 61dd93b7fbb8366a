/**
 * Security headers on every response (Hono's secureHeaders): a strict
 * Content-Security-Policy - scripts and styles only from this server, no
 * inline scripts, no eval - plus nosniff, no framing by other sites and no
 * referrer. Images may be data: URLs (the 48x48 face crops are inlined) and
 * blob: URLs (the preview of a chosen photo, webcam frames).
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

export const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  // 'wasm-unsafe-eval' lets private mode compile TF.js's WebAssembly backend; still no JS eval.
  scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  mediaSrc: ["'self'", 'blob:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  workerSrc: ["'self'", 'blob:'],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'self'"],
};

export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: CSP_DIRECTIVES,
    xContentTypeOptions: true,
    xFrameOptions: 'SAMEORIGIN',
    referrerPolicy: 'no-referrer',
    // HSTS belongs to whoever terminates TLS (the reverse proxy), not to a
    // demo that is often reached over plain http on a LAN.
    strictTransportSecurity: false,
    // The webcam is asked for by this origin only; nothing else.
    permissionsPolicy: { camera: ['self'], microphone: [], geolocation: [] },
    crossOriginEmbedderPolicy: false,
  });
}
