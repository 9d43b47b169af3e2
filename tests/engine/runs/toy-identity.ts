import { resolveConfig } from '../../../src-main/engine/methods/method.ts';
import type { RunIdentity } from '../../../src-main/engine/runs/store.ts';
import { toyMethod, type ToyConfig } from './toy-method.ts';

export function toyConfig(over: Partial<ToyConfig> = {}): ToyConfig {
  return resolveConfig(toyMethod, 'mnist', over);
}

/** The identity stored for a toy run. */
export function toyIdentity(config: ToyConfig): RunIdentity {
  return { method: 'toy', dataset: 'mnist', config, teacher: { architecture: 'tiny' }, student: { architecture: 'tiny' } };
}
