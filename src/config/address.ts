/**
 * Listen addresses ("host:port", "[v6]:port" or a bare port for all
 * interfaces) and CIDRs: pure parsers (no sockets), and the zod schemas
 * schema.ts builds its keys from (`listenAddress`, `cidr`), each carrying
 * the JSON Schema of exactly what it accepts, with the message an editor shows.
 */
import { z } from 'zod';
import { withJsonSchema } from './json-hint.js';
import { integerRange } from './range-pattern.js';

/** ListenAddress is where a server binds. `host` undefined means all interfaces. */
export interface ListenAddress {
  host: string | undefined;
  port: number;
}

/** parseListen parses "127.0.0.1:3030", "[::1]:3030", "localhost:80", "3030" or 3030. */
export function parseListen(input: string | number): ListenAddress | string {
  if (typeof input === 'number' || /^:?\d+$/.test(input)) {
    const port = Number(typeof input === 'number' ? input : input.replace(':', ''));
    return validPort(port) ? { host: undefined, port } : `port must be 0..65535, got ${input}`;
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d+)$/.exec(input);
  if (!m) return `expected "host:port" or a port number, got "${input}"`;
  const host = m[1] ?? m[2];
  if (host === '*') return 'use a bare port (":80" or 80) to listen on all interfaces';
  const port = Number(m[3]);
  if (!validPort(port)) return `port must be 0..65535, got ${m[3]}`;
  return { host, port };
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** formatListen prints an address as a user would write it ("[::1]:80", ":80" for all interfaces). */
export function formatListen(addr: ListenAddress): string {
  if (addr.host === undefined) return `:${addr.port}`;
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** Cidr is a parsed trustedProxies entry: an address and a prefix length. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * parseCidr parses "10.0.0.0/8", "::1/128" or a bare address (a /32 or
 * /128). Returns an error message for anything else. IPv6 syntax is
 * checked by the WHATWG URL parser (no node:net in config/).
 */
export function parseCidr(input: string): Cidr | string {
  const [address = '', bits, extra] = input.split('/');
  if (extra !== undefined) return `not a CIDR: "${input}"`;
  let family: Cidr['family'];
  if (IPV4.test(address)) family = 'ipv4';
  else if (address.includes(':') && isIpv6(address)) family = 'ipv6';
  else return `not an IP address: "${address}"`;
  const max = family === 'ipv4' ? 32 : 128;
  if (bits === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `prefix /${bits} is out of range for ${family === 'ipv4' ? 'IPv4 (0-32)' : 'IPv6 (0-128)'}`;
  return { address, prefix: Number(bits), family };
}

function isIpv6(address: string): boolean {
  // Only hex digits, colons and dots (an embedded IPv4): the URL parser alone
  // would accept "::]?x" (a query after the bracket), which BlockList refuses.
  if (!/^[0-9a-fA-F:.]+$/.test(address)) return false;
  try {
    return new URL(`http://[${address}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** PORT_DIGITS matches a port 0..65535 as parseListen reads it (leading zeros allowed); no anchors. */
export const PORT_DIGITS = `0*${integerRange(0n, 65535n) as string}`;

/** LISTEN_PATTERN is the JSON Schema pattern of a listen address string, as parseListen accepts it. */
export const LISTEN_PATTERN = `^(?::?${PORT_DIGITS}|(?:\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]\\s*][^:\\[\\]\\s]*|\\*[^:\\[\\]\\s]+):${PORT_DIGITS})$`;

/**
 * listenAddress is the zod schema of a listen key: "host:port",
 * "[v6]:port", ":port", "port" or a port number 0..65535 (0 = any free
 * port); its value is a ListenAddress.
 */
export const listenAddress = (() => {
  const schema = z.union([z.string(), z.int()])
    .transform((v, ctx) => {
      const r = parseListen(v);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: r });
        return z.NEVER;
      }
      return r;
    });
  const message = 'Expected a listen address: "host:port", "[::1]:port", or a port number 0-65535 for all interfaces';
  return withJsonSchema(schema, {
    type: ['string', 'integer'],
    pattern: LISTEN_PATTERN,
    minimum: 0,
    maximum: 65535,
    errorMessage: message,
    patternErrorMessage: message,
  });
})();

/**
 * port is the zod schema of a key holding a bare TCP port number, `min`
 * (default 1) to 65535; for an address with an optional host use
 * listenAddress. zod's own conversion already states the bounds; the hint
 * adds the message.
 */
export function port(what: string, o: { min?: number } = {}) {
  const min = o.min ?? 1;
  const expected = `${what}: expected a port number ${min}-65535`;
  return withJsonSchema(z.int({ error: expected }).min(min, { error: expected }).max(65535, { error: expected }), {
    type: 'integer',
    minimum: min,
    maximum: 65535,
    errorMessage: `Expected a port number ${min}-65535`,
  });
}

const H16 = '[0-9a-fA-F]{1,4}';
const IPV4_SOURCE = IPV4.source.slice(1, -1);
const LS32 = `(?:${H16}:${H16}|${IPV4_SOURCE})`;

/**
 * IPV6_PATTERN matches an IPv6 address as the WHATWG URL parser (and so
 * parseCidr) accepts it: RFC 3986's IPv6address, with "::" and a dotted
 * IPv4 tail; no anchors.
 */
export const IPV6_PATTERN = `(?:${[
  `(?:${H16}:){6}${LS32}`,
  `::(?:${H16}:){5}${LS32}`,
  `(?:${H16})?::(?:${H16}:){4}${LS32}`,
  `(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3}${LS32}`,
  `(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2}${LS32}`,
  `(?:(?:${H16}:){0,3}${H16})?::${H16}:${LS32}`,
  `(?:(?:${H16}:){0,4}${H16})?::${LS32}`,
  `(?:(?:${H16}:){0,5}${H16})?::${H16}`,
  `(?:(?:${H16}:){0,6}${H16})?::`,
].join('|')})`;

/** CIDR_PATTERN is the JSON Schema pattern of a trustedProxies entry, as parseCidr accepts it: an address, or one with a prefix of 1-3 digits within 0-32 (IPv4) or 0-128 (IPv6). */
export const CIDR_PATTERN = `^(?:${IPV4_SOURCE}(?:/(?:0{0,2}\\d|0?[12]\\d|0?3[0-2]))?|${IPV6_PATTERN}(?:/(?:0{0,2}\\d|0?[1-9]\\d|1[01]\\d|12[0-8]))?)$`;

/** cidr is the zod schema of one trustedProxies entry: "10.0.0.0/8", "fd00::/8" or a single address; its value is a Cidr. */
export function cidr(what: string) {
  const schema = z.string()
    .transform((v, ctx) => {
      const r = parseCidr(v);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: `${what}: ${r} (expected a CIDR like "10.0.0.0/8" or an address)` });
        return z.NEVER;
      }
      return r;
    });
  const message = 'Expected a CIDR such as "10.0.0.0/8" or "fd00::/8", or a single IPv4 or IPv6 address';
  return withJsonSchema(schema, { type: 'string', pattern: CIDR_PATTERN, errorMessage: message, patternErrorMessage: message });
}

/**
 * HTTP_ORIGIN_PATTERN is the JSON Schema pattern of a backend URL as
 * normalizeBackendUrl accepts it: http:// or https://, a host (a name, an
 * IPv4 address or a bracketed IPv6 one) and an optional port; no
 * credentials, path, query or fragment (an empty "?" or "#" is none). Stricter than the WHATWG parser on
 * sloppy forms it repairs ("http:host", a backslash for "/").
 */
export const HTTP_ORIGIN_PATTERN = `^[hH][tT][tT][pP][sS]?://(?:\\[${IPV6_PATTERN}\\]|[^\\s\\u0000-\\u001f\\u007f/?#@:\\[\\]\\\\<>^|%]+)(?::(?:${PORT_DIGITS})?)?/?\\??#?$`;
