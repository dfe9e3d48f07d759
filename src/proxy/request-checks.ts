/**
 * Checks on a client's request before it is forwarded, and the Via mark
 * that lets yalb see its own requests come back (RFC 9110 §7.6.3):
 * - two Host headers are refused (RFC 9112 §3.2: 400), since Node keeps the
 *   first and a backend or cache behind may read the other;
 * - a request that already carries this yalb's Via token has looped back
 *   (a backend that points at yalb itself) and is refused with 508 instead
 *   of circling until memory runs out. Envoy and Traefik mark requests the
 *   same way; the token is random per daemon (shared by its workers), so two
 *   different yalbs in a chain never mistake each other for a loop.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** newViaToken makes a daemon's Via pseudonym ("yalb-" and 8 hex digits). */
export function newViaToken(): string {
  return `yalb-${randomBytes(4).toString('hex')}`;
}

/** hostHeaders counts the Host header lines the client sent. */
export function hostHeaders(req: IncomingMessage): number {
  const raw = req.rawHeaders;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

/** looped tells whether the request already passed through the yalb that owns `token`. */
export function looped(req: IncomingMessage, token: string): boolean {
  const via = req.headers.via;
  return via !== undefined && via.includes(token);
}

/** addVia appends this hop to the request's Via header. */
export function addVia(req: IncomingMessage, token: string): void {
  const h = req.headers;
  h.via = h.via ? `${h.via}, 1.1 ${token}` : `1.1 ${token}`;
}
