/**
 * Every loss term of the six data-free methods, each a pure function on tf tensors (no variables,
 * no side effects; callers wrap them in tf.tidy / optimizer.minimize). Layout is TensorFlow's:
 * images and activations are NHWC, logits [B, K]. The formulas follow the reference code as
 * summarised in shared/reference/methods.md; where a reference differs from its paper, the code's
 * behaviour is the default and is named in the doc comment.
 *
 * Values are checked against PyTorch in tests/engine/methods/losses.test.ts
 * (fixtures: tests/fixtures/make_loss_fixtures.py → tests/fixtures/losses.json).
 */
import * as tf from '@tensorflow/tfjs';

// ------------------------------------------------------------------------------------------------
// Shared building blocks
// ------------------------------------------------------------------------------------------------

/**
 * Identity in the forward pass, zero gradient in the backward pass (torch's .detach() inside a
 * differentiated expression). tfjs has no such op.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((a: tf.Tensor) => ({ value: tf.clone(a), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

/** Frobenius norm of a whole tensor (torch.norm(x) with no dim). */
export function frobeniusNorm(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(x))) as tf.Scalar);
}

/** Mean over the batch of cross-entropy with integer labels (torch.nn.CrossEntropyLoss()). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), k);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/**
 * Mean over the batch of cross-entropy against soft targets: −Σ_k y_k ln softmax(logits/τ)_k.
 * ZSKD's impression loss (τ = 20).
 */
export function softTargetCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D, tau = 1): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(tf.div(logits, tau))), 1))) as tf.Scalar);
}

/**
 * Knowledge-distillation loss KL(softmax(T/τ) ‖ softmax(S/τ)), summed over classes and averaged
 * over the batch, times τ² unless `tauSquared` is false (DAFL uses τ = 1 without it).
 * The teacher side is treated as a constant (no gradient flows into `teacherLogits`).
 */
export function kdLoss(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, tau = 1, tauSquared = true): tf.Scalar {
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(tf.div(stopGradient(teacherLogits), tau));
    const q = tf.exp(logQ);
    const logP = tf.logSoftmax(tf.div(studentLogits, tau));
    const kl = tf.mean(tf.sum(tf.mul(q, tf.sub(logQ, logP)), 1));
    return (tauSquared ? tf.mul(kl, tau * tau) : kl) as tf.Scalar;
  });
}

// ------------------------------------------------------------------------------------------------
// RDSKD (PengchaoHan/RDSKD generator-train.py)
// ------------------------------------------------------------------------------------------------

/**
 * One-hot loss: mean cross-entropy of the logits against their own argmax (the argmax is a
 * constant label, as `outputs_T.data.max(1)[1]` in the reference). Shared by RDSKD, MSKD, DAFL.
 */
export function oneHotLoss(logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const labels = tf.argMax(logits, 1) as tf.Tensor1D;
    return crossEntropy(logits, labels);
  });
}

/** Mean over the batch of the softmax of the logits (p̄). */
export function meanSoftmax(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.softmax(logits), 0) as tf.Tensor1D);
}

/**
 * Information-entropy loss Σ_k p̄_k ln p̄_k (= −entropy of the mean prediction), natural log as in
 * RDSKD. `base: 10` gives DAFL's Σ p̄ log10 p̄.
 */
export function informationEntropyLoss(logits: tf.Tensor2D, base: 'e' | 10 = 'e'): tf.Scalar {
  return tf.tidy(() => {
    const pbar = meanSoftmax(logits);
    const ln = tf.log(pbar);
    const logb = base === 10 ? tf.div(ln, Math.LN10) : ln;
    return tf.sum(tf.mul(pbar, logb)) as tf.Scalar;
  });
}

/** RDSKD's diversity-seeking term 1 / (‖x2 − x1‖_F / ‖p2 − p1‖_F + 1e-20), p = softmax(teacher logits). */
export function diversitySeekingLoss(x1: tf.Tensor, x2: tf.Tensor, p1: tf.Tensor, p2: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const lz = tf.div(frobeniusNorm(tf.sub(x2, x1)), frobeniusNorm(tf.sub(p2, p1)));
    return tf.div(1, tf.add(lz, 1e-20)) as tf.Scalar;
  });
}

/** The detached values of the previous snapshot of L_oh and L_ie (both 0 before the first). */
export interface IncrementSnapshot {
  oh: number;
  ie: number;
}

export const INITIAL_SNAPSHOT: IncrementSnapshot = Object.freeze({ oh: 0, ie: 0 });

/**
 * RDSKD's generator loss with exponential increments:
 * exp(L_oh − oh_prev) + exp(L_ie − ie_prev) + L_ds.
 */
export function exponentialIncrementLoss(oh: tf.Scalar, ie: tf.Scalar, ds: tf.Scalar, snapshot: IncrementSnapshot): tf.Scalar {
  return tf.tidy(() => tf.addN([tf.exp(tf.sub(oh, snapshot.oh)), tf.exp(tf.sub(ie, snapshot.ie)), ds]) as tf.Scalar);
}

/**
 * The reference refreshes the snapshot once per epoch, after the optimiser step of iteration
 * i == 1 (0-based iteration within the epoch) — not at i == 0 and not every step.
 */
export function refreshSnapshot(iterationInEpoch: number, current: IncrementSnapshot, oh: number, ie: number): IncrementSnapshot {
  return iterationInEpoch === 1 ? { oh, ie } : current;
}

export interface RdskdTerms {
  oh: tf.Scalar;
  ie: tf.Scalar;
  ds: tf.Scalar;
  total: tf.Scalar;
}

/**
 * All RDSKD generator terms from the generated batch x (both halves, x1 first) and the teacher's
 * logits on it. Returns tensors the caller must dispose (or call inside tf.tidy).
 */
export function rdskdGeneratorTerms(x: tf.Tensor, teacherLogits: tf.Tensor2D, snapshot: IncrementSnapshot): RdskdTerms {
  const half = x.shape[0] / 2;
  if (!Number.isInteger(half)) throw new Error(`RDSKD needs an even batch, got ${x.shape[0]}`);
  const oh = oneHotLoss(teacherLogits);
  const ie = informationEntropyLoss(teacherLogits, 'e');
  const ds = tf.tidy(() => {
    const [x1, x2] = tf.split(x, 2, 0);
    const p = tf.softmax(teacherLogits);
    const [p1, p2] = tf.split(p, 2, 0);
    return diversitySeekingLoss(x1!, x2!, p1!, p2!);
  });
  const total = exponentialIncrementLoss(oh, ie, ds, snapshot);
  return { oh, ie, ds, total };
}

// ------------------------------------------------------------------------------------------------
// MSKD (RDSKD paper's ablation, mode seeking as in MSGAN)
// ------------------------------------------------------------------------------------------------

/** Mode-seeking term 1 / (mean|G(z2) − G(z1)| / mean|z2 − z1| + 1e-5). */
export function modeSeekingLoss(g1: tf.Tensor, g2: tf.Tensor, z1: tf.Tensor, z2: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const ratio = tf.div(tf.mean(tf.abs(tf.sub(g2, g1))), tf.mean(tf.abs(tf.sub(z2, z1))));
    return tf.div(1, tf.add(ratio, 1e-5)) as tf.Scalar;
  });
}

// ------------------------------------------------------------------------------------------------
// DAFL (huawei-noah DAFL_train.py)
// ------------------------------------------------------------------------------------------------

/** DAFL's activation loss −mean|f| over the teacher's features before its last layer. */
export function activationLoss(features: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.abs(features))) as tf.Scalar);
}

export interface DaflWeights {
  oh: number;
  ie: number;
  a: number;
}

export interface DaflTerms {
  oh: tf.Scalar;
  ie: tf.Scalar;
  a: tf.Scalar;
  total: tf.Scalar;
}

/** DAFL generator loss oh·CE(t, argmax t) + ie·Σ p̄ log10 p̄ + a·(−mean|f|), with its terms. */
export function daflGeneratorTerms(teacherLogits: tf.Tensor2D, features: tf.Tensor, w: DaflWeights): DaflTerms {
  const oh = oneHotLoss(teacherLogits);
  const ie = informationEntropyLoss(teacherLogits, 10);
  const a = activationLoss(features);
  const total = tf.tidy(() => tf.addN([tf.mul(oh, w.oh), tf.mul(ie, w.ie), tf.mul(a, w.a)]) as tf.Scalar);
  return { oh, ie, a, total };
}

/** DAFL's student loss: KL(softmax(t) ‖ softmax(s)) at τ = 1, batch mean, no τ². */
export function daflStudentLoss(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D): tf.Scalar {
  return kdLoss(teacherLogits, studentLogits, 1, false);
}

// ------------------------------------------------------------------------------------------------
// ZSKT (polo5/ZeroShotKnowledgeTransfer solver.py)
// ------------------------------------------------------------------------------------------------

/**
 * ZSKT's divergence KL(softmax(T/τ) ‖ softmax(S/τ)). The reference calls F.kl_div with its default
 * reduction, which averages over all B·K elements ('elementwise', = batch mean / K); 'batchmean' is
 * the textbook form. Gradients flow into both sides (the generator step needs the teacher side).
 */
export function zsktDivergence(
  teacherLogits: tf.Tensor2D,
  studentLogits: tf.Tensor2D,
  tau = 1,
  reduction: 'elementwise' | 'batchmean' = 'elementwise',
): tf.Scalar {
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(tf.div(teacherLogits, tau));
    const logP = tf.logSoftmax(tf.div(studentLogits, tau));
    const pointwise = tf.mul(tf.exp(logQ), tf.sub(logQ, logP));
    return (reduction === 'elementwise' ? tf.mean(pointwise) : tf.div(tf.sum(pointwise), teacherLogits.shape[0])) as tf.Scalar;
  });
}

/** ZSKT generator loss −KL(T ‖ S). */
export function zsktGeneratorLoss(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, tau = 1, reduction: 'elementwise' | 'batchmean' = 'elementwise'): tf.Scalar {
  return tf.tidy(() => tf.neg(zsktDivergence(teacherLogits, studentLogits, tau, reduction)) as tf.Scalar);
}

/**
 * Attention map of an NHWC activation: L2-normalise(flatten(mean over channels of act²)), per
 * sample, as F.normalize (norm clamped below at 1e-12).
 */
export function attentionMap(activation: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const b = activation.shape[0];
    const a = tf.reshape(tf.mean(tf.square(activation), 3), [b, -1]);
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(a), 1, true)), 1e-12);
    return tf.div(a, norm) as tf.Tensor2D;
  });
}

/** Attention-transfer term Σ_l β · mean((a_S^l − a_T^l)²) (β = 250 in ZSKT). */
export function attentionTransferLoss(studentActs: tf.Tensor4D[], teacherActs: tf.Tensor4D[], beta = 250): tf.Scalar {
  if (studentActs.length !== teacherActs.length) {
    throw new Error(`attention transfer needs as many student as teacher activations (${studentActs.length} vs ${teacherActs.length})`);
  }
  return tf.tidy(() => {
    const terms = studentActs.map((s, i) => tf.mul(tf.mean(tf.square(tf.sub(attentionMap(s), attentionMap(teacherActs[i]!)))), beta));
    return (terms.length ? tf.addN(terms) : tf.scalar(0)) as tf.Scalar;
  });
}

/** ZSKT student loss KL(T ‖ S) + attention transfer. */
export function zsktStudentLoss(
  teacherLogits: tf.Tensor2D,
  studentLogits: tf.Tensor2D,
  teacherActs: tf.Tensor4D[],
  studentActs: tf.Tensor4D[],
  beta = 250,
  tau = 1,
  reduction: 'elementwise' | 'batchmean' = 'elementwise',
): { kl: tf.Scalar; at: tf.Scalar; total: tf.Scalar } {
  const kl = zsktDivergence(teacherLogits, studentLogits, tau, reduction);
  const at = attentionTransferLoss(studentActs, teacherActs, beta);
  const total = tf.add(kl, at) as tf.Scalar;
  return { kl, at, total };
}

// ------------------------------------------------------------------------------------------------
// DeepInversion (NVlabs/DeepInversion cifar10/deepinversion_cifar10.py)
// ------------------------------------------------------------------------------------------------

/**
 * Feature-statistics term of one BatchNorm layer, from the layer's INPUT (NHWC):
 * ‖σ²_batch − σ²_running‖₂ + ‖μ_batch − μ_running‖₂, with the biased batch variance over N, H, W.
 * Also accepts 2-D inputs [B, C] (BatchNorm1d).
 */
export function bnFeatureLoss(input: tf.Tensor, runningMean: tf.Tensor1D, runningVar: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const axes = input.rank === 4 ? [0, 1, 2] : [0];
    const { mean, variance } = tf.moments(input, axes);
    return tf.add(frobeniusNorm(tf.sub(runningVar, variance)), frobeniusNorm(tf.sub(runningMean, mean))) as tf.Scalar;
  });
}

/** Σ over BN layers of bnFeatureLoss. */
export function bnFeatureLossSum(layers: { input: tf.Tensor; runningMean: tf.Tensor1D; runningVar: tf.Tensor1D }[]): tf.Scalar {
  return tf.tidy(() => (layers.length ? tf.addN(layers.map((l) => bnFeatureLoss(l.input, l.runningMean, l.runningVar))) : tf.scalar(0)) as tf.Scalar);
}

/**
 * DeepInversion's total-variation prior: the sum of the L2 (Frobenius) norms of four pixel
 * differences — along W, along H, and the two diagonals — exactly the reference's diff1..diff4.
 */
export function totalVariationLoss(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const s = (h0: number, w0: number, hs: number, ws: number) => tf.slice(x, [0, h0, w0, 0], [b, hs, ws, c]);
    const diff1 = tf.sub(s(0, 0, h, w - 1), s(0, 1, h, w - 1)); // x[..., :, :-1] - x[..., :, 1:]
    const diff2 = tf.sub(s(0, 0, h - 1, w), s(1, 0, h - 1, w)); // x[..., :-1, :] - x[..., 1:, :]
    const diff3 = tf.sub(s(1, 0, h - 1, w - 1), s(0, 1, h - 1, w - 1)); // x[..., 1:, :-1] - x[..., :-1, 1:]
    const diff4 = tf.sub(s(0, 0, h - 1, w - 1), s(1, 1, h - 1, w - 1)); // x[..., :-1, :-1] - x[..., 1:, 1:]
    return tf.addN([diff1, diff2, diff3, diff4].map(frobeniusNorm)) as tf.Scalar;
  });
}

/** DeepInversion's L2 prior ‖x‖₂ over the whole batch (weight 0 by default). */
export function l2PriorLoss(x: tf.Tensor): tf.Scalar {
  return frobeniusNorm(x);
}

/**
 * Adaptive DeepInversion's competition term 1 − clamp(JS, 0, 1) with the reference's clamping:
 * P = softmax(S/T), Q = softmax(T/T), M = (P+Q)/2, all three clamped to [0.01, 0.99], then
 * JS = ½ KL_batchmean(M ‖ P) + ½ KL_batchmean(M ‖ Q).
 */
export function adiCompetitionLoss(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, temperature = 3): tf.Scalar {
  return tf.tidy(() => {
    const b = teacherLogits.shape[0];
    let p: tf.Tensor = tf.softmax(tf.div(studentLogits, temperature));
    let q: tf.Tensor = tf.softmax(tf.div(teacherLogits, temperature));
    let m: tf.Tensor = tf.mul(tf.add(p, q), 0.5);
    p = tf.clipByValue(p, 0.01, 0.99);
    q = tf.clipByValue(q, 0.01, 0.99);
    m = tf.clipByValue(m, 0.01, 0.99);
    const klM = (other: tf.Tensor) => tf.div(tf.sum(tf.mul(m, tf.sub(tf.log(m), tf.log(other)))), b);
    const js = tf.add(tf.mul(klM(p), 0.5), tf.mul(klM(q), 0.5));
    return tf.sub(1, tf.clipByValue(js, 0, 1)) as tf.Scalar;
  });
}

/** torch.roll(x, shifts=(dy, dx), dims=(H, W)) for NHWC: the random jitter of DeepInversion. */
export function roll2d(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  return tf.tidy(() => {
    const rollAxis = (t: tf.Tensor4D, shift: number, axis: 1 | 2): tf.Tensor4D => {
      const n = t.shape[axis];
      const s = ((shift % n) + n) % n;
      if (s === 0) return t;
      const [head, tail] = tf.split(t, [n - s, s], axis);
      return tf.concat([tail!, head!], axis) as tf.Tensor4D;
    };
    return rollAxis(rollAxis(x, dy, 1), dx, 2);
  });
}

// ------------------------------------------------------------------------------------------------
// ZSKD (vcl-iisc/ZSKD)
// ------------------------------------------------------------------------------------------------

/**
 * Class-similarity matrix from the teacher's final-layer weights W [d × K] (tfjs Dense kernel
 * layout): normalise each class column to unit L2 norm, S = WᵀW, min-max scale the whole matrix
 * to [0, 1].
 */
export function classSimilarity(weights: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const norms = tf.sqrt(tf.sum(tf.square(weights), 0, true));
    const wn = tf.div(weights, norms);
    const s = tf.matMul(wn, wn, true, false);
    const lo = tf.min(s);
    const hi = tf.max(s);
    return tf.div(tf.sub(s, lo), tf.sub(hi, lo)) as tf.Tensor2D;
  });
}

/**
 * Dirichlet concentration for class c: α = β·S[c] + 1e-4 (the paper). With `referenceBug` the
 * row is min-max scaled again after β is applied, as the reference's helper does — which cancels
 * β (β = 0.1 then gives the same targets as β = 1). Plain numbers: this runs once per class.
 */
export function dirichletConcentration(similarityRow: readonly number[], beta: number, referenceBug = false): number[] {
  let row = similarityRow.map((v) => beta * v);
  if (referenceBug) {
    const lo = Math.min(...row);
    const hi = Math.max(...row);
    row = row.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
  }
  return row.map((v) => v + 1e-4);
}

/** ZSKD impression loss: CE(softmax(T(x)/20), y) against sampled soft targets. */
export function zskdImpressionLoss(teacherLogits: tf.Tensor2D, softTargets: tf.Tensor2D, tau = 20): tf.Scalar {
  return softTargetCrossEntropy(teacherLogits, softTargets, tau);
}

// ------------------------------------------------------------------------------------------------
// Optimisation helpers shared by the methods
// ------------------------------------------------------------------------------------------------

/**
 * torch.nn.utils.clip_grad_norm_: scales all gradients by max_norm / (total_norm + 1e-6) when that
 * is below 1. Returns new tensors (the caller disposes the inputs) and the total norm.
 */
export function clipGradNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const names = Object.keys(grads);
  const norm = tf.tidy(() => {
    if (!names.length) return 0;
    const sq = tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!))));
    return Math.sqrt(sq.dataSync()[0]!);
  });
  const coef = maxNorm / (norm + 1e-6);
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) out[n] = coef < 1 ? tf.mul(grads[n]!, coef) : tf.clone(grads[n]!);
  return { grads: out, norm };
}

/** Cosine annealing (torch CosineAnnealingLR, eta_min 0) of a base learning rate at step t of T. */
export function cosineAnnealing(baseLr: number, step: number, totalSteps: number): number {
  return (baseLr * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps))) / 2;
}
