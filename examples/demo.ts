/**
 * `npm run demo`: the three demo backends plus the balancer on ./lb.yaml, in
 * one process tree. Ctrl-C stops all of them: the balancer drains first.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDemoBackends } from './demo-backends.js';

const closeBackends = await startDemoBackends([3031, 3032, 3033]);
console.log('demo backends on 127.0.0.1:3031, :3032, :3033');
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const lb = spawn(process.execPath, [cli, 'start', '-c', 'lb.yaml'], { stdio: 'inherit' });
console.log('try: curl localhost:3030   (Ctrl-C stops everything)');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  lb.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
lb.on('exit', (code) => {
  void closeBackends().then(() => process.exit(code ?? 0));
});
