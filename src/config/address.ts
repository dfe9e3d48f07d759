/**
 * Listen addresses: "host:port", "[v6]:port" or a bare port (all interfaces).
 * Pure; no sockets.
 */

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
