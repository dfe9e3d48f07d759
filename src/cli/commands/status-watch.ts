/**
 * `yalb status --watch`: the status table refreshed every second, for a
 * machine without a browser (the dashboard's data in a terminal). On a TTY
 * each frame replaces the last (the screen is cleared); piped, frames follow
 * each other separated by a blank line, never an escape sequence. Colour
 * only on a TTY and without NO_COLOR. A daemon that stops answering is
 * shown in the frame and asked again the next second. Ctrl-C ends it with
 * exit 0.
 */
import type { BackendDoc, StatusDocument } from '../../admin/status.js';
import type { CommandIo } from '../io.js';
import { table } from './status.js';

/** WatchIo is what --watch needs beyond printing: whether stdout is a terminal, the environment, and Ctrl-C. */
export interface WatchIo extends CommandIo {
  isTTY?: boolean;
  env?: NodeJS.ProcessEnv;
  /** onInterrupt calls `fn` once on Ctrl-C (SIGINT) or SIGTERM. */
  onInterrupt?: (fn: () => void) => void;
}

interface SeriesDoc {
  minute: { rps: number; errorRate: number; retries: number; p50Ms: number | null; p99Ms: number | null; codes: Record<string, number> };
  backends: Record<string, { rps: number[]; errorRate: number[] }>;
}

type PoolView = { name: string; strategy: string; backends: BackendDoc[] };

const COLORS: Record<string, string> = { up: '32', down: '31', ejected: '31', draining: '33', 'slow-starting': '36' };

function ago(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

const last = (a: number[] | undefined) => (a && a.length ? (a[a.length - 1] as number) : 0);
const pct = (f: number) => `${Math.round(f * 1000) / 10}%`;

/** renderFrame turns /status (and /api/series when the daemon has it) into the lines of one frame. */
export function renderFrame(s: StatusDocument, series: SeriesDoc | undefined, color: boolean, now = Date.now()): string {
  const paint = (state: string, text: string) => (color && COLORS[state] ? `\x1b[${COLORS[state]}m${text}\x1b[0m` : text);
  const out: string[] = [];
  const git = s.configGit ? `, commit ${s.configGit.commit}${s.configGit.dirty ? ' (dirty)' : ''}` : '';
  const reload = s.lastReload ? `${s.lastReload.ok ? 'ok' : 'FAILED'} ${ago(s.lastReload.at, now)} ago (${s.lastReload.trigger})` : 'none since start';
  out.push(`yalb ${s.version}, pid ${s.pid}, up ${s.uptimeSeconds}s, listening on ${s.listen}, generation ${s.generation}, config ${s.configHash.slice(0, 12)}${git}, last reload: ${reload}`);
  if (s.lastReload && !s.lastReload.ok) for (const e of s.lastReload.errors) out.push(`  ${paint('down', e)}`);
  if (series) {
    const m = series.minute;
    const codes = Object.entries(m.codes).map(([c, n]) => `${c} ${n}`).join(' ') || 'none';
    const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);
    out.push(`last minute: ${m.rps} req/s, 5xx ${pct(m.errorRate)}, p50 ${ms(m.p50Ms)}, p99 ${ms(m.p99Ms)}, retries ${m.retries}, codes ${codes}`);
  }
  // /status always has pools (one, "default", without pools:); an older daemon's has none.
  const pools: PoolView[] = s.pools?.length ? s.pools : [{ name: 'default', strategy: s.strategy, backends: s.backends }];
  for (const p of pools) {
    const up = p.backends.filter((b) => b.state === 'up').length;
    out.push('', `pool ${p.name} (${p.strategy}): ${up}/${p.backends.length} up`);
    const rows = [['BACKEND', 'STATE', 'REASON', 'SINCE', 'WEIGHT', 'IN FLIGHT', 'REQ/S', 'ERRORS', 'LAST PROBE']];
    const states: string[] = [];
    for (const b of p.backends) {
      const bs = series?.backends[b.url];
      states.push(b.state);
      rows.push([b.url, b.state, b.reason, ago(b.since, now), String(b.weight), String(b.inFlight), bs ? String(last(bs.rps)) : '-', bs ? pct(last(bs.errorRate)) : '-',
        b.lastProbe ? `${b.lastProbe.ok ? 'ok' : b.lastProbe.reason} ${b.lastProbe.ms} ms, ${ago(b.lastProbe.at, now)} ago` : '-']);
    }
    // Colour after aligning: escape sequences must not count as width.
    const lines = table(rows).split('\n');
    lines.forEach((line, i) => {
      const state = i === 0 ? '' : (states[i - 1] as string);
      out.push(state && color ? line.replace(new RegExp(`(\\s)${state}(\\s|$)`), (_m, a: string, z: string) => `${a}${paint(state, state)}${z}`) : line);
    });
  }
  return out.join('\n');
}

async function getJson<T>(url: string, token: string | undefined): Promise<{ status: number; body?: T }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  return res.status === 200 ? { status: 200, body: JSON.parse(text) as T } : { status: res.status };
}

/** runWatch prints a frame of `base`'s /status every second until Ctrl-C; returns 0. */
export async function runWatch(base: string, token: string | undefined, io: WatchIo): Promise<number> {
  const color = io.isTTY === true && !io.env?.NO_COLOR;
  let stop = false;
  let wake: (() => void) | undefined;
  io.onInterrupt?.(() => {
    stop = true;
    wake?.();
  });
  while (!stop) {
    const started = Date.now();
    let frame: string;
    try {
      const [status, series] = await Promise.all([
        getJson<StatusDocument>(`${base}/status`, token),
        getJson<SeriesDoc>(`${base}/api/series`, token).catch(() => ({ status: 0, body: undefined })),
      ]);
      frame = status.body ? renderFrame(status.body, series.body, color) : `${base}/status answered ${status.status} (YALB_ERR_ADMIN)`;
    } catch (err) {
      const e = err as Error & { cause?: { message?: string } };
      frame = `no daemon answers at ${base}: ${e.name === 'TimeoutError' ? 'timed out' : (e.cause?.message ?? e.message)}; trying again every second`;
    }
    if (stop) break;
    const footer = `refreshed ${new Date().toLocaleTimeString()}; Ctrl-C to quit`;
    // \x1b[H\x1b[2J: cursor home, clear screen (only on a terminal).
    io.out(io.isTTY ? `\x1b[H\x1b[2J${frame}\n\n${footer}` : `${frame}\n${footer}\n`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started)));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  return 0;
}
