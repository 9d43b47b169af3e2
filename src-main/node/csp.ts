/**
 * The renderer's Content-Security-Policy, sent by the web bridge and by Electron's session (and
 * repeated in index.html). No remote code, no eval, no inline script; connections only to this
 * origin (the bridge's HTTP + WebSocket). Images may be data:/blob: URLs (generated sample grids).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
