import { parseArgs } from 'node:util';
import { asDistilleryError } from '../engine/errors.ts';
import { ENGINE_VERSION } from '../engine/index.ts';
import { commands } from './commands/index.ts';
import { out } from './command.ts';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `distillery ${ENGINE_VERSION} — data-free knowledge distillation`,
    '',
    'Usage: distillery <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options: --help, --version. `distillery <command> --help` shows a command\'s options.',
    'Environment: DISTILLERY_BACKEND=tensorflow|webgpu|wasm|cpu forces a TensorFlow.js backend.',
  ].join('\n');
}

/** Runs the CLI; returns the exit code. Errors print as one clear line (plus a hint), never a stack. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    out.print(help());
    return 0;
  }
  if (first === '--version' || first === '-v') {
    out.print(ENGINE_VERSION);
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    out.status(`distillery: unknown command '${first}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.print(command.usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: command.positionals ?? false, strict: true });
  } catch (error) {
    out.status(`distillery ${command.name}: ${(error as Error).message}\n\n${command.usage}`);
    return 2;
  }
  try {
    return await command.run(parsed);
  } catch (error) {
    const e = asDistilleryError(error);
    out.status(`distillery ${command.name}: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
    if (e.code === 'INTERNAL' && process.env.DISTILLERY_DEBUG) out.status(String((error as Error).stack));
    return e.code === 'BAD_INPUT' ? 2 : 1;
  }
}
