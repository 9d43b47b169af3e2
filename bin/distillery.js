#!/usr/bin/env node
// The `distillery` command. It runs the TypeScript sources through tsx (a runtime dependency), so
// the CLI needs no build step; the Electron app bundles the same engine with electron-vite.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
