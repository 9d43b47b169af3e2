import type { MethodInfo, MetricPointDto, RunDetailDto, StudentOption, TeacherInfo } from '@common/contract.ts';

export function teacherInfo(over: Partial<TeacherInfo> = {}): TeacherInfo {
  return {
    id: 'lenet5-mnist',
    source: 'bundled',
    name: 'LeNet5 on MNIST',
    inputShape: [32, 32, 1],
    numClasses: 10,
    params: 61_706,
    bytes: 246_824,
    hasBatchNorm: false,
    layers: [{ name: 'conv1', className: 'Conv2D', outputShape: [null, 28, 28, 6], params: 156 }],
    manifest: { dataset: 'mnist', preprocessing: { scale: 1 / 255, mean: [0.1307], std: [0.3081] }, classNames: Array.from({ length: 10 }, (_, i) => String(i)), accuracy: 0.99 },
    ...over,
  };
}

export function students(): StudentOption[] {
  return [
    { id: 'lenet5', title: 'LeNet-5', width: 1, params: 61_706, bytes: 246_824, compression: 1 },
    { id: 'lenet5-half', title: 'LeNet-5 at half width', width: 1, params: 15_738, bytes: 62_952, compression: 61_706 / 15_738 },
    { id: 'tiny', title: 'Tiny', width: 1, params: 1_000, bytes: 4_000, compression: 61.706 },
    { id: 'resnet18', title: 'ResNet-18', width: 1, params: 11_182_410, bytes: 44_729_640, compression: 61_706 / 11_182_410, unsuitable: 'larger than the teacher' },
  ];
}

export function methods(): MethodInfo[] {
  return [
    {
      id: 'rdskd',
      title: 'RDSKD',
      summary: 'generator, then student',
      available: true,
      fit: { kind: 'paper' },
      hyperParameters: [
        { key: 'seed', value: 0, help: 'seed' },
        { key: 'generator.lr', value: 0.001, help: 'lr' },
        { key: 'generator.batchSize', value: 512, help: 'batch' },
        { key: 'student.tau', value: 10, help: 'temperature' },
        { key: 'select', value: 'last', help: 'which student' },
      ],
    },
    { id: 'dafl', title: 'DAFL', summary: 'joint', available: true, fit: { kind: 'paper' }, hyperParameters: [{ key: 'lrG', value: 0.2, help: 'lr of G' }] },
    {
      id: 'zskt',
      title: 'ZSKT',
      summary: 'adversarial',
      available: true,
      fit: { kind: 'variant', variant: 'without attention transfer', reason: 'the teacher has 0, the student 0' },
      hyperParameters: [{ key: 'beta', value: 250, help: 'AT weight' }],
    },
    { id: 'deepinversion', title: 'DeepInversion', summary: 'bn', available: true, fit: { kind: 'unusable', reason: "synthesis.bnStatistics 'require': no BatchNorm" }, hyperParameters: [] },
    { id: 'zskd', title: 'ZSKD', summary: 'later', available: false, fit: { kind: 'paper' }, hyperParameters: [] },
  ];
}

export function point(phase: string, step: number, total: number, offset: number, values: Record<string, number>): MetricPointDto {
  return { globalStep: offset + step, phase, step, total, time: 1_700_000_000_000 + offset + step, values };
}

export function runDetail(over: Partial<RunDetailDto> = {}): RunDetailDto {
  return {
    id: 'run-1',
    method: 'rdskd',
    dataset: 'mnist',
    student: 'lenet5-half',
    teacher: 'lenet5-mnist',
    createdAt: '2026-11-23T16:00:00.000Z',
    status: 'running',
    step: 2,
    total: 130,
    values: {},
    config: {},
    extendable: [{ key: 'student.epochs', value: 1 }],
    backend: 'wasm',
    metrics: [point('generator', 1, 30, 0, { oh: 2, ie: -2, ds: 0.1, total: 1 }), point('generator', 2, 30, 0, { oh: 1.9, ie: -2.1, ds: 0.1, total: 0.9 })],
    samples: null,
    ...over,
  };
}
