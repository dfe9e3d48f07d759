/**
 * Hot-reload apply latency per save style (issue 3): the time from saving
 * lb.yaml to the first response from the new pool's backend, 10 tries per
 * style, median and max. Each try flips the pool between two backends, so
 * the backend coming in is new to the daemon and gets probed once, as in
 * real use. A real daemon (createDaemon) on 127.0.0.1:0, real backends,
 * real HTTP; only chokidar events count (no safety-net poll). The run is
 * bounded: a try gives up after 5 s and the whole run after 120 s.
 *
 * For the two-chunk write the clock starts at the last chunk (the file is
 * only whole from then on); for git it starts before `git checkout`, and
 * for SIGHUP before the write that precedes daemon.reload('SIGHUP').
 *
 * Run: npx tsx examples/bench/reload-latency.ts [tries]
 * Not part of npm test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { TestBackend } from '../../test/helpers/backend.js';
import { request } from '../../test/helpers/daemon.js';
import {
  ConfigMapDir, GitConfigRepo, deleteAndRecreate, hasGit, lbYaml, saveByRename, saveInPlace, saveInTwoChunks, saveVimStyle,
} from '../../test/helpers/reload.js';

const TRIES = Number(process.argv[2] ?? 10);
const TRY_TIMEOUT_MS = 5000;
const RUN_BUDGET_MS = 120_000;
const runStart = performance.now();

/** Style prepares a directory and saves version `i` (0 or 1) of the config; it returns when the save is done. */
interface Style {
  name: string;
  /** init lays out the directory with version 0 and returns the path the daemon reads. */
  init(dir: string, texts: [string, string]): string;
  /** save writes version i; resolves with the time the clock starts. */
  save(i: 0 | 1, daemon: Daemon): Promise<number>;
  skip?: string;
}

/** simple is a style that writes the file in one step; `write` may return when its clock should start (default: before it writes). */
function simple(name: string, write: (file: string, text: string) => void | number | Promise<void | number>): Style {
  let file = '';
  let texts: [string, string] = ['', ''];
  return {
    name,
    init(dir, t) {
      texts = t;
      file = path.join(dir, 'lb.yaml');
      writeFileSync(file, t[0]);
      return file;
    },
    async save(i) {
      const t0 = performance.now();
      return (await write(file, texts[i])) ?? t0;
    },
  };
}

function styles(): Style[] {
  const list: Style[] = [
    simple('in-place writeFileSync', saveInPlace),
    simple('atomic rename', saveByRename),
    simple('vim style (rename, write, unlink ~)', saveVimStyle),
    simple('delete then recreate', deleteAndRecreate),
  ];
  // Two chunks 150 ms apart; the clock starts at the second chunk
  // (saveInTwoChunks returns right after the last write).
  list.splice(1, 0, simple('two chunks, 150 ms apart', async (file, text) => {
    await saveInTwoChunks(file, text, text.indexOf('url:') + 2, 150);
    return performance.now();
  }));
  {
    let repo: GitConfigRepo | undefined;
    list.push({
      name: 'git checkout',
      skip: hasGit() ? undefined : 'git is not installed',
      init(dir, t) {
        repo = new GitConfigRepo(dir).init([t[0], t[1]]);
        repo.checkout(0);
        return repo.file;
      },
      async save(i) {
        const t0 = performance.now();
        repo?.checkout(i);
        return t0;
      },
    });
  }
  {
    let cm: ConfigMapDir | undefined;
    let texts: [string, string] = ['', ''];
    list.push({
      name: 'Kubernetes ConfigMap swap',
      init(dir, t) {
        texts = t;
        cm = new ConfigMapDir(dir).init(t[0]);
        return cm.file;
      },
      async save(i) {
        const t0 = performance.now();
        cm?.swap(texts[i]);
        return t0;
      },
    });
  }
  {
    let file = '';
    let texts: [string, string] = ['', ''];
    list.push({
      name: 'SIGHUP (daemon.reload)',
      init(dir, t) {
        texts = t;
        file = path.join(dir, 'lb.yaml');
        writeFileSync(file, t[0]);
        return file;
      },
      async save(i, daemon) {
        const t0 = performance.now();
        saveInPlace(file, texts[i]);
        await daemon.reload('SIGHUP');
        return t0;
      },
    });
  }
  return list;
}

async function firstAnswerFrom(url: string, name: string, deadline: number): Promise<number | undefined> {
  while (performance.now() < deadline) {
    try {
      const r = await request(url, { timeoutMs: 2000 });
      if (r.status === 200 && r.body.trim() === name) return performance.now();
    } catch {
      // a refused or reset connection is just "not yet"
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return undefined;
}

async function measure(style: Style, backends: [TestBackend, TestBackend]): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-bench-reload-'));
  const texts: [string, string] = [lbYaml([backends[0].url]), lbYaml([backends[1].url])];
  const file = style.init(dir, texts);
  const daemon = await createDaemon({
    configPath: file, log: createLogger({ silent: true }), processMetrics: false, watchPollMs: 0, watch: !style.name.startsWith('SIGHUP'),
  });
  const url = `http://127.0.0.1:${daemon.address.port}`;
  const out: number[] = [];
  try {
    for (let k = 0; k < TRIES && performance.now() - runStart < RUN_BUDGET_MS; k++) {
      const i = (k % 2 === 0 ? 1 : 0) as 0 | 1;
      const t0 = await style.save(i, daemon);
      const t1 = await firstAnswerFrom(url, backends[i].name, t0 + TRY_TIMEOUT_MS);
      out.push(t1 === undefined ? Number.POSITIVE_INFINITY : t1 - t0);
      await daemon.reloader.settled();
    }
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const fmt = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : 'missed');

const bA = await new TestBackend('bA').start();
const bB = await new TestBackend('bB').start();
const rows: string[][] = [];
try {
  for (const style of styles()) {
    if (style.skip) {
      rows.push([style.name, 'skipped', style.skip, '']);
      continue;
    }
    const xs = await measure(style, [bA, bB]);
    rows.push([style.name, fmt(median(xs)), fmt(Math.max(...xs)), `${xs.length}`]);
  }
} finally {
  await bA.stop();
  await bB.stop();
}
const head = ['save style', 'median', 'max', 'tries'];
const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c] as number)).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(`\n${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, run ${((performance.now() - runStart) / 1000).toFixed(1)} s`);
