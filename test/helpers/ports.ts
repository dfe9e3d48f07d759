/**
 * deadPort returns a port on 127.0.0.1 that refuses connections: it listens
 * on port 0, notes the port, and closes (Caddy's deadUpstreamAddr).
 */
import net from 'node:net';

/** deadPort resolves with a port that was just free on 127.0.0.1. */
export function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
