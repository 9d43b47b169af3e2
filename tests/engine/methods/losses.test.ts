import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import * as L from '../../../src-main/engine/methods/losses.ts';
import { dirichlet, mulberry32 } from '../../../src-main/engine/methods/random.ts';

interface Arr {
  shape: number[];
  data: number[];
}
// Fixtures computed by PyTorch (tests/fixtures/make_loss_fixtures.py), written NHWC for images.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const fx = JSON.parse(readFileSync(new URL('../../fixtures/losses.json', import.meta.url), 'utf8')).cases as Record<string, any>;

const T = <R extends tf.Rank>(a: Arr) => tf.tensor(a.data, a.shape) as unknown as tf.Tensor<R>;
const RTOL = 1e-5;

function expectClose(actual: number, expected: number, rtol = RTOL, atol = 1e-7): void {
  const tol = atol + rtol * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`expected ${actual} to be within ${tol} of ${expected} (diff ${Math.abs(actual - expected)})`);
  }
}

/** Element-wise, relative to the largest magnitude of the expected array (gradients). */
function expectArrayClose(actual: tf.Tensor, expected: Arr, rtol = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const scale = Math.max(...expected.data.map(Math.abs), 1e-12);
  let worst = 0;
  expected.data.forEach((e, i) => (worst = Math.max(worst, Math.abs(a[i]! - e) / scale)));
  if (!(worst <= rtol)) throw new Error(`arrays differ: worst relative error ${worst} > ${rtol}`);
}

const val = (s: tf.Tensor) => s.dataSync()[0]!;

/** Runs fn, checks it leaves exactly `kept` new tensors alive, disposes them. */
function noLeak<R>(fn: () => R, kept = 1): R {
  const before = tf.memory().numTensors;
  const r = fn();
  expect(tf.memory().numTensors - before).toBe(kept);
  return r;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('hand-computed cases', () => {
  it('one-hot loss is −ln p(argmax)', () => {
    const logits = tf.tensor2d([[0, Math.log(3)], [Math.log(4), 0]]);
    // p = [1/4, 3/4] → −ln(3/4); p = [4/5, 1/5] → −ln(4/5)
    expectClose(val(noLeak(() => L.oneHotLoss(logits))), (-Math.log(3 / 4) - Math.log(4 / 5)) / 2);
  });

  it('information entropy: uniform mean prediction gives −ln K, DAFL uses log10', () => {
    const logits = tf.tensor2d([[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5]]);
    expectClose(val(noLeak(() => L.informationEntropyLoss(logits))), -Math.log(4));
    expectClose(val(L.informationEntropyLoss(logits, 10)), -Math.log10(4));
    // a collapsed batch (every sample the same class) has a much larger (less negative) value
    const collapsed = tf.tensor2d([[5, 0, 0, 0], [5, 0, 0, 0]]);
    expect(val(L.informationEntropyLoss(collapsed))).toBeGreaterThan(-Math.log(4) + 0.5);
  });

  it('diversity seeking is ‖p2−p1‖/‖x2−x1‖', () => {
    const x1 = tf.zeros([1, 2, 2, 1]);
    const x2 = tf.ones([1, 2, 2, 1]); // ‖x2−x1‖ = 2
    const p1 = tf.tensor2d([[1, 0]]);
    const p2 = tf.tensor2d([[0, 1]]); // ‖p2−p1‖ = √2
    expectClose(val(noLeak(() => L.diversitySeekingLoss(x1, x2, p1, p2))), Math.SQRT2 / 2);
  });

  it('exponential increments: exp(0) + exp(0) + ds when the snapshot equals the current terms', () => {
    const total = noLeak(() => L.exponentialIncrementLoss(tf.scalar(0.3), tf.scalar(-2), tf.scalar(0.25), { oh: 0.3, ie: -2 }), 4);
    expectClose(val(total), 2.25);
    expectClose(val(L.exponentialIncrementLoss(tf.scalar(1), tf.scalar(1), tf.scalar(0), L.INITIAL_SNAPSHOT)), 2 * Math.E);
  });

  it('the snapshot is refreshed only at iteration 1 of an epoch', () => {
    let snap = L.INITIAL_SNAPSHOT;
    snap = L.refreshSnapshot(0, snap, 5, 6);
    expect(snap).toEqual({ oh: 0, ie: 0 });
    snap = L.refreshSnapshot(1, snap, 1.5, -2.5);
    expect(snap).toEqual({ oh: 1.5, ie: -2.5 });
    snap = L.refreshSnapshot(2, snap, 9, 9);
    expect(snap).toEqual({ oh: 1.5, ie: -2.5 });
  });

  it('mode seeking is 1/(mean|Δg|/mean|Δz| + 1e-5)', () => {
    const g1 = tf.zeros([2, 2]);
    const g2 = tf.ones([2, 2]);
    const z1 = tf.zeros([2, 3]);
    const z2 = tf.fill([2, 3], -2);
    expectClose(val(noLeak(() => L.modeSeekingLoss(g1, g2, z1, z2))), 1 / (0.5 + 1e-5));
  });

  it('DAFL activation loss is −mean|f|', () => {
    const f = tf.tensor2d([[-1, 2], [-3, 4]]);
    expectClose(val(noLeak(() => L.activationLoss(f))), -2.5);
  });

  it('KD loss is 0 for equal logits and scales with τ²', () => {
    const t = tf.tensor2d([[1, 2, 3], [0, -1, 4]]);
    const s = tf.tensor2d([[3, 2, 1], [1, 1, 1]]);
    expectClose(val(L.kdLoss(t, t, 4)), 0, 0, 1e-6);
    const k1 = val(L.kdLoss(tf.div(t, 4) as tf.Tensor2D, tf.div(s, 4) as tf.Tensor2D, 1));
    expectClose(val(noLeak(() => L.kdLoss(t, s, 4))), 16 * k1);
    expectClose(val(L.kdLoss(t, s, 4, false)), k1);
    // hand value for one row: q = softmax([0, ln 3]) = [1/4, 3/4], p = [1/2, 1/2]
    const q = [0.25, 0.75];
    const kl = q[0]! * Math.log(q[0]! / 0.5) + q[1]! * Math.log(q[1]! / 0.5);
    expectClose(val(L.kdLoss(tf.tensor2d([[0, Math.log(3)]]), tf.tensor2d([[7, 7]]), 1)), kl);
  });

  it('KD sends no gradient into the teacher logits', () => {
    const t = tf.tensor2d([[1, 2, 3]]);
    const s = tf.tensor2d([[3, 2, 1]]);
    const [gt, gs] = tf.grads((a: tf.Tensor, b: tf.Tensor) => L.kdLoss(a as tf.Tensor2D, b as tf.Tensor2D, 2))([t, s]);
    expect(Array.from(gt!.dataSync())).toEqual([0, 0, 0]);
    expect(Math.max(...Array.from(gs!.dataSync()).map(Math.abs))).toBeGreaterThan(0);
  });

  it('attention map: mean of squares over channels, L2-normalised per sample', () => {
    // one sample, 2×2 spatial, 2 channels: squares mean = [ (1+1)/2, (4+0)/2, 0, 0 ] = [1, 2, 0, 0]
    const act = tf.tensor4d([1, -1, 2, 0, 0, 0, 0, 0], [1, 2, 2, 2]);
    const a = noLeak(() => L.attentionMap(act));
    expect(Array.from(a.dataSync()).map((v) => +v.toFixed(6))).toEqual([1 / Math.sqrt(5), 2 / Math.sqrt(5), 0, 0].map((v) => +v.toFixed(6)));
    expectClose(val(L.attentionTransferLoss([act], [act], 250)), 0, 0, 1e-9);
  });

  it('total variation: 0 on a constant image; 2 + 2√2 on a unit ramp along W (2×3)', () => {
    expectClose(val(L.totalVariationLoss(tf.fill([1, 4, 4, 3], 0.7) as tf.Tensor4D)), 0, 0, 1e-6);
    const ramp = tf.tensor4d([0, 1, 2, 0, 1, 2], [1, 2, 3, 1]);
    expectClose(val(noLeak(() => L.totalVariationLoss(ramp))), 2 + 2 * Math.SQRT2);
    // along H instead: diff1 = 0, diff2 = 3 entries of −1 (√3), diagonals 2 entries each (√2, √2)
    const rampH = tf.tensor4d([0, 0, 0, 1, 1, 1], [1, 2, 3, 1]);
    expectClose(val(L.totalVariationLoss(rampH)), Math.sqrt(3) + 2 * Math.SQRT2);
  });

  it('BN feature term is 0 when the batch statistics equal the running ones', () => {
    // channel 0 values {1, 3} (mean 2, biased var 1), channel 1 values {0, 0}
    const x = tf.tensor4d([1, 0, 3, 0], [2, 1, 1, 2]);
    const [rm, rv] = [tf.tensor1d([2, 0]), tf.tensor1d([1, 0])];
    expectClose(val(noLeak(() => L.bnFeatureLoss(x, rm, rv))), 0, 0, 1e-6);
    // off by 3 in one mean and 4 in one variance → 3 + 4
    expectClose(val(L.bnFeatureLoss(x, tf.tensor1d([5, 0]), tf.tensor1d([5, 0]))), 7);
  });

  it('ADI competition: identical nets give 1 − 0 = 1', () => {
    const t = tf.tensor2d([[1, 2, 3], [3, 1, 0]]);
    expectClose(val(noLeak(() => L.adiCompetitionLoss(t, t))), 1);
  });

  it('roll2d matches torch.roll on H and W', () => {
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5], [1, 2, 3, 1]);
    expect(Array.from(L.roll2d(x, 0, 1).dataSync())).toEqual([2, 0, 1, 5, 3, 4]);
    expect(Array.from(L.roll2d(x, 1, -1).dataSync())).toEqual([4, 5, 3, 1, 2, 0]);
    expect(Array.from(L.roll2d(x, 2, 3).dataSync())).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('class similarity of orthogonal class vectors is the identity', () => {
    const w = tf.tensor2d([[2, 0, 0], [0, 3, 0], [0, 0, 0.5]]);
    expect(Array.from(noLeak(() => L.classSimilarity(w)).dataSync()).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('Dirichlet concentration applies β (the paper); the reference bug cancels it', () => {
    const row = [0, 0.5, 1];
    L.dirichletConcentration(row, 0.1).forEach((v, i) => expectClose(v, [1e-4, 0.0501, 0.1001][i]!));
    L.dirichletConcentration(row, 0.1, true).forEach((v, i) => expectClose(v, [1e-4, 0.5001, 1.0001][i]!));
    expect(L.dirichletConcentration(row, 0.1, true)).toEqual(L.dirichletConcentration(row, 1, true));
  });

  it('Dirichlet draws: rows sum to 1, mean ≈ α/Σα, tiny α stays finite', () => {
    const rng = mulberry32(7);
    const alpha = [1, 2, 3, 4];
    const n = 4000;
    const mean = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const d = dirichlet(rng, alpha);
      expectClose(d.reduce((a, b) => a + b, 0), 1, 1e-12);
      d.forEach((v, k) => (mean[k]! += v / n));
    }
    mean.forEach((m, k) => expect(Math.abs(m - alpha[k]! / 10)).toBeLessThan(0.01));
    const tiny = dirichlet(rng, [1e-4, 1e-4, 0.1001]);
    expect(tiny.every(Number.isFinite)).toBe(true);
    expectClose(tiny.reduce((a, b) => a + b, 0), 1, 1e-12);
  });

  it('soft-target CE at τ', () => {
    // uniform logits → −Σ y ln(1/K) = ln K whatever y
    const [logits, y] = [tf.zeros([2, 4]) as tf.Tensor2D, tf.tensor2d([[1, 0, 0, 0], [0.5, 0.5, 0, 0]])];
    expectClose(val(noLeak(() => L.zskdImpressionLoss(logits, y))), Math.log(4));
  });

  it('clipGradNorm scales like torch clip_grad_norm_', () => {
    const { grads, norm } = L.clipGradNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }, 1);
    expectClose(norm, 5);
    expectClose(val(grads.a!), 0.6 * (5 / (5 + 1e-6)));
    const small = L.clipGradNorm({ a: tf.tensor1d([0.3]) }, 1);
    expectClose(val(small.grads.a!), 0.3);
  });

  it('cosine annealing', () => {
    expectClose(L.cosineAnnealing(0.1, 0, 100), 0.1);
    expectClose(L.cosineAnnealing(0.1, 50, 100), 0.05);
    expectClose(L.cosineAnnealing(0.1, 100, 100), 0, 0, 1e-12);
  });
});

describe('against PyTorch (tests/fixtures/losses.json)', () => {
  it('RDSKD terms, total and gradients', () => {
    const c = fx.rdskd;
    const x = T<tf.Rank.R4>(c.x);
    const logits = T<tf.Rank.R2>(c.logits);
    const snap = { oh: c.oh_prev, ie: c.ie_prev };
    const terms = noLeak(() => L.rdskdGeneratorTerms(x, logits, snap), 4);
    expectClose(val(terms.oh), c.oh);
    expectClose(val(terms.ie), c.ie);
    expectClose(val(terms.ds), c.ds);
    expectClose(val(terms.total), c.total);
    tf.dispose([terms.oh, terms.ie, terms.ds, terms.total]);
    const [gx, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => L.rdskdGeneratorTerms(a, b as tf.Tensor2D, snap).total)([x, logits]);
    expectArrayClose(gx!, c.grad_total_x);
    expectArrayClose(gt!, c.grad_total_logits);
    const [gdx, gdt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => L.rdskdGeneratorTerms(a, b as tf.Tensor2D, snap).ds)([x, logits]);
    expectArrayClose(gdx!, c.grad_ds_x);
    expectArrayClose(gdt!, c.grad_ds_logits);
  });

  it('MSKD mode-seeking term and gradient', () => {
    const c = fx.mskd;
    const [g1, g2, z1, z2] = [T(c.g1), T(c.g2), T(c.z1), T(c.z2)];
    expectClose(val(L.modeSeekingLoss(g1, g2, z1, z2)), c.ms);
    expectArrayClose(tf.grad((a: tf.Tensor) => L.modeSeekingLoss(a, g2, z1, z2))(g1), c.grad_g1);
  });

  it('DAFL generator terms, student KD and gradients', () => {
    const c = fx.dafl;
    const t = T<tf.Rank.R2>(c.logits);
    const f = T(c.features);
    const s = T<tf.Rank.R2>(c.student);
    const terms = noLeak(() => L.daflGeneratorTerms(t, f, c.weights), 4);
    expectClose(val(terms.oh), c.oh);
    expectClose(val(terms.ie), c.ie);
    expectClose(val(terms.a), c.a);
    expectClose(val(terms.total), c.total);
    expectClose(val(L.daflStudentLoss(t, s)), c.kd);
    const [gt, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => L.daflGeneratorTerms(a as tf.Tensor2D, b, c.weights).total)([t, f]);
    expectArrayClose(gt!, c.grad_total_logits);
    expectArrayClose(gf!, c.grad_total_features);
    expectArrayClose(tf.grad((a: tf.Tensor) => L.daflStudentLoss(t, a as tf.Tensor2D))(s), c.grad_kd_student);
  });

  it('KD at τ = 10 with τ²', () => {
    const c = fx.kd;
    const t = T<tf.Rank.R2>(c.teacher);
    const s = T<tf.Rank.R2>(c.student);
    expectClose(val(L.kdLoss(t, s, c.tau)), c.kd);
    expectArrayClose(tf.grad((a: tf.Tensor) => L.kdLoss(t, a as tf.Tensor2D, c.tau))(s), c.grad_student);
  });

  it('ZSKT divergence (both reductions), generator loss, attention transfer', () => {
    const c = fx.zskt;
    const t = T<tf.Rank.R2>(c.teacher);
    const s = T<tf.Rank.R2>(c.student);
    expectClose(val(L.zsktDivergence(t, s)), c.div_elementwise);
    expectClose(val(L.zsktDivergence(t, s, 1, 'batchmean')), c.div_batchmean);
    expectClose(val(L.zsktGeneratorLoss(t, s)), c.generator);
    const [gt, gs] = tf.grads((a: tf.Tensor, b: tf.Tensor) => L.zsktGeneratorLoss(a as tf.Tensor2D, b as tf.Tensor2D))([t, s]);
    expectArrayClose(gt!, c.grad_generator_teacher);
    expectArrayClose(gs!, c.grad_generator_student);
    const sActs = (c.student_acts as Arr[]).map((a) => T<tf.Rank.R4>(a));
    const tActs = (c.teacher_acts as Arr[]).map((a) => T<tf.Rank.R4>(a));
    expectArrayClose(L.attentionMap(sActs[0]!), c.attention0, 1e-5);
    expectClose(val(noLeak(() => L.attentionTransferLoss(sActs, tActs, c.beta))), c.at);
    const grads = tf.grads((...xs: tf.Tensor[]) => L.attentionTransferLoss(xs as tf.Tensor4D[], tActs, c.beta))(sActs);
    grads.forEach((g, i) => expectArrayClose(g, c.grad_at_student_acts[i]));
    const parts = L.zsktStudentLoss(t, s, tActs, sActs, c.beta);
    expectClose(val(parts.total), c.div_elementwise + c.at);
  });

  it('DeepInversion BN statistics, TV, L2, roll, ADI, CE', () => {
    const c = fx.deepinversion;
    const inp = T<tf.Rank.R4>(c.bn_input);
    const rm = T<tf.Rank.R1>(c.running_mean);
    const rv = T<tf.Rank.R1>(c.running_var);
    expectClose(val(L.bnFeatureLoss(inp, rm, rv)), c.r_feature);
    expectArrayClose(tf.grad((a: tf.Tensor) => L.bnFeatureLoss(a, rm, rv))(inp), c.grad_r_feature_input);
    expectClose(val(L.bnFeatureLossSum([{ input: inp, runningMean: rm, runningVar: rv }, { input: inp, runningMean: rm, runningVar: rv }])), 2 * c.r_feature);
    const x = T<tf.Rank.R4>(c.x);
    expectClose(val(L.totalVariationLoss(x)), c.tv);
    expectArrayClose(tf.grad((a: tf.Tensor) => L.totalVariationLoss(a as tf.Tensor4D))(x), c.grad_tv_x);
    expectClose(val(L.l2PriorLoss(x)), c.l2);
    expectArrayClose(L.roll2d(x, c.roll.dy, c.roll.dx), c.roll.result, 1e-7);
    const t = T<tf.Rank.R2>(c.teacher);
    const s = T<tf.Rank.R2>(c.student);
    expectClose(val(L.adiCompetitionLoss(t, s)), c.adi);
    const [gt, gs] = tf.grads((a: tf.Tensor, b: tf.Tensor) => L.adiCompetitionLoss(a as tf.Tensor2D, b as tf.Tensor2D))([t, s]);
    expectArrayClose(gt!, c.grad_adi_teacher);
    expectArrayClose(gs!, c.grad_adi_student);
    expectClose(val(L.crossEntropy(t, tf.tensor1d(c.labels, 'int32'))), c.ce);
  });

  it('ZSKD class similarity and CE at τ = 20', () => {
    const c = fx.zskd;
    expectArrayClose(L.classSimilarity(T(c.W)), c.similarity, 1e-5);
    const logits = T<tf.Rank.R2>(c.logits);
    const y = T<tf.Rank.R2>(c.targets);
    expectClose(val(L.zskdImpressionLoss(logits, y, 20)), c.ce20);
    expectArrayClose(tf.grad((a: tf.Tensor) => L.zskdImpressionLoss(a as tf.Tensor2D, y, 20))(logits), c.grad_ce20);
  });
});

describe('gradients against finite differences', () => {
  /** Central differences of f at a few coordinates of x, compared with tf.grad. */
  function checkFd(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, coords: number[], eps = 1e-2, rtol = 2e-2): void {
    const g = tf.grad(f)(x).dataSync();
    const base = x.dataSync();
    for (const i of coords) {
      const plus = Float32Array.from(base);
      const minus = Float32Array.from(base);
      plus[i]! += eps;
      minus[i]! -= eps;
      const fp = tf.tidy(() => val(f(tf.tensor(plus, x.shape))));
      const fm = tf.tidy(() => val(f(tf.tensor(minus, x.shape))));
      const fd = (fp - fm) / (2 * eps);
      expect(Math.abs(fd - g[i]!)).toBeLessThanOrEqual(rtol * Math.max(Math.abs(fd), Math.abs(g[i]!)) + 1e-4);
    }
  }

  it('diversity-seeking term w.r.t. the images and the logits', () => {
    const c = fx.rdskd;
    const x = T(c.x);
    const logits = T<tf.Rank.R2>(c.logits);
    const dsOf = (xx: tf.Tensor, ll: tf.Tensor2D) => L.rdskdGeneratorTerms(xx, ll, L.INITIAL_SNAPSHOT).ds;
    checkFd((a) => dsOf(a, logits), x, [0, 5, 17, 40, 100]);
    checkFd((a) => dsOf(x, a as tf.Tensor2D), logits, [0, 3, 11, 22, 39]);
  });

  it('RDSKD total w.r.t. the logits, DAFL total w.r.t. features, ZSKT attention', () => {
    const r = fx.rdskd;
    const x = T(r.x);
    checkFd((a) => L.rdskdGeneratorTerms(x, a as tf.Tensor2D, { oh: r.oh_prev, ie: r.ie_prev }).total, T(r.logits), [1, 7, 20, 33]);
    const d = fx.dafl;
    const t = T<tf.Rank.R2>(d.logits);
    checkFd((a) => L.daflGeneratorTerms(t, a, d.weights).total, T(d.features), [0, 13, 50]);
    const z = fx.zskt;
    const tAct = T<tf.Rank.R4>(z.teacher_acts[0]);
    checkFd((a) => L.attentionTransferLoss([a as tf.Tensor4D], [tAct], z.beta), T(z.student_acts[0]), [0, 9, 30, 77], 1e-2, 3e-2);
  });
});

describe('memory', () => {
  it('no loss term leaks tensors', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([4, 4, 4, 2]);
    const t = tf.randomNormal([4, 3]) as tf.Tensor2D;
    const s = tf.randomNormal([4, 3]) as tf.Tensor2D;
    const results = [
      L.oneHotLoss(t),
      L.informationEntropyLoss(t, 10),
      L.kdLoss(t, s, 10),
      L.zsktDivergence(t, s),
      L.adiCompetitionLoss(t, s),
      L.totalVariationLoss(x as tf.Tensor4D),
      L.bnFeatureLoss(x, tf.zeros([2]) as tf.Tensor1D, tf.ones([2]) as tf.Tensor1D),
      L.attentionTransferLoss([x as tf.Tensor4D], [x as tf.Tensor4D]),
      L.roll2d(x as tf.Tensor4D, 1, 1),
    ];
    const g = tf.grad((a: tf.Tensor) => L.rdskdGeneratorTerms(a, t, L.INITIAL_SNAPSHOT).total)(x);
    tf.dispose([...results, g, x, t, s]);
    // the zeros/ones given to bnFeatureLoss above are the only leftovers
    expect(tf.memory().numTensors - before).toBe(2);
  });
});
