/** The DeepInversion schedule of the kill -9 test (shared by the test and its child process). */
export const KILL_TEST_CONFIG = {
  synthesis: { batches: 3, batchSize: 8, iterations: 150 },
  student: { epochs: 2, batchSize: 8 },
  checkpointEvery: 7,
  sampleEvery: 0,
  evalEvery: 0,
  evalSamples: 8,
};
