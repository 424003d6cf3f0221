/**
 * What the gateway's own web pages (/docs, /admin) are served under: a Content-Security-Policy that
 * lets a page load only its own files (no inline script or style), talk only to this origin and
 * never be framed, plus no MIME sniffing and no Referer sent elsewhere.
 */

/** The policy, with any further `'self'`-only sources a page needs (e.g. "font-src 'self'"). */
export function sameOriginPolicy(...extra: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ...extra,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Sent with every page and file of those pages. */
export const PAGE_SECURITY_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" } as const;
