import { type ModelConfig, type PresetName, presets } from "./config.ts"
import { Model } from "./model.ts"
import { ByteTokenizer } from "./tokenizer.ts"

/**
 * Creates a model initialised from `seed`, either a named preset or an
 * explicit config, with the byte-level tokenizer (the config's vocabulary
 * must be 259). `overrides` replaces single fields, e.g. `{ maxLength: 96 }`.
 */
export const createPreset = (
  preset: PresetName | ModelConfig,
  seed: number,
  overrides: Partial<ModelConfig> = {},
): Model => {
  const base = typeof preset === "string" ? presets[preset] : preset
  if (base === undefined) {
    throw new Error(`unknown model preset "${String(preset)}": expected one of ${Object.keys(presets).join(", ")}`)
  }
  const config: ModelConfig = { ...base, ...overrides }
  const tokenizer = new ByteTokenizer()
  if (config.vocabSize !== tokenizer.vocabSize) {
    throw new Error(`a preset uses the byte tokenizer, so vocabSize must be ${tokenizer.vocabSize}, got ${config.vocabSize}`)
  }
  const name = typeof preset === "string" ? `preset ${preset}` : "custom config"
  return Model.fromSeed(config, seed, tokenizer, `${name}, seed ${seed}`)
}
