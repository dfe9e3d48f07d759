/**
 * Finding a running daemon through its admin API, for `yalb reload`, `stop`
 * and `status` when there is no pid file (a foreground daemon under systemd,
 * in a container, or started by hand): the address comes from `--admin
 * ADDR` or from `admin.listen` in the config file. The config is read
 * leniently: `yalb reload` is run exactly when the file has just been
 * edited, perhaps into an invalid state, and must still find the daemon to
 * hear it refuse the new file.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parse } from 'yaml';
import { formatListen, type ListenAddress, parseListen } from '../config/address.js';
import { parseConfigText } from '../config/load.js';
import type { LbConfig } from '../config/schema.js';
import { adminTokenOf } from '../daemon/admin-token.js';

/** AdminEndpoint is where a daemon's admin API answers and the token to send it. */
export interface AdminEndpoint {
  /** base: e.g. `http://127.0.0.1:9090` (all interfaces become loopback). */
  base: string;
  port: number;
  token: string | undefined;
  /** local: the address is on this machine, so its daemon's pid is ours to signal. */
  local: boolean;
  /** from: where the address came from, for messages (`--admin`, or the config file). */
  from: string;
}

/** AdminLookup is an endpoint, or why there is none (`reason`, for messages). */
export type AdminLookup = { endpoint: AdminEndpoint } | { endpoint?: undefined; reason: string };

interface RawAdmin {
  listen: unknown;
  token?: unknown;
  tokenFile?: unknown;
  allowRemote?: unknown;
}

function localAddresses(): Set<string> {
  const set = new Set(['127.0.0.1', '::1', 'localhost']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) set.add(a.address);
  return set;
}

function endpointOf(addr: ListenAddress, token: string | undefined, from: string): AdminEndpoint {
  const any = addr.host === undefined || addr.host === '0.0.0.0' || addr.host === '::';
  const host = any ? (addr.host === '::' ? '::1' : '127.0.0.1') : addr.host as string;
  const local = any || host.startsWith('127.') || localAddresses().has(host);
  return { base: `http://${formatListen({ host, port: addr.port })}`, port: addr.port, token, local, from };
}

/** tokenOf resolves admin.token ("${ENV}" from this environment) or admin.tokenFile; undefined when it cannot. */
function tokenOf(admin: RawAdmin, env: NodeJS.ProcessEnv): string | undefined {
  try {
    const token = typeof admin.token === 'string' ? admin.token : undefined;
    const tokenFile = typeof admin.tokenFile === 'string' ? admin.tokenFile : undefined;
    return adminTokenOf({ admin: { ...admin, token, tokenFile } } as unknown as LbConfig, env);
  } catch {
    return undefined;
  }
}

/**
 * adminFromConfig finds admin.listen (and the token) in `file`: from the
 * validated config when the file is valid, else from its YAML as far as it
 * parses. `YALB_ADMIN_TOKEN` in the environment overrides the token.
 */
export function adminFromConfig(file: string, env: NodeJS.ProcessEnv = process.env): AdminLookup {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { reason: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  let admin: RawAdmin | undefined;
  const loaded = parseConfigText(text, file);
  if (loaded.ok) {
    admin = loaded.config.admin ? { ...loaded.config.admin, listen: formatListen(loaded.config.admin.listen) } : undefined;
  } else {
    try {
      const doc = parse(text, { uniqueKeys: false }) as { admin?: RawAdmin } | null;
      admin = doc && typeof doc === 'object' && doc.admin && typeof doc.admin === 'object' ? doc.admin : undefined;
    } catch {
      return { reason: `${file} is not valid YAML, so its admin.listen cannot be read` };
    }
  }
  if (!admin || admin.listen === undefined || admin.listen === null) return { reason: `${file} has no admin.listen` };
  const listen = typeof admin.listen === 'number' || typeof admin.listen === 'string' ? parseListen(admin.listen) : 'not an address';
  if (typeof listen === 'string') return { reason: `${file}: admin.listen: ${listen}` };
  return { endpoint: endpointOf(listen, env.YALB_ADMIN_TOKEN || tokenOf(admin, env), file) };
}

/**
 * adminFromFlag parses `--admin ADDR` (`host:port`, `[v6]:port`, a port, or
 * an `http://` URL). The token is `YALB_ADMIN_TOKEN`, else the one of the
 * config file when it names the same port.
 */
export function adminFromFlag(addr: string, configFile: string, env: NodeJS.ProcessEnv = process.env): AdminEndpoint | string {
  const bare = addr.replace(/^http:\/\//, '').replace(/\/$/, '');
  const listen = parseListen(bare);
  if (typeof listen === 'string') return `--admin: ${listen}`;
  const fromConfig = adminFromConfig(configFile, env).endpoint;
  const token = env.YALB_ADMIN_TOKEN || (fromConfig?.port === listen.port ? fromConfig.token : undefined);
  return endpointOf(listen, token, '--admin');
}

/** AdminAnswer is an HTTP answer from the admin API. */
export interface AdminAnswer {
  status: number;
  body: string;
}

/** AdminUnreachable is thrown when nothing answers: `refused` tells a connection refused (no daemon there) from other failures. */
export class AdminUnreachable extends Error {
  readonly refused: boolean;
  constructor(message: string, refused: boolean) {
    super(message);
    this.name = 'AdminUnreachable';
    this.refused = refused;
  }
}

/** adminRequest sends one request to the admin API with the token, bounded by `timeoutMs` in all (connect, answer and body). */
export async function adminRequest(ep: AdminEndpoint, method: 'GET' | 'POST', path: string, timeoutMs = 5000): Promise<AdminAnswer> {
  try {
    const res = await fetch(`${ep.base}${path}`, {
      method,
      headers: ep.token ? { authorization: `Bearer ${ep.token}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    // fetch reports a network error as "fetch failed" with the socket error
    // in `cause`, and the end of its AbortSignal.timeout as a TimeoutError.
    const e = err as (Error & { cause?: { message?: string; code?: string } }) | undefined;
    if (e?.name === 'TimeoutError') throw new AdminUnreachable('timed out', false);
    throw new AdminUnreachable(e?.cause?.message ?? e?.message ?? String(err), e?.cause?.code === 'ECONNREFUSED');
  }
}

/** describeRefusal says why the admin API answered 401/403/404/405, with the error code to print. */
export function describeRefusal(ep: AdminEndpoint, path: string, a: AdminAnswer): string {
  if (a.status === 401) {
    return `${ep.base}${path} answered 401: ${ep.token ? 'the token was refused' : 'it needs the admin token'} (admin.token or admin.tokenFile in the config, or YALB_ADMIN_TOKEN) (YALB_ERR_ADMIN)`;
  }
  const detail = a.body.trim().split('\n', 1)[0] ?? '';
  return `${ep.base}${path} answered ${a.status}${detail ? `: ${detail}` : ''} (YALB_ERR_ADMIN)`;
}

/** findAdmin is the endpoint of `--admin ADDR` when given (a string: the usage error), else of the config file. */
export function findAdmin(flag: string | undefined, configFile: string, env: NodeJS.ProcessEnv = process.env): AdminLookup | string {
  if (flag === undefined) return adminFromConfig(configFile, env);
  const endpoint = adminFromFlag(flag, configFile, env);
  return typeof endpoint === 'string' ? endpoint : { endpoint };
}
