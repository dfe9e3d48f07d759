/**
 * `npx tsx examples/bench/routes.ts`: what picking a route costs per request
 * (routes, issue 15), in ns per match, at 10 and 1,000 routes, for the
 * kinds of routes: exact hosts (a Map lookup), one-label wildcards, path
 * prefixes (a scan in file order: the worst case is a request that matches
 * the last one or none). Each case runs its requests in a loop for about
 * MS ms after a warm-up and reports the median of ROUNDS rounds. Pure CPU:
 * no sockets. Run it under `flock /tmp/bench.lock` on a shared machine.
 */
import { RouteMatcher, type RouteRule } from '../../src/routes/matcher.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const MS = Number(process.env.MS ?? 200);

interface Case { name: string; rules: RouteRule<number>[]; requests: Array<[host: string, url: string]> }

function hosts(n: number): Case {
  const rules: RouteRule<number>[] = Array.from({ length: n - 1 }, (_, i) => ({ host: `svc${i}.example.com`, target: i }));
  rules.push({ target: n - 1 });
  const requests = Array.from({ length: 64 }, (_, i): [string, string] => [`svc${(i * 7) % (n - 1)}.example.com:3030`, '/users/42']);
  return { name: `${n} exact hosts (+ default), Host with port`, rules, requests };
}

function wildcards(n: number): Case {
  const rules: RouteRule<number>[] = Array.from({ length: n - 1 }, (_, i) => ({ host: `*.t${i}.example.com`, target: i }));
  rules.push({ target: n - 1 });
  const requests = Array.from({ length: 64 }, (_, i): [string, string] => [`a${i}.t${(i * 7) % (n - 1)}.example.com`, '/']);
  return { name: `${n} wildcard hosts (+ default)`, rules, requests };
}

function prefixes(n: number, which: 'last' | 'spread'): Case {
  const rules: RouteRule<number>[] = Array.from({ length: n - 1 }, (_, i) => ({ pathPrefix: `/api${i}/`, stripPrefix: true, target: i }));
  rules.push({ target: n - 1 });
  const requests = Array.from({ length: 64 }, (_, i): [string, string] => ['www.example.com', which === 'last' ? `/static/app${i}.js` : `/api${(i * 7) % (n - 1)}/users`]);
  return { name: `${n} path prefixes (+ default), ${which === 'last' ? 'every request falls through to the default (worst case)' : 'requests spread over the prefixes'}`, rules, requests };
}

function measure(c: Case): { ns: number; compileMs: number } {
  const t0 = performance.now();
  const m = new RouteMatcher(c.rules);
  const compileMs = performance.now() - t0;
  let sink = 0;
  const reqs = c.requests;
  for (let i = 0; i < 200_000; i++) { const r = reqs[i & 63]!; sink += m.match(r[0], r[1])?.index ?? 0; }
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let n = 0;
    const start = performance.now();
    const end = start + MS;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 10_000; i++) { const r = reqs[i & 63]!; sink += m.match(r[0], r[1])?.index ?? 0; }
      n += 10_000;
      now = performance.now();
    }
    samples.push(((now - start) * 1e6) / n);
  }
  if (sink === -1) console.log(sink);
  samples.sort((a, b) => a - b);
  return { ns: samples[Math.floor(samples.length / 2)]!, compileMs };
}

console.log(`## Route matching, ns per match (median of ${ROUNDS} × ${MS} ms), Node ${process.version}\n`);
console.log('| routes | case | ns per match | compile ms |');
console.log('|---:|---|---:|---:|');
for (const n of [10, 1000]) {
  for (const c of [hosts(n), wildcards(n), prefixes(n, 'spread'), prefixes(n, 'last')]) {
    const r = measure(c);
    console.log(`| ${n} | ${c.name} | ${r.ns.toFixed(0)} | ${r.compileMs.toFixed(1)} |`);
  }
}
