/**
 * What the benchmark runs: the backends (three Node servers, each in its own
 * process, and optionally three nginx servers) and the targets put in front
 * of them. Backends run on core 1 with the load; every target process runs
 * on core 0. All of it listens on 127.0.0.1 only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childrenOf, freePort, has, launch, stop, waitHttp, type Proc } from './procs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'dist/cli.js');
const MODULES = path.join(ROOT, 'node_modules');

/** SMALL_BODY is what `/` answers; `/64k` answers BIG_BYTES bytes. */
export const SMALL_BODY = 'hello\n';
export const BIG_BYTES = 64 * 1024;

/** BackendSet is three running backends of one kind. */
export interface BackendSet {
  kind: 'node' | 'nginx';
  urls: string[];
  /** directPids are the processes behind urls[0] (what "direct" measures). */
  directPids: () => number[];
  stop: () => Promise<void>;
}

const NODE_BACKEND_SRC = String.raw`
const http = require('node:http');
const port = Number(process.argv[1]);
const big = Buffer.alloc(${BIG_BYTES}, 'x');
const server = http.createServer((q, s) => {
  if (q.url === '/64k') { s.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length }); s.end(big); return; }
  s.writeHead(200, { 'content-type': 'text/plain', 'content-length': ${SMALL_BODY.length} });
  s.end(${JSON.stringify(SMALL_BODY)});
});
// Idle keep-alive connections of the proxies stay open between runs.
server.keepAliveTimeout = 120000;
server.listen(port, '127.0.0.1');
`;

/** readyOrStop waits for `ready`; when it fails, the processes are stopped before the error goes on. */
async function readyOrStop(procs: Proc[], ready: () => Promise<unknown>): Promise<void> {
  try {
    await ready();
  } catch (e) {
    await Promise.all(procs.map((p) => stop(p)));
    throw e;
  }
}

/** startNodeBackends starts three Node backends, one process each, on core 1. */
export async function startNodeBackends(dir: string): Promise<BackendSet> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const procs = ports.map((p, i) => launch(`node backend ${i + 1}`, 1, process.execPath, ['-e', NODE_BACKEND_SRC, String(p)], path.join(dir, `backend-${i + 1}.log`)));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  await readyOrStop(procs, () => Promise.all(urls.map((u, i) => waitHttp(`${u}/`, procs[i]))));
  return {
    kind: 'node',
    urls,
    directPids: () => [procs[0]!.pid],
    stop: async () => { await Promise.all(procs.map((p) => stop(p))); },
  };
}

/** nginxBinary is the nginx executable, when installed. */
export function nginxBinary(): string | undefined {
  if (has('nginx')) return 'nginx';
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((f) => existsSync(f));
}

/**
 * nginxMain is the shared top of every nginx config here: one worker, in
 * the foreground (so the PID we started is the master), pid, logs and temp
 * files in the bench's own directory, no access log.
 */
function nginxMain(dir: string, name: string, http: string): string {
  const t = path.join(dir, `${name}-temp`);
  mkdirSync(t, { recursive: true });
  const user = process.getuid?.() === 0 ? 'user root;\n' : ''; // workers must reach the 0700 temp dir
  return `${user}worker_processes 1;
daemon off;
pid ${path.join(dir, `${name}.pid`)};
error_log ${path.join(dir, `${name}-error.log`)} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${t}/body;
  proxy_temp_path ${t}/proxy;
  fastcgi_temp_path ${t}/fastcgi;
  uwsgi_temp_path ${t}/uwsgi;
  scgi_temp_path ${t}/scgi;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
${http}}
`;
}

async function startNginx(bin: string, dir: string, name: string, core: 0 | 1, conf: string, readyUrl: string): Promise<Proc> {
  const file = path.join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  // -e: the error log before the config is read (else /var/log/nginx/error.log).
  const p = launch(name, core, bin, ['-p', dir, '-c', file, '-e', path.join(dir, `${name}-error.log`)], path.join(dir, `${name}.out`));
  await readyOrStop([p], () => waitHttp(readyUrl, p));
  return p;
}

/** nginxPids are an nginx master and its workers. */
const nginxPids = (p: Proc) => [p.pid, ...childrenOf(p.pid)];

/** startNginxBackends starts three nginx servers (one nginx, one worker) on core 1. */
export async function startNginxBackends(bin: string, dir: string): Promise<BackendSet> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const www = path.join(dir, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(path.join(www, '64k'), Buffer.alloc(BIG_BYTES, 'x'));
  const servers = ports.map((p) => `  server {
    listen 127.0.0.1:${p};
    location = /64k { root ${www}; default_type application/octet-stream; }
    location / { default_type text/plain; return 200 ${JSON.stringify(SMALL_BODY)}; }
  }
`).join('');
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const proc = await startNginx(bin, dir, 'nginx-backends', 1, nginxMain(dir, 'nginx-backends', `  sendfile on;\n${servers}`), `${urls[0]}/`);
  await readyOrStop([proc], () => Promise.all(urls.map((u) => waitHttp(`${u}/`, proc))));
  return { kind: 'nginx', urls, directPids: () => nginxPids(proc), stop: () => stop(proc) };
}

/** Running is one started target. */
export interface Running {
  id: string;
  name: string;
  url: string;
  /** pids are the processes whose memory is the target's (yalb: the daemon). */
  pids: () => number[];
  stop: () => Promise<void>;
}

/** TargetDef is one thing to measure; `start` puts it in front of the backends. */
export interface TargetDef {
  /** id is what --targets filters on. */
  id: string;
  name: string;
  start: (backends: BackendSet, dir: string) => Promise<Running>;
}

/** BARE_SRC is the baseline: http-proxy-3 round robin with a keep-alive agent per backend, nothing else. */
const BARE_SRC = String.raw`
const http = require('node:http');
const { createProxyServer } = require(${JSON.stringify(path.join(MODULES, 'http-proxy-3'))});
const [port, ...targets] = JSON.parse(process.argv[1]);
const agents = targets.map(() => new http.Agent({ keepAlive: true, timeout: 30000, maxSockets: 256 }));
const proxy = createProxyServer({});
proxy.on('error', (e, q, s) => { try { s.writeHead(502); s.end(); } catch {} });
let i = 0;
http.createServer((q, s) => { const k = i++ % targets.length; proxy.web(q, s, { target: targets[k], agent: agents[k] }); }).listen(port, '127.0.0.1');
`;

/**
 * FASTIFY_SRC is the Node peer: Fastify 5 + @fastify/http-proxy. Its
 * `upstream` takes one URL (an array breaks its URL rewriting: 500 Invalid
 * URL), so this is its `upstream` option plus @fastify/reply-from's
 * documented custom undici instance: undici's BalancedPool over the three
 * backends (round robin; connections: 128, pipelining: 1 are reply-from's
 * defaults). Fastify's logger is off.
 */
const FASTIFY_SRC = String.raw`
const Fastify = require(${JSON.stringify(path.join(MODULES, 'fastify'))});
const proxy = require(${JSON.stringify(path.join(MODULES, '@fastify/http-proxy'))});
const { BalancedPool } = require(${JSON.stringify(path.join(MODULES, 'undici'))});
const [port, ...targets] = JSON.parse(process.argv[1]);
const app = Fastify({ logger: false });
app.register(proxy, { upstream: targets[0], undici: new BalancedPool(targets, { connections: 128, pipelining: 1 }) });
app.listen({ port, host: '127.0.0.1' }).catch((e) => { console.error(e); process.exit(1); });
`;

function nodeScriptTarget(id: string, name: string, src: string): TargetDef {
  return {
    id,
    name,
    start: async (b, dir) => {
      const port = await freePort();
      const p = launch(name, 0, process.execPath, ['-e', src, JSON.stringify([port, ...b.urls])], path.join(dir, `${id}.log`));
      const url = `http://127.0.0.1:${port}`;
      await readyOrStop([p], () => waitHttp(`${url}/`, p));
      return { id, name, url, pids: () => [p.pid], stop: () => stop(p) };
    },
  };
}

/** YalbOptions shape the generated lb.yaml. */
interface YalbOptions { engine?: string; accessLog?: boolean; workers?: number; cli?: string; routes?: number }

/**
 * yalbConfig is the generated lb.yaml: defaults, plus an HTTP health check
 * at the default interval, the admin API (and so /metrics) on a free
 * loopback port, and optionally `engine:` and a JSON access log to a file.
 */
export function yalbConfig(port: number, adminPort: number, backends: string[], o: YalbOptions, accessLogFile?: string): string {
  return [
    `listen: 127.0.0.1:${port}`,
    ...(o.engine ? [`engine: ${o.engine}`] : []),
    ...(o.workers ? [`workers: ${o.workers}`] : []),
    'backends:',
    ...backends.map((u) => `  - url: ${u}`),
    ...(o.routes ? routesYaml(backends, o.routes) : []),
    'healthCheck:',
    '  path: /',
    'admin:',
    `  listen: 127.0.0.1:${adminPort}`,
    ...(o.accessLog && accessLogFile ? ['accessLog:', `  path: ${accessLogFile}`, '  format: json'] : []),
    '',
  ].join('\n');
}

/**
 * routesYaml makes a two-pool config (routes, issue 15): pool `api` on the
 * same backends (one health state, one connection pool each), `n - 1` path
 * prefixes to it, and the default route last: the benchmark's requests (`/`,
 * `/64k`) are checked against every prefix before they reach the default
 * pool, the slowest kind of match.
 */
function routesYaml(backends: string[], n: number): string[] {
  return [
    'pools:',
    '  api:',
    '    backends:',
    ...backends.map((u) => `      - url: ${u}`),
    '    healthCheck:',
    '      path: /',
    'routes:',
    ...Array.from({ length: n - 1 }, (_, i) => `  - { match: { pathPrefix: /api${i}/, stripPrefix: true }, pool: api }`),
    '  - pool: default',
  ];
}

function yalbTarget(id: string, name: string, o: YalbOptions): TargetDef {
  return {
    id,
    name,
    start: async (b, dir) => {
      const [port, adminPort] = [await freePort(), await freePort()];
      const cfg = path.join(dir, `${id}.yaml`);
      writeFileSync(cfg, yalbConfig(port, adminPort, b.urls, o, path.join(dir, `${id}-access.log`)));
      // With workers, the primary and its workers stay on the proxy's core by
      // default: on a 2-core machine the other core runs the load and the
      // backends, and workers spread over it fight them (measured: 3,900 req/s
      // unpinned against 8,900 pinned). BENCH_WORKERS_CORE=all unpins them.
      const p = launch(name, o.workers && process.env.BENCH_WORKERS_CORE === 'all' ? 'all' : 0, process.execPath, [o.cli ?? CLI, 'start', '-c', cfg], path.join(dir, `${id}.log`));
      const url = `http://127.0.0.1:${port}`;
      await readyOrStop([p], async () => {
        await waitHttp(`${url}/`, p);
        await waitHttp(`http://127.0.0.1:${adminPort}/metrics`, p, 5000);
      });
      return { id, name, url, pids: () => [p.pid, ...childrenOf(p.pid)], stop: () => stop(p, 5000) };
    },
  };
}

/**
 * yalbKnowsEngine tells whether the built yalb accepts `engine: undici`
 * (`yalb check` rejects an unknown key).
 */
export function yalbKnowsEngine(dir: string): boolean {
  const file = path.join(dir, 'engine-probe.yaml');
  writeFileSync(file, yalbConfig(40001, 40002, ['http://127.0.0.1:40003'], { engine: 'undici' }));
  try {
    execFileSync(process.execPath, [CLI, 'check', '-c', file], { stdio: 'ignore', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

function nginxTarget(bin: string): TargetDef {
  return {
    id: 'nginx',
    name: 'nginx',
    start: async (b, dir) => {
      const port = await freePort();
      const name = `nginx-proxy-${b.kind}`;
      // Round robin (the default) with a keep-alive pool to the backends.
      const http = `  upstream backends {
${b.urls.map((u) => `    server ${u.replace('http://', '')};\n`).join('')}    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
`;
      const url = `http://127.0.0.1:${port}`;
      const p = await startNginx(bin, dir, name, 0, nginxMain(dir, name, http), `${url}/`);
      return { id: 'nginx', name: 'nginx', url, pids: () => nginxPids(p), stop: () => stop(p) };
    },
  };
}

/** DIRECT and BASELINE are always measured: every ratio needs them. */
export const DIRECT_ID = 'direct';
export const BASELINE_ID = 'baseline';

/** targetDefs lists every target this machine can run, in table order. */
export function targetDefs(opts: { engines: boolean; nginx: string | undefined }): TargetDef[] {
  const defs: TargetDef[] = [
    {
      id: DIRECT_ID,
      name: 'direct to one backend',
      start: async (b) => ({ id: DIRECT_ID, name: 'direct to one backend', url: b.urls[0]!, pids: b.directPids, stop: async () => {} }),
    },
    nodeScriptTarget(BASELINE_ID, 'bare http-proxy-3 RR (baseline)', BARE_SRC),
  ];
  if (opts.engines) {
    defs.push(yalbTarget('yalb-undici', 'yalb, engine: undici', { engine: 'undici' }));
    // BENCH_COMPARE_CLI=/other/checkout/dist/cli.js: that build too, side by side (a change's cost, same run).
    const other = process.env.BENCH_COMPARE_CLI;
    if (other) defs.push(yalbTarget('yalb-undici-compare', `yalb, engine: undici, build ${other}`, { engine: 'undici', cli: other }));
    // Next to yalb-undici: what routing costs (two pools, 10 routes, the request matching the last).
    defs.push(yalbTarget('yalb-routes', 'yalb, engine: undici, 2 pools, 10 routes (matches the 10th)', { engine: 'undici', routes: 10 }));
    defs.push(yalbTarget('yalb-http-proxy-3', 'yalb, engine: http-proxy-3', { engine: 'http-proxy-3' }));
    const unpinned = process.env.BENCH_WORKERS_CORE === 'all';
    defs.push(yalbTarget('yalb-workers-2', unpinned ? 'yalb, workers: 2 (unpinned: both cores, one shared with the load)' : 'yalb, workers: 2 (primary and workers on the proxy\'s one core)', { workers: 2 }));
  } else {
    defs.push(yalbTarget('yalb', 'yalb', {}));
  }
  defs.push(yalbTarget('yalb-log', opts.engines ? 'yalb + JSON access log (file), default engine' : 'yalb + JSON access log (file)', { accessLog: true }));
  defs.push(nodeScriptTarget('fastify', '@fastify/http-proxy', FASTIFY_SRC));
  if (opts.nginx) defs.push(nginxTarget(opts.nginx));
  return defs;
}
