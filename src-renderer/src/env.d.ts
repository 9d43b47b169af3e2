/// <reference types="vite/client" />
import type { PreloadBridge } from '@common/contract.ts';

declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

declare global {
  interface Window {
    /** Present only in the desktop app (set by the preload script). */
    distillery?: PreloadBridge;
  }
}
