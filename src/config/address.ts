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

/** isLoopbackHost tells whether a host is on this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';
}
