/**
 * The renderer's one way to reach the engine. In the desktop app the preload script puts the
 * bridge on `window.distillery` (IPC); in browser mode the same contract goes over HTTP and a
 * WebSocket to the local bridge that served this page.
 */
import {
  unwrap,
  type DistilleryApi,
  type EventName,
  type EventPayloads,
  type InvokeResult,
  type PreloadBridge,
  type RequestInput,
  type RequestName,
  type RequestOutputs,
} from '@common/contract.ts';

export type HostKind = 'electron' | 'browser';

function fromPreload(bridge: PreloadBridge): DistilleryApi {
  return {
    async invoke<K extends RequestName>(name: K, input: RequestInput<K>) {
      return unwrap((await bridge.invoke(name, input)) as InvokeResult<RequestOutputs[K]>);
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void) {
      return bridge.on(event, (payload) => listener(payload as EventPayloads[E]));
    },
  };
}

function overHttp(): DistilleryApi {
  type Listener = (payload: unknown) => void;
  const listeners = new Map<EventName, Set<Listener>>();
  let socket: WebSocket | null = null;
  const connect = (): void => {
    if (socket) return;
    socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`);
    socket.onmessage = (message) => {
      const { event, payload } = JSON.parse(String(message.data)) as { event: EventName; payload: unknown };
      listeners.get(event)?.forEach((listener) => listener(payload));
    };
    socket.onclose = () => {
      socket = null;
      if ([...listeners.values()].some((set) => set.size > 0)) setTimeout(connect, 1000);
    };
  };
  return {
    async invoke<K extends RequestName>(name: K, input: RequestInput<K>) {
      const response = await fetch(`/api/invoke/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      if (!response.ok) throw new Error(`the engine bridge answered ${response.status} ${await response.text()}`);
      return unwrap((await response.json()) as InvokeResult<RequestOutputs[K]>);
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void) {
      const set = listeners.get(event) ?? new Set<Listener>();
      listeners.set(event, set);
      const wrapped: Listener = (payload) => listener(payload as EventPayloads[E]);
      set.add(wrapped);
      connect();
      return () => void set.delete(wrapped);
    },
  };
}

export const hostKind: HostKind = window.distillery ? 'electron' : 'browser';
export const api: DistilleryApi = window.distillery ? fromPreload(window.distillery) : overHttp();
