/**
 * One soak backend (`node --import tsx examples/soak/backend.ts PORT NAME`),
 * its own process so the soak can kill -9 it: on 127.0.0.1:PORT
 * - `GET /status` answers 200 `ok` (the health check);
 * - any other GET answers 200 `hello from NAME\n`;
 * - POST (any path) echoes the request body byte for byte;
 * - a WebSocket upgrade is accepted (handshake with node:crypto), the
 *   backend first sends the text message `hello from NAME`, then echoes
 *   every text or binary message; ping → pong, close → close. Minimal
 *   framing: unfragmented frames only (what the soak's client sends).
 * Every answer carries `x-backend: NAME`. Node's default keep-alive timeout
 * (5 s), like an untuned backend.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';

const port = Number(process.argv[2]);
const name = process.argv[3] ?? 'backend';
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: backend.ts PORT NAME');
  process.exit(2);
}
const HELLO = `hello from ${name}\n`;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const server = http.createServer((req, res) => {
  if (req.method === 'POST' || req.method === 'PUT') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'x-backend': name });
      res.end(body);
    });
    req.on('error', () => res.destroy());
    return;
  }
  const body = req.url === '/status' ? 'ok\n' : HELLO;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-backend': name });
  res.end(body);
});

/** frame builds one unmasked server frame (FIN set). */
function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  let head: Buffer;
  if (n < 126) {
    head = Buffer.from([0x80 | opcode, n]);
  } else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

function serveWebSocket(socket: Duplex, first: Buffer): void {
  let buf = first;
  let closed = false;
  const send = (opcode: number, payload: Buffer) => {
    if (!closed && socket.writable) socket.write(frame(opcode, payload));
  };
  const fail = () => {
    closed = true;
    socket.destroy();
  };
  const parse = () => {
    while (buf.length >= 2) {
      const b0 = buf[0]!;
      const b1 = buf[1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(16 * 1024 * 1024)) return fail();
        len = Number(big);
        off = 10;
      }
      if (!masked || !fin) return fail(); // clients must mask; no fragmentation here
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      buf = buf.subarray(off + 4 + len);
      switch (opcode) {
        case 0x1: // text
        case 0x2: // binary
          send(opcode, payload);
          break;
        case 0x8: // close: answer with the same code, then end
          send(0x8, payload.subarray(0, 2));
          closed = true;
          socket.end();
          return;
        case 0x9: // ping
          send(0xa, payload);
          break;
        case 0xa: // pong
          break;
        default:
          return fail();
      }
    }
  };
  socket.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    parse();
  });
  socket.on('error', () => { closed = true; });
  socket.on('close', () => { closed = true; });
  send(0x1, Buffer.from(`hello from ${name}`));
  if (buf.length) parse();
}

server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  const key = req.headers['sec-websocket-key'];
  if (String(req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nx-backend: ${name}\r\n\r\n`);
  serveWebSocket(socket, head);
});

server.listen(port, '127.0.0.1', () => console.log(`${name} listening on 127.0.0.1:${port} (pid ${process.pid})`));
process.on('SIGTERM', () => process.exit(0));
