/** Shape of a decoder-only transformer of the Llama / Qwen2 family. */
export interface ModelConfig {
  readonly vocabSize: number
  /** Model width d. */
  readonly hiddenSize: number
  /** Width of the SwiGLU feed-forward layer. */
  readonly intermediateSize: number
  readonly numLayers: number
  readonly numHeads: number
  /** Key/value heads; `numHeads` must be a multiple (grouped-query attention). */
  readonly numKvHeads: number
  /** Longest sequence (prompt + response, in tokens) the model is used with. */
  readonly maxLength: number
  readonly ropeTheta: number
  readonly rmsNormEps: number
  /** Whether q_proj, k_proj and v_proj have biases (Qwen2: yes; Llama: no). */
  readonly attentionBias: boolean
  /** Whether the output layer reuses the token embedding. */
  readonly tieWordEmbeddings: boolean
}

export const headDim = (config: ModelConfig): number => config.hiddenSize / config.numHeads

/** Named shapes for models initialised from a seed. */
export const presets = {
  /** The embedded default: about 0.12 M parameters, byte-level vocabulary. */
  small: {
    vocabSize: 259,
    hiddenSize: 64,
    intermediateSize: 172,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 4,
    maxLength: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    attentionBias: true,
    tieWordEmbeddings: true,
  },
  /** A larger shape for benchmarks (d=128, 4 layers, 128 tokens). */
  scale: {
    vocabSize: 259,
    hiddenSize: 128,
    intermediateSize: 344,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 4,
    maxLength: 128,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    attentionBias: true,
    tieWordEmbeddings: true,
  },
} satisfies Record<string, ModelConfig>

export type PresetName = keyof typeof presets

/** Checks a config and throws an error naming the first invalid field. */
export const validateConfig = (config: ModelConfig, source = "model config"): ModelConfig => {
  const positive = [
    "vocabSize",
    "hiddenSize",
    "intermediateSize",
    "numLayers",
    "numHeads",
    "numKvHeads",
    "maxLength",
  ] as const
  for (const key of positive) {
    const value = config[key]
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`${source}: ${key} must be a positive integer, got ${String(value)}`)
    }
  }
  if (config.hiddenSize % config.numHeads !== 0) {
    throw new Error(`${source}: hiddenSize ${config.hiddenSize} is not divisible by numHeads ${config.numHeads}`)
  }
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new Error(`${source}: numHeads ${config.numHeads} is not a multiple of numKvHeads ${config.numKvHeads}`)
  }
  if (headDim(config) % 2 !== 0) {
    throw new Error(`${source}: head dimension ${headDim(config)} must be even for rotary positions`)
  }
  if (!(config.ropeTheta > 0) || !(config.rmsNormEps > 0)) {
    throw new Error(`${source}: ropeTheta and rmsNormEps must be positive`)
  }
  return config
}
