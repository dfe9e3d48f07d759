/**
 * VERSION is yalb's version, read from package.json once. It lives apart
 * from the daemon so `yalb check`, `schema` and `--help` load only what they
 * use (the daemon pulls in http-proxy-3, prom-client and chokidar).
 */
import { readFileSync } from 'node:fs';

/** VERSION is yalb's version, from package.json ("0.0.0" when it cannot be read). */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
