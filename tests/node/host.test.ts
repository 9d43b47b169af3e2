import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineHost } from '../../src-main/node/host.ts';
import { startWebBridge, type WebBridge } from '../../src-main/node/web-bridge.ts';
import { tempDir } from '../temp-dirs.ts';

describe('EngineHost.dispatch', () => {
  const host = new EngineHost();

  it('answers a valid request with the engine value', async () => {
    const result = await host.dispatch('doctor', {});
    expect(result.ok).toBe(true);
    if (result.ok) expect((result.value as { backend: { chosen: string } }).backend.chosen).toMatch(/tensorflow|webgpu|wasm|cpu/);
  });

  it('rejects unknown requests', async () => {
    const result = await host.dispatch('rm -rf', {});
    expect(result).toEqual({ ok: false, error: { code: 'BAD_INPUT', message: "unknown request 'rm -rf'" } });
  });

  it('rejects payloads that do not match the schema (strict: no unknown keys)', async () => {
    const result = await host.dispatch('doctor', { path: '/etc/passwd' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('BAD_INPUT');
      expect(result.error.message).toContain("invalid payload for 'doctor'");
    }
    const notAnObject = await host.dispatch('doctor', 42);
    expect(notAnObject.ok).toBe(false);
  });

  it('delivers events to subscribers until they unsubscribe', () => {
    const seen: unknown[] = [];
    const off = host.onEvent((event, payload) => seen.push([event, payload]));
    const event = { runId: 'r', task: 't', phase: 'p', step: 1, total: 2, etaSeconds: null, samplesPerSecond: null, values: { loss: 1 }, time: 0 };
    host.emit('progress', event);
    off();
    host.emit('progress', event);
    expect(seen).toEqual([['progress', event]]);
  });
});

describe('web bridge', () => {
  let bridge: WebBridge;
  const root = tempDir('distillery-renderer-');

  beforeAll(async () => {
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    bridge = await startWebBridge({ host: new EngineHost(), rendererDir: root });
  });
  afterAll(() => bridge.close());

  it('listens on loopback only and serves the renderer with a CSP', async () => {
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const response = await fetch(bridge.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('does not serve files outside the renderer folder', async () => {
    const response = await fetch(`${bridge.url}..%2F..%2Fetc%2Fpasswd`);
    expect(await response.text()).not.toContain('root:');
  });

  it('round-trips a request and reports bad JSON and bad payloads as errors', async () => {
    const post = (body: string, origin?: string): Promise<Response> =>
      fetch(`${bridge.url}api/invoke/doctor`, { method: 'POST', headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) }, body });
    const ok = (await (await post('{}')).json()) as { ok: boolean };
    expect(ok.ok).toBe(true);
    const badJson = await post('{');
    expect(badJson.status).toBe(400);
    const badPayload = (await (await post('{"x":1}')).json()) as { ok: boolean; error: { code: string } };
    expect(badPayload).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    expect((await post('{}', 'http://evil.example')).status).toBe(403);
  });

  it('answers "unavailable" to opening a teacher with the system dialog: the page uses its file input', async () => {
    const response = await fetch(`${bridge.url}api/invoke/openTeacher`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"select":"folder"}' });
    expect(await response.json()).toEqual({ ok: true, value: { outcome: 'unavailable' } });
  });

  it('refuses to start without a built renderer', async () => {
    await expect(startWebBridge({ host: new EngineHost(), rendererDir: join(root, 'missing') })).rejects.toThrow(/renderer is not built/);
  });
});
