/**
 * Ports that stay ours while tests run side by side. deadPort() (listen on
 * 0, close, reuse the number) hands out an ephemeral port, and the kernel
 * may give that very number to the next listen(0) of a test running in
 * parallel: the "dead" backend then answers, or a backend that was stopped
 * to be restarted finds its port taken. Ports below the ephemeral range
 * (Linux ip_local_port_range, 32768–60999 by default) are never handed out
 * by listen(0), so only a test that picks the same random number can clash,
 * and every pick is checked.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { TestBackend } from './backend.js';

/** ephemeralLow is the lowest port listen(0) may hand out on this machine. */
function ephemeralLow(): number {
  try {
    const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && Number.isInteger(lo) && lo > 12_000) return lo;
  } catch {
    // not Linux: fall through to the IANA dynamic range start
  }
  return 32_768;
}

/** randomLowPort picks a port in the 10,000 ports just below the ephemeral range. */
function randomLowPort(): number {
  const lo = ephemeralLow();
  return lo - 10_000 + Math.floor(Math.random() * 10_000);
}

/** refuses tells whether a connection to 127.0.0.1:port is refused. */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** refusingPort returns a port on 127.0.0.1 that refuses connections and that no listen(0) will take. */
export async function refusingPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = randomLowPort();
    if (await refuses(port)) return port;
  }
  throw new Error('no refusing port found below the ephemeral range');
}

/**
 * startPinnedBackend starts a TestBackend on a port below the ephemeral
 * range, so it can be stopped and restarted on the same port while other
 * tests run. Stop it in teardown like any TestBackend.
 */
export async function startPinnedBackend(name: string): Promise<TestBackend> {
  let last: unknown;
  for (let i = 0; i < 20; i++) {
    const b = new TestBackend(name);
    b.port = randomLowPort();
    try {
      return await b.start();
    } catch (err) {
      last = err; // EADDRINUSE: someone else has it, pick another
    }
  }
  throw new Error(`no free port below the ephemeral range: ${(last as Error).message}`);
}
