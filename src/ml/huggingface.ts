/**
 * Hugging Face checkpoint directories of the Llama / Qwen2 family:
 * `config.json`, `model.safetensors` (or shards listed in
 * `model.safetensors.index.json`; F32, F16 and BF16 are read as float32),
 * `tokenizer.json` and `tokenizer_config.json` (special tokens and the chat
 * template, rendered with @huggingface/jinja).
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Template } from "@huggingface/jinja"
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers"
import { type ModelConfig, validateConfig } from "./config.ts"
import { fromHfTensors } from "./hf-layout.ts"
import { type HostTensor, Model } from "./model.ts"
import { readSafetensors } from "./safetensors.ts"
import type { Tokenizer } from "./tokenizer.ts"

const readJson = (path: string): Record<string, unknown> => {
  if (!existsSync(path)) throw new Error(`${path} is missing; a Hugging Face checkpoint directory needs it`)
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>
  } catch (error) {
    throw new Error(`${path}: invalid JSON (${(error as Error).message})`)
  }
}

const supportedTypes = ["qwen2", "llama", "mistral"]

/** Maps a `config.json` of a Llama / Qwen2 model to a ModelConfig; throws on features this model lacks. */
export const configFromHf = (json: Record<string, unknown>, source: string): ModelConfig => {
  const type = String(json.model_type ?? "")
  if (!supportedTypes.includes(type)) {
    throw new Error(`${source}: model_type "${type}" is not supported; expected one of ${supportedTypes.join(", ")}`)
  }
  const number = (key: string, fallback?: number): number => {
    const value = json[key] ?? fallback
    if (typeof value !== "number") throw new Error(`${source}: ${key} is missing or not a number`)
    return value
  }
  if (json.hidden_act !== undefined && json.hidden_act !== "silu") {
    throw new Error(`${source}: hidden_act "${String(json.hidden_act)}" is not supported (only silu)`)
  }
  if (json.rope_scaling !== undefined && json.rope_scaling !== null) {
    throw new Error(`${source}: rope_scaling is not supported; use a checkpoint without it`)
  }
  const hidden = number("hidden_size")
  const heads = number("num_attention_heads")
  if (json.head_dim !== undefined && json.head_dim !== null && json.head_dim !== hidden / heads) {
    throw new Error(`${source}: head_dim ${String(json.head_dim)} differs from hidden_size / num_attention_heads; not supported`)
  }
  const config: ModelConfig = {
    vocabSize: number("vocab_size"),
    hiddenSize: hidden,
    intermediateSize: number("intermediate_size"),
    numLayers: number("num_hidden_layers"),
    numHeads: heads,
    numKvHeads: number("num_key_value_heads", heads),
    maxLength: number("max_position_embeddings", 2048),
    ropeTheta: number("rope_theta", 10000),
    rmsNormEps: number("rms_norm_eps", 1e-6),
    attentionBias: type === "qwen2" ? true : Boolean(json.attention_bias ?? false),
    tieWordEmbeddings: Boolean(json.tie_word_embeddings ?? false),
  }
  return validateConfig(config, source)
}

/** Reads every tensor of the checkpoint (single file or shards). */
const readCheckpointTensors = (dir: string): Map<string, HostTensor> => {
  const single = join(dir, "model.safetensors")
  if (existsSync(single)) return readSafetensors(single).tensors
  const indexPath = join(dir, "model.safetensors.index.json")
  if (!existsSync(indexPath)) {
    throw new Error(`${dir}: neither model.safetensors nor model.safetensors.index.json was found`)
  }
  const weightMap = (readJson(indexPath).weight_map ?? {}) as Record<string, string>
  const tensors = new Map<string, HostTensor>()
  for (const shard of [...new Set(Object.values(weightMap))].sort()) {
    for (const [name, t] of readSafetensors(join(dir, shard)).tensors) tensors.set(name, t)
  }
  return tensors
}

const tokenContent = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (value !== null && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content
  }
  return undefined
}

/**
 * A `tokenizer.json` tokenizer (via @huggingface/tokenizers). BOS is added
 * only when the checkpoint has no chat template and `add_bos_token` is set
 * (a template writes BOS itself); EOS (`eos_token`) ends every response.
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly kind = "huggingface" as const
  readonly vocabSize: number
  readonly bosId: number | undefined
  readonly eosId: number | undefined
  readonly padId: number
  private readonly tokenizer: HfTokenizer
  private readonly template: Template | undefined
  private readonly bosToken: string | undefined
  private readonly eosToken: string | undefined

  constructor(dir: string, vocabSize?: number) {
    const tokenizerJson = readJson(join(dir, "tokenizer.json"))
    const configPath = join(dir, "tokenizer_config.json")
    const tokenizerConfig = existsSync(configPath) ? readJson(configPath) : {}
    this.tokenizer = new HfTokenizer(tokenizerJson, tokenizerConfig)
    this.bosToken = tokenContent(tokenizerConfig.bos_token)
    this.eosToken = tokenContent(tokenizerConfig.eos_token)
    const idOf = (token: string | undefined) => (token === undefined ? undefined : this.tokenizer.token_to_id(token))
    const rawTemplate = tokenizerConfig.chat_template
    const templateText = Array.isArray(rawTemplate)
      ? (rawTemplate as { name: string; template: string }[]).find((t) => t.name === "default")?.template
      : typeof rawTemplate === "string"
        ? rawTemplate
        : undefined
    this.template = templateText === undefined ? undefined : new Template(templateText)
    this.bosId = this.template === undefined && tokenizerConfig.add_bos_token === true ? idOf(this.bosToken) : undefined
    this.eosId = idOf(this.eosToken)
    this.padId = idOf(tokenContent(tokenizerConfig.pad_token)) ?? this.eosId ?? 0
    this.vocabSize = vocabSize ?? Math.max(...this.tokenizer.get_added_tokens_decoder().keys(), 0) + 1
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids
  }

  decode(ids: ReadonlyArray<number>): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true })
  }

  /** Renders the chat template for one user turn with the generation prompt; identity without a template. */
  formatPrompt(prompt: string): string {
    if (this.template === undefined) return prompt
    return this.template.render({
      messages: [{ role: "user", content: prompt }],
      add_generation_prompt: true,
      bos_token: this.bosToken ?? "",
      eos_token: this.eosToken ?? "",
    })
  }
}

/** Reads the tokenizer of a Hugging Face checkpoint directory. */
export const loadHuggingFaceTokenizer = (dir: string): HuggingFaceTokenizer => {
  const configPath = join(dir, "config.json")
  const vocab = existsSync(configPath) ? (readJson(configPath).vocab_size as number | undefined) : undefined
  return new HuggingFaceTokenizer(dir, vocab)
}

/** Loads a Hugging Face Llama / Qwen2 checkpoint directory with its tokenizer. */
export const loadHuggingFace = (dir: string, options: { trainable?: boolean } = {}): Model => {
  const configPath = join(dir, "config.json")
  const config = configFromHf(readJson(configPath), configPath)
  const tensors = readCheckpointTensors(dir)
  const tokenizer = new HuggingFaceTokenizer(dir, config.vocabSize)
  return Model.fromParameters(config, fromHfTensors(config, tensors, dir), {
    tokenizer,
    source: dir,
    trainable: options.trainable ?? true,
  })
}
