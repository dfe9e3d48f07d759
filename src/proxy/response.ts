/**
 * The one response step every engine calls before a backend's answer goes
 * to the client: hop-by-hop headers removed, Connection set for the
 * client's connection, and the sticky cookie appended.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { prepareResponseHeaders } from './headers.js';

/** shapeResponseHeaders rewrites a backend's response headers in place for the client. */
export function shapeResponseHeaders(headers: IncomingHttpHeaders, clientKeepsAlive: boolean, setCookie: string | undefined): void {
  prepareResponseHeaders(headers, clientKeepsAlive);
  if (setCookie) {
    const prior = headers['set-cookie'];
    headers['set-cookie'] = prior ? [...prior, setCookie] : [setCookie];
  }
}
