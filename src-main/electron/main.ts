/**
 * The Electron main process: one window, the engine host behind IPC, and the security settings the
 * renderer runs under (context isolation, sandbox, no Node in the page, strict CSP, no navigation
 * away from the app, no new windows).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, session, shell, type MenuItemConstructorOptions, type WebContents } from 'electron';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IPC_EVENT, IPC_INVOKE } from '../common/names.ts';
import { EngineHost } from '../node/host.ts';
import { CONTENT_SECURITY_POLICY } from '../node/csp.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const rendererUrl = process.env.ELECTRON_RENDERER_URL; // set by `electron-vite dev`
const rendererIndex = join(here, '../renderer/index.html');

function isAppUrl(url: string): boolean {
  if (rendererUrl) return url.startsWith(rendererUrl);
  return url.startsWith(pathToFileURL(rendererIndex).href);
}

function createWindow(host: EngineHost): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    show: false,
    title: 'Distillery',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  window.once('ready-to-show', () => window.show());
  lockDown(window.webContents);
  const off = host.onEvent((event, payload) => {
    if (!window.isDestroyed()) window.webContents.send(IPC_EVENT, event, payload);
  });
  window.on('closed', off);
  if (rendererUrl) void window.loadURL(rendererUrl);
  else void window.loadFile(rendererIndex);
  return window;
}

/** No navigation away from the app and no new windows; external links open in the browser. */
function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

/** The system's open dialog over the focused window; the one path chosen, or null when cancelled. */
async function openDialog(options: Electron.OpenDialogOptions): Promise<string | null> {
  const window = BrowserWindow.getFocusedWindow();
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

function menuTemplate(): MenuItemConstructorOptions[] {
  return [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Show the data folder', click: () => void shell.openPath(join(app.getPath('userData'), 'data')) },
      ],
    },
  ];
}

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  // Each run trains in its own process: this bundle's run-worker.js, on Electron's own Node.
  const host = new EngineHost({
    dataDir: join(app.getPath('userData'), 'data'),
    worker: { execPath: process.execPath, args: [join(here, 'run-worker.js')], env: { ELECTRON_RUN_AS_NODE: '1' } },
    chooseFolder: () => openDialog({ title: 'Export the student to…', properties: ['openDirectory', 'createDirectory'] }),
    openTeacherDialog: (select) =>
      openDialog(
        select === 'folder'
          ? { title: 'Open a TensorFlow.js model folder', properties: ['openDirectory'] }
          : { title: 'Open a TensorFlow.js model', properties: ['openFile'], filters: [{ name: 'TensorFlow.js layers model (model.json)', extensions: ['json'] }] },
      ),
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate()));
  app.on('before-quit', () => void host.runs.stopAll());
  ipcMain.handle(IPC_INVOKE, (event, name: unknown, input: unknown) => {
    // Only our own page may call the engine.
    if (!event.senderFrame || !isAppUrl(event.senderFrame.url)) {
      return { ok: false, error: { code: 'BAD_INPUT', message: 'request from an unknown frame' } };
    }
    return host.dispatch(name, input);
  });
  createWindow(host);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(host);
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
