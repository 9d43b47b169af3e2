#!/usr/bin/env node
// `npm run bench -- <name> [options]`: runs bench/<name>.ts through tsx.
import { register } from 'tsx/esm/api';
import { existsSync } from 'node:fs';

register();
const [name, ...args] = process.argv.slice(2);
const file = new URL(`../bench/${name}.ts`, import.meta.url);
if (!name || !existsSync(file)) {
  console.error(`usage: npm run bench -- <name> [options]   (a file bench/<name>.ts)`);
  process.exit(2);
}
const { main } = await import(file.href);
try {
  process.exitCode = await main(args);
} catch (error) {
  // A command line that does not parse (bench/options.ts): the reason and the usage, no stack.
  if (error?.name !== 'BenchUsageError') throw error;
  console.error(`${name}: ${error.message}\nusage: ${error.usage}`);
  process.exitCode = 2;
}
