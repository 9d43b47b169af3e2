/**
 * A teacher's manifest: `manifest.json` beside `model.json`. It carries what the model alone does
 * not: which data it was trained for, how raw pixels become its input (the preprocessing), its
 * class names, its measured accuracy, and how it was made. Distillation uses the preprocessing to
 * evaluate students on real test data the same way; users bringing their own teacher write one (or
 * the app writes it from what they enter).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DistilleryError } from '../errors.ts';

export const MANIFEST_FILE = 'manifest.json';

const positiveInt = z.number().int().positive();

export const PreprocessingSchema = z
  .object({
    /** Resize raw images to the model's input height × width first (PIL/torchvision semantics). */
    resize: z
      .object({ height: positiveInt, width: positiveInt, method: z.enum(['bilinear', 'nearest']) })
      .optional(),
    /** Multiplier from raw pixel values (0–255) to [0, 1]: 1/255 for torchvision's ToTensor. */
    scale: z.number().positive(),
    /** Per-channel mean and standard deviation, applied after scaling: (v·scale − mean) / std. */
    mean: z.array(z.number()).min(1),
    std: z.array(z.number().positive()).min(1),
  })
  .strict();

export type Preprocessing = z.infer<typeof PreprocessingSchema>;

export const AccuracySchema = z
  .object({
    /** Fraction of correctly classified samples in [0, 1]. */
    value: z.number().min(0).max(1),
    dataset: z.string().min(1),
    split: z.string().min(1),
    samples: positiveInt,
    perClass: z.array(z.number().min(0).max(1)).optional(),
  })
  .strict();

export const TrainingInfoSchema = z
  .object({
    by: z.string().min(1),
    command: z.string().optional(),
    architecture: z.string().optional(),
    dataset: z.string().optional(),
    epochs: positiveInt.optional(),
    batchSize: positiveInt.optional(),
    optimizer: z.string().optional(),
    learningRate: z.number().positive().optional(),
    schedule: z.string().optional(),
    seed: z.number().int().optional(),
    backend: z.string().optional(),
    threads: z.number().int().nullable().optional(),
    seconds: z.number().nonnegative().optional(),
    finishedAt: z.string().optional(),
    engineVersion: z.string().optional(),
    tfjsVersion: z.string().optional(),
    notes: z.string().optional(),
  })
  .strict();

export const TeacherManifestSchema = z
  .object({
    format: z.literal('distillery-teacher'),
    version: z.literal(1),
    name: z.string().min(1),
    /** A zoo architecture name (see registry.ts), or 'custom'. */
    architecture: z.string().min(1),
    dataset: z.object({ name: z.string().min(1), description: z.string().optional() }).strict(),
    /** The model's input, channels-last: [height, width, channels]. */
    inputShape: z.tuple([positiveInt, positiveInt, positiveInt]),
    numClasses: z.number().int().min(2),
    classNames: z.array(z.string()),
    /** The model outputs logits (softmax not applied) or probabilities. */
    output: z.enum(['logits', 'probabilities']),
    preprocessing: PreprocessingSchema,
    accuracy: AccuracySchema.optional(),
    training: TrainingInfoSchema.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const channels = m.inputShape[2];
    if (m.classNames.length !== m.numClasses) {
      ctx.addIssue({ code: 'custom', path: ['classNames'], message: `has ${m.classNames.length} names for ${m.numClasses} classes` });
    }
    for (const key of ['mean', 'std'] as const) {
      const n = m.preprocessing[key].length;
      if (n !== channels && n !== 1) {
        ctx.addIssue({ code: 'custom', path: ['preprocessing', key], message: `has ${n} values for ${channels} channels (give one per channel, or one for all)` });
      }
    }
    const r = m.preprocessing.resize;
    if (r && (r.height !== m.inputShape[0] || r.width !== m.inputShape[1])) {
      ctx.addIssue({ code: 'custom', path: ['preprocessing', 'resize'], message: `resizes to ${r.height}×${r.width} but the input is ${m.inputShape[0]}×${m.inputShape[1]}` });
    }
    if (m.accuracy?.perClass && m.accuracy.perClass.length !== m.numClasses) {
      ctx.addIssue({ code: 'custom', path: ['accuracy', 'perClass'], message: `has ${m.accuracy.perClass.length} values for ${m.numClasses} classes` });
    }
  });

export type TeacherManifest = z.infer<typeof TeacherManifestSchema>;

/** Validates a parsed manifest; throws BAD_MODEL naming every problem. */
export function parseManifest(value: unknown, source = 'manifest'): TeacherManifest {
  const result = TeacherManifestSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
    throw new DistilleryError('BAD_MODEL', `${source} is not a valid teacher manifest: ${problems.join('; ')}`);
  }
  return result.data;
}

export function readManifest(file: string): TeacherManifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DistilleryError('NOT_FOUND', `cannot read ${file}: ${(error as Error).message}`, undefined, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DistilleryError('BAD_MODEL', `${file} is not valid JSON: ${(error as Error).message}`, undefined, { cause: error });
  }
  return parseManifest(value, file);
}

/** Per-channel mean/std arrays of length `channels` (a single value applies to every channel). */
export function channelStats(p: Preprocessing, channels: number): { mean: number[]; std: number[] } {
  const expand = (v: number[]): number[] => (v.length === channels ? v : Array.from({ length: channels }, () => v[0]!));
  return { mean: expand(p.mean), std: expand(p.std) };
}
