/**
 * The model zoo and model I/O: the entry point the methods, the CLI and the app import.
 */
export { LAYER_NAMES, type ClassifierOptions, type GeneratorOptions, type Shape3 } from './types.ts';
export { checkWidth, scaledChannels } from './layers.ts';
export { buildLeNet5, buildLeNet5Half } from './lenet.ts';
export { buildWideResNet, type WideResNetOptions } from './wrn.ts';
export { buildResNet18, buildResNet34 } from './resnet.ts';
export { buildDaflGenerator, buildZsktGenerator } from './generators.ts';
export {
  ARCHITECTURES,
  getArchitecture,
  getClassifier,
  getGenerator,
  countParams,
  countTrainableParams,
  type ArchitectureSpec,
  type ClassifierSpec,
  type GeneratorSpec,
} from './registry.ts';
export {
  withTaps,
  featuresTensor,
  penultimateTensor,
  groupTensors,
  batchNormLayers,
  classifierLayer,
  modelTraits,
  type ModelTraits,
  type TapName,
  type TappedModel,
} from './taps.ts';
export {
  MANIFEST_FILE,
  TeacherManifestSchema,
  PreprocessingSchema,
  parseManifest,
  readManifest,
  channelStats,
  type TeacherManifest,
  type Preprocessing,
} from './manifest.ts';
export {
  MODEL_FILE,
  modelJsonPath,
  fileHandler,
  saveModel,
  loadModel,
  loadTeacher,
  checkModelMatches,
  readModelArtifacts,
  writeFileAtomic,
  type LoadedTeacher,
} from './io.ts';
