/**
 * Browser mode: serves the built renderer on 127.0.0.1 and speaks the contract over HTTP
 * (POST /api/invoke/<name>) and a WebSocket (/api/events), so the same UI runs without Electron.
 *
 * It listens on loopback only and refuses requests whose Host or Origin is not this server (a web
 * page elsewhere must not drive the engine through the user's browser: DNS rebinding, CSRF).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer } from 'ws';
import { DistilleryError } from '../engine/errors.ts';
import type { EngineHost } from './host.ts';
import { CONTENT_SECURITY_POLICY } from './csp.ts';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

/** Largest request body accepted: the contract's payloads are small JSON objects, except a
 * teacher model the user drops, which travels as base64 (the contract caps it at 400 MB). */
const MAX_BODY_BYTES = 1 << 20;
const MAX_MODEL_UPLOAD_BYTES = 420 * 1024 * 1024;

export interface WebBridge {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startWebBridge(options: { host: EngineHost; rendererDir: string; port?: number }): Promise<WebBridge> {
  const rendererDir = resolve(options.rendererDir);
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new DistilleryError('NOT_FOUND', `the renderer is not built (no ${join(rendererDir, 'index.html')})`, 'run `npm run build` first, or use `npm run web`, which builds it');
  }
  let origin = '';
  const server = createServer((req, res) => {
    if (!sameOrigin(req, origin)) return send(res, 403, 'text/plain', 'forbidden: cross-origin request');
    if (req.url?.startsWith('/api/invoke/') && req.method === 'POST') return void invoke(req, res, options.host);
    if (req.method === 'GET' || req.method === 'HEAD') return serveStatic(req, res, rendererDir);
    send(res, 405, 'text/plain', 'method not allowed');
  });
  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/api/events' || !sameOrigin(req, origin)) return void socket.destroy();
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const off = options.host.onEvent((event, payload) => ws.send(JSON.stringify({ event, payload })));
      ws.on('close', off);
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new DistilleryError('INTERNAL', 'the web bridge has no address');
  origin = `http://127.0.0.1:${address.port}`;
  return {
    url: `${origin}/`,
    server,
    close: () =>
      new Promise<void>((done) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

function sameOrigin(req: IncomingMessage, origin: string): boolean {
  const host = req.headers.host;
  if (!host || `http://${host}` !== origin) return false;
  const requestOrigin = req.headers.origin;
  return requestOrigin === undefined || requestOrigin === origin;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff' });
  res.end(body);
}

async function invoke(req: IncomingMessage, res: ServerResponse, host: EngineHost): Promise<void> {
  if (!req.headers['content-type']?.startsWith('application/json')) return send(res, 415, 'text/plain', 'expected application/json');
  const name = decodeURIComponent(req.url!.slice('/api/invoke/'.length));
  const limit = name === 'importTeacher' ? MAX_MODEL_UPLOAD_BYTES : MAX_BODY_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return send(res, 413, 'text/plain', 'payload too large');
    chunks.push(chunk as Buffer);
  }
  let input: unknown;
  try {
    input = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
  } catch {
    return send(res, 400, 'application/json', JSON.stringify({ ok: false, error: { code: 'BAD_INPUT', message: 'the body is not JSON' } }));
  }
  const result = await host.dispatch(name, input);
  send(res, 200, 'application/json', JSON.stringify(result));
}

function serveStatic(req: IncomingMessage, res: ServerResponse, root: string): void {
  const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  let file = normalize(join(root, pathname === '/' ? 'index.html' : pathname));
  if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'text/plain', 'forbidden');
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
  res.writeHead(200, {
    'content-type': MIME[extname(file)] ?? 'application/octet-stream',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}
