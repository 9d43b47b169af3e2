/**
 * MSKD — the RDSKD paper's ablation (no public code): RDSKD with the diversity term replaced by
 * MSGAN's mode seeking, 1 / (mean|G(z2) − G(z1)| / mean|z2 − z1| + 1e-5). Everything else
 * (exponential increments with the per-epoch snapshot, the student phase) is RDSKD's.
 */
import { createRdskdSession, rdskdConfigSchema, rdskdDefaults, type RdskdConfig } from './rdskd.ts';
import type { MethodDefinition } from './method.ts';

export type MskdConfig = RdskdConfig;

export const mskd: MethodDefinition<MskdConfig> = {
  id: 'mskd',
  title: 'MSKD',
  summary: 'RDSKD with a mode-seeking diversity term (latent distance in the denominator)',
  schema: rdskdConfigSchema,
  defaults: rdskdDefaults,
  phases: (c) => [
    { name: 'generator', total: c.generator.epochs * c.generator.itersPerEpoch, batchSize: c.generator.batchSize, stepsPerEpoch: c.generator.itersPerEpoch, trainsStudent: false },
    { name: 'student', total: c.student.epochs * c.student.itersPerEpoch, batchSize: c.student.batchSize, stepsPerEpoch: c.student.itersPerEpoch, trainsStudent: true },
  ],
  create: (ctx, c) => createRdskdSession(ctx, c, 'mode-seeking'),
  extendable: ['student.epochs'],
};
