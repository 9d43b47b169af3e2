import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { teacherHandlers, flattenConfig, hasHelp, methodHyperParameters, resolveTeacher } from '../../src-main/node/teachers.ts';
import { EngineHost } from '../../src-main/node/host.ts';
import { buildLeNet5, buildLeNet5Half, buildWideResNet, saveModel, type TeacherManifest } from '../../src-main/engine/models/index.ts';
import { METHODS, METHOD_IDS } from '../../src-main/engine/methods/index.ts';
import type { TeacherInfo } from '../../src-main/common/contract.ts';
import { tempDirs } from '../temp-dirs.ts';

type Dropped = { name: string; base64: string };

const tmp = tempDirs('distillery-teachers-');
const root = tmp();
const bundledDir = join(root, 'bundled');
const dataDir = join(root, 'data');
const importedDir = join(dataDir, 'teachers');

function manifestFor(model: tf.LayersModel, dataset = 'mnist'): TeacherManifest {
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  const k = model.outputs[0]!.shape[1] as number;
  return {
    format: 'distillery-teacher',
    version: 1,
    name: model.name,
    architecture: 'lenet5',
    dataset: { name: dataset },
    inputShape: [h!, w!, c!],
    numClasses: k,
    classNames: Array.from({ length: k }, (_, i) => `class ${i}`),
    output: 'logits',
    preprocessing: { scale: 1 / 255, mean: [0.5], std: [0.5] },
  };
}

/** Saves a model (with or without a manifest) and returns its files as the renderer sends them. */
async function saveAndRead(model: tf.LayersModel, dir: string, withManifest: boolean): Promise<Dropped[]> {
  await saveModel(model, dir, withManifest ? { manifest: manifestFor(model) } : {});
  return readdirSync(dir).map((name) => ({ name, base64: readFileSync(join(dir, name)).toString('base64') }));
}

function importedEntries(): string[] {
  return existsSync(importedDir) ? readdirSync(importedDir) : [];
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('teacher handlers', () => {
  const handlers = teacherHandlers({ dataDir, bundledDir });
  let lenet: tf.LayersModel;
  let lenetFiles: Dropped[];
  let bareFiles: Dropped[];

  beforeAll(async () => {
    mkdirSync(bundledDir, { recursive: true });
    lenet = buildLeNet5({ inputShape: [32, 32, 1], numClasses: 10 });
    lenetFiles = await saveAndRead(lenet, join(bundledDir, 'lenet5-test'), true);
    bareFiles = await saveAndRead(buildLeNet5({ inputShape: [28, 28, 1], numClasses: 10, name: 'my-lenet' }), join(root, 'bare'), false);
  });

  it('lists and inspects the bundled teacher', async () => {
    const list = await handlers.listTeachers({});
    expect(list.map((t) => [t.id, t.source])).toEqual([['lenet5-test', 'bundled']]);
    const info = await handlers.inspectTeacher({ teacherId: 'lenet5-test' });
    expect(info.inputShape).toEqual([32, 32, 1]);
    expect(info.numClasses).toBe(10);
    expect(info.params).toBe(lenet.countParams());
    expect(info.bytes).toBe(lenet.countParams() * 4);
    expect(info.hasBatchNorm).toBe(false);
    expect(info.layers.map((l) => l.name)).toEqual(lenet.layers.map((l) => l.name));
    expect(info.layers.reduce((s, l) => s + l.params, 0)).toBe(lenet.countParams());
    expect(info.manifest).toMatchObject({ dataset: 'mnist', classNames: manifestFor(lenet).classNames });
  });

  it('imports dropped files into the data folder and lists them', async () => {
    const info = await handlers.importTeacher({ files: lenetFiles });
    expect(info.source).toBe('imported');
    expect(info.params).toBe(lenet.countParams());
    expect(info.manifest?.dataset).toBe('mnist');
    const dir = join(importedDir, info.id);
    expect(readdirSync(dir).sort()).toEqual(lenetFiles.map((f) => f.name).sort());
    expect(importedEntries().filter((n) => n.startsWith('.'))).toEqual([]); // no temporary folder left
    expect((await handlers.listTeachers({})).map((t) => t.id)).toContain(info.id);
    expect(resolveTeacher({ dataDir, bundledDir }, info.id).dir).toBe(dir);
  });

  it('asks for a manifest when there is none, and saves the one entered beside the model', async () => {
    const info = await handlers.importTeacher({ files: bareFiles });
    expect(info.manifest).toBeNull();
    expect(info.inputShape).toEqual([28, 28, 1]);
    const classNames = Array.from({ length: 10 }, (_, i) => `digit ${i}`);
    const wrong = await rejection(handlers.saveTeacherManifest({ teacherId: info.id, manifest: { dataset: 'mnist', preprocessing: { scale: 1 / 255, mean: [0.1], std: [0.3] }, classNames: classNames.slice(0, 3) } }));
    expect(wrong.code).toBe('BAD_INPUT');
    expect(wrong.message).toMatch(/3 class names .* 10 classes/);
    expect(existsSync(join(importedDir, info.id, 'manifest.json'))).toBe(false);
    const saved = await handlers.saveTeacherManifest({ teacherId: info.id, manifest: { dataset: 'mnist', preprocessing: { scale: 1 / 255, mean: [0.1307], std: [0.3081] }, classNames } });
    expect(saved.manifest).toEqual({ dataset: 'mnist', preprocessing: { scale: 1 / 255, mean: [0.1307], std: [0.3081] }, classNames });
    const onDisk = JSON.parse(readFileSync(join(importedDir, info.id, 'manifest.json'), 'utf8')) as TeacherManifest;
    expect(onDisk).toMatchObject({ format: 'distillery-teacher', inputShape: [28, 28, 1], numClasses: 10, classNames, output: 'logits' });
    expect((await handlers.inspectTeacher({ teacherId: info.id })).manifest?.classNames).toEqual(classNames);
  });

  it('never writes a manifest into the bundled teachers', async () => {
    const before = readFileSync(join(bundledDir, 'lenet5-test', 'manifest.json'), 'utf8');
    const error = await rejection(
      handlers.saveTeacherManifest({ teacherId: 'lenet5-test', manifest: { dataset: 'x', preprocessing: { scale: 1, mean: [0], std: [1] }, classNames: Array.from({ length: 10 }, (_, i) => String(i)) } }),
    );
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toContain('bundled');
    expect(readFileSync(join(bundledDir, 'lenet5-test', 'manifest.json'), 'utf8')).toBe(before);
  });

  describe('rejects a model it cannot use, with a clear message, writing nothing', () => {
    const cases: [string, () => Dropped[], RegExp][] = [
      ['malformed model.json', () => [{ name: 'model.json', base64: Buffer.from('{"modelTopology": {').toString('base64') }], /model\.json is not valid JSON/],
      ['a JSON file that is not a model', () => [{ name: 'model.json', base64: Buffer.from('{"hello": 1}').toString('base64') }], /no modelTopology/],
      ['no model.json at all', () => lenetFiles.filter((f) => f.name.endsWith('.bin')), /no model\.json among the dropped files \(weights\.[0-9a-f]+\.bin\)/],
      ['a missing weights file', () => lenetFiles.filter((f) => !f.name.endsWith('.bin')), /the weights file weights\.[0-9a-f]+\.bin named in model\.json is missing/],
      [
        'a truncated weights file',
        () => lenetFiles.map((f) => (f.name.endsWith('.bin') ? { name: f.name, base64: Buffer.from(f.base64, 'base64').subarray(0, 1000).toString('base64') } : f)),
        /holds 1000 bytes where model\.json describes \d+/,
      ],
      [
        'a graph model',
        () => [{ name: 'model.json', base64: Buffer.from(JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] })).toString('base64') }],
        /graph model/,
      ],
      [
        'a manifest that does not match the model',
        () => lenetFiles.map((f) => (f.name === 'manifest.json' ? { name: f.name, base64: Buffer.from(JSON.stringify({ ...manifestFor(lenet), numClasses: 5, classNames: ['a', 'b', 'c', 'd', 'e'] })).toString('base64') } : f)),
        /manifest\.json says 5 classes but the model gives 10/,
      ],
      ['bytes that are not base64', () => [{ name: 'model.json', base64: '%%%' }], /invalid base64/],
    ];
    for (const [what, files, message] of cases) {
      it(what, async () => {
        const before = importedEntries();
        const error = await rejection(handlers.importTeacher({ files: files() }));
        expect(['BAD_MODEL', 'BAD_INPUT']).toContain(error.code);
        expect(error.message).toMatch(message);
        expect(importedEntries()).toEqual(before);
      });
    }

    it('a model whose input is not an image', async () => {
      const input = tf.input({ shape: [784] });
      const flat = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 10 }).apply(input) as tf.SymbolicTensor });
      const files = await saveAndRead(flat, join(root, 'flat'), false);
      const before = importedEntries();
      const error = await rejection(handlers.importTeacher({ files }));
      expect(error.code).toBe('BAD_MODEL');
      expect(error.message).toMatch(/takes inputs of shape \[784\], not an image/);
      expect(importedEntries()).toEqual(before);
    });

    it('a model whose output is not one score per class', async () => {
      const input = tf.input({ shape: [16, 16, 1] });
      const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
      const files = await saveAndRead(tf.model({ inputs: input, outputs: conv }), join(root, 'conv'), false);
      const error = await rejection(handlers.importTeacher({ files }));
      expect(error.code).toBe('BAD_MODEL');
      expect(error.message).toMatch(/outputs of shape \[14, 14, 2\].*one score per class/);
    });
  });

  it('refuses ids that would leave the teachers folders', async () => {
    for (const id of ['../data', '..', 'a/b', '/etc', 'x/../../y', '.hidden']) {
      const error = await rejection(handlers.inspectTeacher({ teacherId: id }));
      expect(error.code).toBe('BAD_INPUT');
    }
    const outside = tmp();
    await saveAndRead(buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10 }), outside, true);
    mkdirSync(importedDir, { recursive: true });
    symlinkSync(outside, join(importedDir, 'linked'));
    const linked = await rejection(handlers.inspectTeacher({ teacherId: 'linked' }));
    expect(linked.code).toBe('BAD_INPUT');
    expect(linked.message).toContain('outside');
    rmSync(join(importedDir, 'linked'));
  });

  it('sizes the student zoo for the teacher', async () => {
    const students = await handlers.listStudents({ teacherId: 'lenet5-test' });
    const half = students.find((s) => s.id === 'lenet5-half')!;
    const expected = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10 }).countParams();
    expect(half.params).toBe(expected);
    expect(half.bytes).toBe(expected * 4);
    expect(half.compression).toBeCloseTo(lenet.countParams() / expected, 10);
    expect(half.unsuitable).toBeUndefined();
    const same = students.find((s) => s.id === 'lenet5')!;
    expect(same.compression).toBe(1);
    for (const s of students.filter((x) => x.params > lenet.countParams())) expect(s.unsuitable).toMatch(/larger than the teacher/);
    expect(students.some((s) => s.id === 'resnet18' && s.unsuitable)).toBe(true);
  });

  it('lists the methods with the reference defaults and one line of help each', async () => {
    const methods = await handlers.listMethods({ teacherId: 'lenet5-test' });
    expect(methods.map((m) => m.id)).toEqual([...METHOD_IDS]);
    const rdskd = methods.find((m) => m.id === 'rdskd')!;
    expect(rdskd.available).toBe(true);
    expect(Object.fromEntries(rdskd.hyperParameters.map((h) => [h.key, h.value]))).toEqual(Object.fromEntries(flattenConfig(METHODS.rdskd!.defaults('mnist'))));
    expect(rdskd.hyperParameters.find((h) => h.key === 'student.tau')?.help).toMatch(/temperature/i);
    for (const m of methods) expect(m.available).toBe(Boolean(METHODS[m.id]));
    // LeNet-5 has no BatchNorm and no residual groups: the engine runs its recorded variants.
    const fit = (id: string) => methods.find((m) => m.id === id)!.fit;
    expect(fit('deepinversion')).toMatchObject({ kind: 'variant', variant: expect.stringMatching(/without the BatchNorm-statistics term/), reason: expect.stringMatching(/no BatchNorm layer/) });
    expect(fit('zskt')).toMatchObject({ kind: 'variant', variant: 'without attention transfer', reason: expect.stringMatching(/group/) });
    for (const id of ['rdskd', 'dafl', 'mskd', 'zskd']) expect(fit(id), id).toEqual({ kind: 'paper' });
  });

  it('judges the methods with the student too: ZSKT transfers attention only between matching residual groups', async () => {
    const wrn = buildWideResNet({ inputShape: [32, 32, 3], numClasses: 10, depth: 16, widen: 2 });
    const dir = join(bundledDir, 'wrn-fit');
    await saveModel(wrn, dir, { manifest: { ...manifestFor(wrn, 'cifar10'), architecture: 'wrn-16-2', preprocessing: { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } } });
    wrn.dispose();
    const fitOf = async (payload: { student?: string; studentWidth?: number }, id: string) =>
      (await handlers.listMethods({ teacherId: 'wrn-fit', ...payload })).find((m) => m.id === id)!.fit;
    expect(await fitOf({ student: 'wrn-16-1' }, 'zskt')).toEqual({ kind: 'paper' });
    expect(await fitOf({ student: 'wrn-16-1', studentWidth: 0.5 }, 'zskt')).toEqual({ kind: 'paper' }); // width keeps the spatial sizes
    expect(await fitOf({ student: 'resnet18' }, 'zskt')).toMatchObject({ kind: 'variant', reason: expect.stringMatching(/teacher has 3 residual groups, the student 4/) });
    expect(await fitOf({ student: 'lenet5-half' }, 'zskt')).toMatchObject({ kind: 'variant', reason: expect.stringMatching(/the teacher has 3, the student 0/) });
    expect(await fitOf({ student: 'wrn-16-1' }, 'deepinversion')).toEqual({ kind: 'paper' });
    expect(await fitOf({}, 'zskt')).toEqual({ kind: 'paper' }); // the teacher's side only
    await expect(handlers.listMethods({ teacherId: 'wrn-fit', student: 'vgg16' })).rejects.toThrow(/unknown architecture/);
    rmSync(dir, { recursive: true });
  });

  it('says why ZSKD and DAFL cannot run on a teacher without a Dense classifier', async () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 8, name: 'scores' }).apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'flat' }).apply(conv) as tf.SymbolicTensor;
    const convOnly = tf.model({ inputs: input, outputs: flat, name: 'conv-only' });
    const dir = join(bundledDir, 'conv-only');
    await saveModel(convOnly, dir, { manifest: manifestFor(convOnly) });
    convOnly.dispose();
    const methods = await handlers.listMethods({ teacherId: 'conv-only' });
    expect(methods.find((m) => m.id === 'zskd')!.fit).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/final Dense layer/) });
    expect(methods.find((m) => m.id === 'dafl')!.fit).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/no Dense classifier layer/) });
    expect(methods.find((m) => m.id === 'rdskd')!.fit).toEqual({ kind: 'paper' });
    rmSync(dir, { recursive: true });
  });

  it('sizes one architecture at a custom width', async () => {
    const half = await handlers.sizeStudent({ teacherId: 'lenet5-test', student: 'lenet5', width: 0.5 });
    expect(half).toMatchObject({ id: 'lenet5', width: 0.5, params: 15_738, bytes: 15_738 * 4 });
    expect(half.compression).toBeCloseTo(lenet.countParams() / 15_738, 10);
    expect(half.unsuitable).toBeUndefined();
    const double = await handlers.sizeStudent({ teacherId: 'lenet5-test', student: 'lenet5-half', width: 2 });
    expect(double.params).toBe(lenet.countParams());
    const big = await handlers.sizeStudent({ teacherId: 'lenet5-test', student: 'lenet5', width: 1.5 });
    expect(big.unsuitable).toMatch(/larger than the teacher/);
    // Too large to build just to count: estimated from the zoo's count, and said so.
    const huge = await handlers.sizeStudent({ teacherId: 'lenet5-test', student: 'resnet34', width: 4 });
    expect(huge.approximate).toBe(true);
    expect(huge.params).toBeGreaterThan(300_000_000);
    await expect(handlers.sizeStudent({ teacherId: 'lenet5-test', student: 'nope', width: 1 })).rejects.toThrow(/unknown architecture/);
  });

  it('has written a help line for every hyper-parameter of every implemented method', () => {
    for (const id of METHOD_IDS) {
      if (!METHODS[id]) continue;
      for (const dataset of ['mnist', 'svhn', 'cifar10'] as const) {
        const missing = methodHyperParameters(id, dataset).filter((h) => !hasHelp(id, h.key)).map((h) => h.key);
        expect(missing, `${id} on ${dataset}`).toEqual([]);
      }
    }
  });

  it('uses the defaults of the teacher\'s dataset', async () => {
    const wrn = buildWideResNet({ inputShape: [32, 32, 3], numClasses: 10, depth: 16, widen: 1 });
    const dir = join(bundledDir, 'wrn-cifar');
    await saveModel(wrn, dir, { manifest: { ...manifestFor(wrn, 'cifar10'), architecture: 'wrn-16-1', preprocessing: { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } } });
    const info: TeacherInfo = await handlers.inspectTeacher({ teacherId: 'wrn-cifar' });
    expect(info.hasBatchNorm).toBe(true);
    const methods = await handlers.listMethods({ teacherId: 'wrn-cifar' });
    expect(methods.find((m) => m.id === 'deepinversion')!.fit).toEqual({ kind: 'paper' });
    expect(methods.find((m) => m.id === 'zskt')!.fit).toEqual({ kind: 'paper' });
    const rdskd = methods.find((m) => m.id === 'rdskd')!;
    expect(Object.fromEntries(rdskd.hyperParameters.map((h) => [h.key, h.value]))).toEqual(Object.fromEntries(flattenConfig(METHODS.rdskd!.defaults('cifar10'))));
    wrn.dispose();
    rmSync(dir, { recursive: true });
  });

  it('keeps listing the others when one teacher folder is broken', async () => {
    mkdirSync(join(importedDir, 'broken'), { recursive: true });
    writeFileSync(join(importedDir, 'broken', 'model.json'), '{');
    const ids = (await handlers.listTeachers({})).map((t) => t.id);
    expect(ids).toContain('lenet5-test');
    expect(ids).not.toContain('broken');
    const error = await rejection(handlers.inspectTeacher({ teacherId: 'broken' }));
    expect(error.code).toBe('BAD_MODEL');
    rmSync(join(importedDir, 'broken'), { recursive: true });
  });
});

describe('EngineHost validation of the teacher requests', () => {
  const host = new EngineHost({ dataDir: tmp() });

  const expectBadInput = async (name: string, payload: unknown, pattern?: RegExp): Promise<void> => {
    const result = await host.dispatch(name, payload);
    expect(result.ok, JSON.stringify(payload)).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('BAD_INPUT');
      if (pattern) expect(result.error.message).toMatch(pattern);
    }
  };

  it('rejects path-like ids before any handler runs', async () => {
    await expectBadInput('inspectTeacher', { teacherId: '../../etc' }, /teacherId/);
    await expectBadInput('inspectTeacher', { teacherId: 'a/b' }, /no path separators/);
    await expectBadInput('inspectTeacher', { teacherId: '..' });
    await expectBadInput('listStudents', { teacherId: '/abs' });
    await expectBadInput('saveTeacherManifest', { teacherId: 'x\\y', manifest: { dataset: 'd', preprocessing: { scale: 1, mean: [0], std: [1] }, classNames: ['a', 'b'] } });
  });

  it('rejects malformed import payloads', async () => {
    await expectBadInput('importTeacher', {}, /files/);
    await expectBadInput('importTeacher', { files: [] });
    await expectBadInput('importTeacher', { files: 'model.json' });
    await expectBadInput('importTeacher', { files: [{ name: '../model.json', base64: '' }] }, /a file name, not a path/);
    await expectBadInput('importTeacher', { files: [{ name: 'model.json', base64: '', path: '/etc/passwd' }] });
    await expectBadInput('importTeacher', { files: [{ name: 'model.json' }] });
  });

  it('rejects manifests of the wrong shape and unknown keys', async () => {
    await expectBadInput('saveTeacherManifest', { teacherId: 'x', manifest: { dataset: 'd', preprocessing: { scale: 0, mean: [0], std: [1] }, classNames: ['a', 'b'] } });
    await expectBadInput('saveTeacherManifest', { teacherId: 'x', manifest: { dataset: 'd', preprocessing: { scale: 1, mean: [0], std: [1] }, classNames: ['a'] } });
    await expectBadInput('listMethods', { teacherId: 'x', extra: true });
  });

  it.each([[0], [-1], [4.5], [Number.NaN], ['2'], [null]])('rejects the student width %j', async (width) => {
    await expectBadInput('sizeStudent', { teacherId: 'lenet5-mnist', student: 'lenet5', width }, /width/);
    await expectBadInput('startRun', { teacherId: 'lenet5-mnist', student: 'lenet5', method: 'rdskd', studentWidth: width }, /studentWidth/);
    await expectBadInput('listMethods', { teacherId: 'lenet5-mnist', student: 'lenet5', studentWidth: width }, /studentWidth/);
  });

  it('answers an unknown teacher with NOT_FOUND', async () => {
    const result = await host.dispatch('inspectTeacher', { teacherId: 'nobody-here' });
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

describe('opening a teacher with the system dialog (desktop app)', () => {
  const home = tmp();
  const modelDir = join(home, 'picked', 'my-model');
  const outside = join(home, 'elsewhere');
  let answer: string | null = null;
  const asked: string[] = [];
  const host = new EngineHost({
    dataDir: join(home, 'data'),
    openTeacherDialog: async (select) => {
      asked.push(select);
      return answer;
    },
  });
  const stored = (): string[] => (existsSync(join(home, 'data', 'teachers')) ? readdirSync(join(home, 'data', 'teachers')) : []);

  beforeAll(async () => {
    const model = buildLeNet5Half({ inputShape: [32, 32, 1], numClasses: 10, name: 'picked-lenet' });
    await saveModel(model, modelDir, { manifest: manifestFor(model) });
    model.dispose();
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(modelDir, 'unrelated.bin'), 'not a weight file');
  });

  it('answers unavailable without a dialog (browser mode), and validates the payload first', async () => {
    const browser = new EngineHost({ dataDir: join(home, 'browser-data') });
    expect(await browser.dispatch('openTeacher', { select: 'folder' })).toEqual({ ok: true, value: { outcome: 'unavailable' } });
    for (const payload of [{}, { select: 'anything' }, { select: 'folder', path: '/etc' }]) {
      expect(await host.dispatch('openTeacher', payload)).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    }
    expect(asked).toEqual([]);
  });

  it('stores nothing when the dialog is cancelled', async () => {
    answer = null;
    expect(await host.dispatch('openTeacher', { select: 'modelFile' })).toEqual({ ok: true, value: { outcome: 'cancelled' } });
    expect(asked).toEqual(['modelFile']);
    expect(stored()).toEqual([]);
  });

  it('imports the chosen folder, or the chosen model.json with the files it names beside it', async () => {
    for (const [select, chosen] of [['folder', modelDir], ['modelFile', join(modelDir, 'model.json')]] as const) {
      answer = chosen;
      const result = await host.dispatch('openTeacher', { select });
      expect(result).toMatchObject({ ok: true, value: { outcome: 'imported', teacher: { source: 'imported', name: 'picked-lenet', inputShape: [32, 32, 1] } } });
      const id = (result as { value: { teacher: TeacherInfo } }).value.teacher.id;
      // Only the model, its weights and its manifest were taken.
      expect(readdirSync(join(home, 'data', 'teachers', id)).sort()).toEqual(readdirSync(modelDir).filter((n) => n !== 'unrelated.bin').sort());
    }
    expect(stored()).toHaveLength(2);
  });

  it('reads nothing outside what the dialog returned', async () => {
    const before = stored();
    // A model.json naming a weights file in another folder is refused before anything is read there.
    const escaping = join(home, 'picked', 'escaping');
    mkdirSync(escaping, { recursive: true });
    const json = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    const weightFile = json.weightsManifest[0]!.paths[0]!;
    writeFileSync(join(outside, weightFile), readFileSync(join(modelDir, weightFile)));
    json.weightsManifest[0]!.paths = [`../../elsewhere/${weightFile}`];
    writeFileSync(join(escaping, 'model.json'), JSON.stringify(json));
    answer = escaping;
    expect(await host.dispatch('openTeacher', { select: 'folder' })).toMatchObject({ ok: false, error: { code: 'BAD_MODEL', message: expect.stringMatching(/in another folder/) } });

    // A weights file that is a symbolic link to another folder is refused too.
    const linked = join(home, 'picked', 'linked');
    mkdirSync(linked, { recursive: true });
    writeFileSync(join(linked, 'model.json'), readFileSync(join(modelDir, 'model.json')));
    symlinkSync(join(outside, weightFile), join(linked, weightFile));
    answer = join(linked, 'model.json');
    expect(await host.dispatch('openTeacher', { select: 'modelFile' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringMatching(/outside/) } });

    // A path that does not exist (removed after choosing) is a clear error.
    answer = join(home, 'gone');
    expect(await host.dispatch('openTeacher', { select: 'folder' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(stored()).toEqual(before);
  });
});
