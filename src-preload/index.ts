/**
 * The preload script (sandboxed, CommonJS): exposes exactly the contract's surface — `invoke` for
 * the named requests and `on` for the named events — and nothing of Electron or Node.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_EVENT, IPC_INVOKE, isEventName, isRequestName } from '../src-main/common/names.ts';
import type { PreloadBridge } from '../src-main/common/contract.ts';

const bridge: PreloadBridge = {
  invoke(name, input) {
    if (!isRequestName(name)) return Promise.resolve({ ok: false, error: { code: 'BAD_INPUT', message: `unknown request '${String(name)}'` } });
    return ipcRenderer.invoke(IPC_INVOKE, name, input);
  },
  on(event, listener) {
    if (!isEventName(event)) throw new Error(`unknown event '${String(event)}'`);
    const wrapped = (_e: IpcRendererEvent, name: unknown, payload: unknown): void => {
      if (name === event) listener(payload);
    };
    ipcRenderer.on(IPC_EVENT, wrapped);
    return () => void ipcRenderer.off(IPC_EVENT, wrapped);
  },
};

contextBridge.exposeInMainWorld('distillery', bridge);
