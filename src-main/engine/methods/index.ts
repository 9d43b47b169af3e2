/**
 * The method registry: one file per method, one entry here. The CLI and the app list methods from
 * METHODS and run them through the driver (driver.ts) with a run store (../runs/store.ts).
 *
 * Implemented: all six (rdskd, dafl, mskd, zskt, deepinversion, zskd).
 */
import type * as tf from '@tensorflow/tfjs';
import { DistilleryError } from '../errors.ts';
import { buildDaflGenerator, buildZsktGenerator } from '../models/index.ts';
import { dafl } from './dafl.ts';
import { METHOD_IDS, PAPER_FIT, type AnyMethodDefinition, type DatasetId, type GeneratorFactory, type MethodFit, type MethodId } from './method.ts';
import type { ModelTraits } from '../models/taps.ts';
import { mskd } from './mskd.ts';
import { rdskd } from './rdskd.ts';
import { deepInversion } from './deepinversion.ts';
import { zskd } from './zskd.ts';
import { zskt } from './zskt.ts';

export const METHODS: Partial<Record<MethodId, AnyMethodDefinition>> = { rdskd, dafl, mskd, zskt, deepinversion: deepInversion, zskd };

export function getMethod(id: string): AnyMethodDefinition {
  const def = (METHODS as Record<string, AnyMethodDefinition | undefined>)[id];
  if (!def) {
    const known = (METHOD_IDS as readonly string[]).includes(id);
    throw new DistilleryError(
      'BAD_INPUT',
      known ? `the ${id} method is not implemented yet` : `unknown method '${id}'`,
      `available: ${Object.keys(METHODS).join(', ')}`,
    );
  }
  return def;
}

/**
 * How a method applies to a teacher (and student, when known) with its reference config for the
 * dataset: the one verdict the CLI and the app show (see MethodDefinition.fit).
 */
export function methodFit(def: AnyMethodDefinition, dataset: DatasetId, teacher: ModelTraits, student: ModelTraits | null): MethodFit {
  return def.fit?.({ teacher, student }, def.defaults(dataset)) ?? PAPER_FIT;
}

/** The steps a run of the method with this config plans, over all its phases. */
export function plannedSteps(method: string, config: unknown): number {
  return getMethod(method)
    .phases(config)
    .reduce((sum, phase) => sum + phase.total, 0);
}

/** The model zoo's generators (DAFL's for RDSKD/DAFL/MSKD, ZSKT's for ZSKT). */
export const defaultGeneratorFactory: GeneratorFactory = (kind, options): tf.LayersModel =>
  kind === 'dafl' ? buildDaflGenerator(options) : buildZsktGenerator(options);

export * from './method.ts';
export { runMethod, agreementOn, accuracyOn, type RunMethodOptions, type RunMethodResult } from './driver.ts';
export * as losses from './losses.ts';
export { rdskd, rdskdDefaults, rdskdConfigSchema, type RdskdConfig } from './rdskd.ts';
export { dafl, daflDefaults, daflConfigSchema, type DaflConfig } from './dafl.ts';
export { mskd } from './mskd.ts';
export { zskt, zsktDefaults, zsktConfigSchema, type ZsktConfig } from './zskt.ts';
export { deepInversion, deepInversionDefaults, deepInversionConfigSchema, type DeepInversionConfig } from './deepinversion.ts';
export { zskd, zskdDefaults, zskdConfigSchema, type ZskdConfig } from './zskd.ts';
