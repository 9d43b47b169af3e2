import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshot, startWebApp, type WebApp } from './browser.ts';
import { doctor, ENGINE_VERSION } from '../../src-main/engine/index.ts';

describe('browser mode', () => {
  let app: WebApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startWebApp();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('shows the engine doctor report fetched through the bridge', async () => {
    const expected = await doctor(ENGINE_VERSION);
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(app.url);
    // The doctor report lives on the Machine view, beside the wizard.
    await page.getByTestId('nav-machine').click();
    await expect.poll(() => page.getByTestId('backend-name').textContent(), { timeout: 30_000 }).toBe(expected.backend.chosen);
    expect(await page.getByTestId('host-kind').textContent()).toBe('Browser mode');
    expect(await page.getByTestId('backend-summary').textContent()).toContain(expected.backend.reason);
    expect(await page.getByTestId('mnist-status').textContent()).toContain(expected.data.mnist.detail);
    for (const probe of expected.backend.probes) {
      await expect.poll(() => page.getByText(probe.detail).count()).toBeGreaterThan(0);
    }
    await screenshot(page, '01-doctor');
    expect(consoleErrors).toEqual([]);
  });

  it('rejects cross-origin calls to the engine', async () => {
    const forged = await fetch(`${app.url}api/invoke/doctor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: '{}',
    });
    expect(forged.status).toBe(403);
  });
});
