/**
 * Trained policies on disk: one safetensors file with Hugging Face tensor
 * names and layouts (float32), and in `__metadata__`:
 * - `pipe.format`: "pipe-policy/1"
 * - `pipe.config`: the ModelConfig as JSON
 * - `pipe.tokenizer`: the tokenizer kind ("byte", "llama2c" or "huggingface")
 * - `pipe.source`: where the weights came from
 * plus any caller metadata (e.g. backend, seed, steps).
 */
import { type ModelConfig, validateConfig } from "./config.ts"
import { fromHfTensors, toHfTensors } from "./hf-layout.ts"
import { Model } from "./model.ts"
import { readSafetensors, writeSafetensors } from "./safetensors.ts"
import { ByteTokenizer, type Tokenizer } from "./tokenizer.ts"

export const policyFormat = "pipe-policy/1"

/** Writes the model's weights and config to `path` (see the module comment for the format). */
export const saveSafetensors = (model: Model, path: string, metadata: Record<string, string> = {}): void => {
  writeSafetensors(path, toHfTensors(model.config, model.parameters()), {
    ...metadata,
    "pipe.format": policyFormat,
    "pipe.config": JSON.stringify(model.config),
    "pipe.tokenizer": model.tokenizer?.kind ?? "none",
    "pipe.source": model.source,
  })
}

/**
 * Loads a policy written by `saveSafetensors`. A byte tokenizer is rebuilt
 * from the metadata; other kinds must be passed in `options.tokenizer`.
 */
export const loadSafetensors = (
  path: string,
  options: { tokenizer?: Tokenizer; trainable?: boolean } = {},
): { model: Model; metadata: Record<string, string> } => {
  const { tensors, metadata } = readSafetensors(path)
  if (metadata["pipe.format"] !== policyFormat || metadata["pipe.config"] === undefined) {
    throw new Error(
      `${path}: not a saved policy (metadata pipe.format is ${JSON.stringify(metadata["pipe.format"])}, expected "${policyFormat}"); load Hugging Face directories with loadHuggingFace`,
    )
  }
  const config = validateConfig(JSON.parse(metadata["pipe.config"]) as ModelConfig, `${path} pipe.config`)
  const kind = metadata["pipe.tokenizer"]
  let tokenizer = options.tokenizer
  if (tokenizer === undefined && kind === "byte") tokenizer = new ByteTokenizer()
  if (tokenizer === undefined && kind !== "none") {
    throw new Error(`${path}: the policy uses a ${kind} tokenizer; pass it as options.tokenizer`)
  }
  const model = Model.fromParameters(config, fromHfTensors(config, tensors, path), {
    tokenizer,
    source: metadata["pipe.source"] ?? path,
    trainable: options.trainable ?? true,
  })
  return { model, metadata }
}
