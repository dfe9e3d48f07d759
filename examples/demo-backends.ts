/**
 * Three small demo backends that name themselves, on 127.0.0.1:3031-3033
 * (or the ports given as arguments). Each answers every request with
 * "hello from backend N" and serves /status for the HTTP health check.
 */
import http from 'node:http';

/** startDemoBackends starts one backend per port; resolves with a function that closes them all. */
export async function startDemoBackends(ports: number[], host = '127.0.0.1'): Promise<() => Promise<void>> {
  const servers = await Promise.all(ports.map((port, i) => new Promise<http.Server>((resolve, reject) => {
    const name = `backend ${i + 1}`;
    const server = http.createServer((req, res) => {
      const body = req.url === '/status' ? 'ok\n' : `hello from ${name} (port ${port})\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(body);
    });
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  })));
  return async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    })));
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ports = process.argv.slice(2).map(Number);
  const close = await startDemoBackends(ports.length ? ports : [3031, 3032, 3033]);
  console.log(`demo backends listening on ${(ports.length ? ports : [3031, 3032, 3033]).join(', ')}`);
  const stop = () => void close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
