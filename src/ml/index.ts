/** Public API of the ML library. It does not depend on the pipeline engine. */
export {
  type BackendInfo,
  type BackendKind,
  type InitBackendOptions,
  backendKinds,
  currentBackend,
  detectBackendKind,
  initBackend,
  parseBackendKind,
} from "./backend.ts"
export { type ComputeMode, setComputeMode } from "./compute-mode.ts"
export { loadSafetensors, policyFormat, saveSafetensors } from "./checkpoint.ts"
export { type ModelConfig, type PresetName, presets, validateConfig } from "./config.ts"
export {
  type EncodedPair,
  type EncodedPairs,
  type PreferencePair,
  type TokenBatch,
  encodePairs,
  encodeTexts,
  languageBatch,
  preferenceBatch,
  truncatePair,
} from "./data.ts"
export {
  type PreferenceMethod,
  type PreferenceOptions,
  type PreferenceStats,
  type ScoredSequences,
  type TokenStats,
  languageModelLoss,
  preferenceLoss,
  preferenceStats,
  sequenceLogProbsFromLogits,
  tokenStats,
} from "./losses.ts"
export { generateGreedy } from "./generate.ts"
export { HuggingFaceTokenizer, configFromHf, loadHuggingFace, loadHuggingFaceTokenizer } from "./huggingface.ts"
export { Llama2cTokenizer, loadLlama2c, loadLlama2cTokenizer } from "./llama2c.ts"
export { type HostTensor, Model } from "./model.ts"
export { createPreset } from "./preset.ts"
export { Prng } from "./prng.ts"
export { readSafetensors, writeSafetensors } from "./safetensors.ts"
export { ByteTokenizer, type Tokenizer } from "./tokenizer.ts"
export {
  Adam,
  type EvalPoint,
  type PairLogProbs,
  type PairWeights,
  type PrefAccuracy,
  type StepMetrics,
  type TrainLanguageModelOptions,
  type TrainPreferenceOptions,
  type TrainResult,
  batchLogProbs,
  prefAccuracy,
  preferenceStep,
  referenceLogProbs,
  trainLanguageModel,
  trainPreference,
  wpoWeights,
} from "./train.ts"
export { isWasmMatMulPatched, setWasmMatMulPatch } from "./wasm-kernels.ts"
