/** Datasets: loaders, preprocessing and batching. */
export { locateMnist, openMnist, MNIST_CLASS_NAMES, type MnistFiles, type Split } from './mnist.ts';
export { openIdxDataset, openIdxFile, parseIdxHeader, readIdxLabels } from './idx.ts';
export { openCifar10, findCifar10Dir, CIFAR10_CLASS_NAMES } from './cifar10.ts';
export { openSvhnMat, SVHN_CLASS_NAMES } from './svhn.ts';
export { readMatVariables, matValues, type MatVariable } from './mat.ts';
export { openImageFolder, decodeImage, listImageFolder, type FolderOptions } from './folder.ts';
export { openDataset, DATA_SPEC_HELP, type OpenOptions } from './open.ts';
export { DATASET_PRESETS, type DatasetPreset } from './presets.ts';
export { Preprocessor, resizeImage, convertChannels } from './preprocess.ts';
export { iterateBatches, batchTensors, batchCount, shuffledIndices, type Batch, type BatchOptions } from './batches.ts';
export { channelStatistics } from './stats.ts';
export { sampleBytes, type ImageSource, type DatasetKind, type Shape3 } from './types.ts';
