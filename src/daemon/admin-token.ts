/**
 * The admin API's bearer token, as lb.yaml gives it: literally, as
 * "${ENV_NAME}" (taken from the daemon's environment, e.g. a Kubernetes
 * Secret exposed as an environment variable), or as admin.tokenFile (a
 * mounted Secret file, read at start and at every reload). A token that
 * cannot be resolved refuses the start or the reload, at its key.
 */
import { readFileSync } from 'node:fs';
import type { LbConfig } from '../config/schema.js';

const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

function refused(key: 'token' | 'tokenFile', message: string): Error {
  return Object.assign(new Error(message), { configPath: ['admin', key] });
}

/** adminTokenOf resolves the admin token of `cfg`; throws an error carrying `configPath` when it cannot. */
export function adminTokenOf(cfg: LbConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const a = cfg.admin;
  if (!a) return undefined;
  let token: string | undefined;
  if (a.tokenFile !== undefined) {
    try {
      token = readFileSync(a.tokenFile, 'utf8').trim();
    } catch (err) {
      throw refused('tokenFile', `cannot read ${a.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (token.length < 16) throw refused('tokenFile', `the token in ${a.tokenFile} must be at least 16 characters`);
    return token;
  }
  const ref = a.token === undefined ? undefined : ENV_REF.exec(a.token);
  if (!ref) return a.token;
  token = env[ref[1] as string];
  if (token === undefined || token === '') throw refused('token', `the environment variable ${ref[1]} is not set`);
  if (token.length < 16) throw refused('token', `the token in ${ref[1]} must be at least 16 characters`);
  return token;
}
