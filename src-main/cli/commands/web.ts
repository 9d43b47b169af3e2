import { join } from 'node:path';
import { appRoot } from '../../engine/index.ts';
import { EngineHost } from '../../node/host.ts';
import { startWebBridge } from '../../node/web-bridge.ts';
import { numberOption, out, type CliCommand } from '../command.ts';

export const webCommand: CliCommand = {
  name: 'web',
  summary: 'serve the app in a browser on 127.0.0.1 (same UI and engine as the desktop app)',
  usage: 'Usage: distillery web [--port N]\n\nServes the built renderer (out/renderer; `npm run web` builds it first) with a bridge\nto the engine on http://127.0.0.1:N (default 5174; 0 picks a free port). Ctrl+C stops it.',
  options: { port: { type: 'string' } },
  async run({ values }) {
    const port = numberOption(values, 'port', 5174, 0, 65535);
    const bridge = await startWebBridge({ host: new EngineHost(), rendererDir: join(appRoot(), 'out', 'renderer'), port });
    out.print(`Distillery is running at ${bridge.url}`);
    out.status('Open it in a browser; press Ctrl+C to stop.');
    await new Promise<void>((done) => {
      const stop = (): void => void bridge.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
