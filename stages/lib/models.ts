/**
 * Model plumbing shared by the study's training stages: the backend fact that
 * joins every cache key, resource slots, and saving and loading policies with
 * their config and tokenizer.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { initBackend, detectBackendKind, type BackendInfo } from "../../src/ml/backend.js"
import type { ModelConfig } from "../../src/ml/config.js"
import { Model } from "../../src/ml/model.js"
import { readSafetensors, writeSafetensors } from "../../src/ml/safetensors.js"
import { ByteTokenizer, type Tokenizer } from "../../src/ml/tokenizer.js"
import { upstreamFile } from "./pairs.js"
import { numberParam, type NumberRule } from "./params.js"

/** Rules of the numeric params that training stages read; `null` means the param may also be null. */
const PARAM_RULES: ReadonlyArray<readonly [string, NumberRule, boolean]> = [
  ["model.max_length", { integer: true, min: 2 }, false],
  ["reference.steps", { integer: true, min: 0 }, false],
  ["reference.lr", { above: 0 }, false],
  ["reference.batch", { integer: true, min: 1 }, false],
  ["train.steps", { integer: true, min: 0 }, false],
  ["train.batch", { integer: true, min: 1 }, false],
  ["train.beta", { above: 0 }, false],
  ["train.lr", { above: 0 }, false],
  ["train.clamp", { above: 0 }, true],
  ["eval.every", { integer: true, min: 0 }, false],
  ["weights.max_pairs", { integer: true, min: 1 }, false],
]

/**
 * Returns the tensor backend the stage will run on: it changes results bit
 * for bit, so it is part of the key. The engine calls this in its own process
 * before anything runs, so it also checks the numeric params the stage reads:
 * a bad `--set` fails at once instead of after the upstream stages built.
 */
export const mlFacts = (params: Readonly<Record<string, unknown>>): Readonly<Record<string, string>> => {
  for (const [name, rule, nullable] of PARAM_RULES) {
    if (!(name in params)) continue
    if (nullable && params[name] === null) continue
    numberParam(params, name, rule)
  }
  return { backend: detectBackendKind(process.env["PIPE_BACKEND"] || undefined) }
}

/** Returns `{ gpu: 1 }` when the backend runs on a GPU, so `-j` never puts two training instances on one device. */
export const mlResources = (
  _params: Readonly<Record<string, unknown>>,
  facts: Readonly<Record<string, string>>,
): Readonly<Record<string, number>> => (facts["backend"] === "tfjs-node-gpu" ? { gpu: 1 } : {})

/** Activates the backend named by the stage's facts and checks that tfjs really runs on it. */
export const startBackend = async (facts: Readonly<Record<string, string>>): Promise<BackendInfo> => {
  // Force only what the user forced, so the logged reason explains why this backend runs.
  const forced = process.env["PIPE_BACKEND"] || undefined
  const info = await initBackend(forced === undefined ? {} : { backend: forced })
  if (info.name !== facts["backend"]) {
    throw new Error(`the cache key was computed for backend ${facts["backend"]}, but ${info.name} is running`)
  }
  return info
}

/** The contents of the reference stage's `reference.json`. */
export interface ReferenceInfo {
  /** `preset` (trained here), `llama2c` or `huggingface` (a checkpoint, possibly fine-tuned here). */
  readonly kind: "preset" | "llama2c" | "huggingface"
  readonly config: ModelConfig
  /** The checkpoint path for `llama2c` and `huggingface`, and its tokenizer path. */
  readonly checkpoint: string | null
  readonly tokenizer: string | null
  /** SHA-256 of the checkpoint files, so a changed checkpoint changes this file and everything downstream. */
  readonly checkpointSha256: Readonly<Record<string, string>>
  readonly backend: string
}

export const sha256File = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex")

/** Writes a model's parameters (internal layout) with its config and tokenizer kind as safetensors metadata. */
export const saveModel = (model: Model, path: string, extra: Record<string, string> = {}): void => {
  writeSafetensors(path, model.parameters(), {
    "pipe.config": JSON.stringify(model.config),
    "pipe.tokenizer": model.tokenizer?.kind ?? "none",
    "pipe.layout": "internal",
    ...extra,
  })
}

/** Loads a model saved by `saveModel`, with `tokenizer` (the reference's). */
export const loadModel = (path: string, tokenizer: Tokenizer, trainable: boolean): Model => {
  const file = readSafetensors(path)
  const configText = file.metadata["pipe.config"]
  if (configText === undefined) throw new Error(`${path}: no pipe.config metadata; it was not written by pipe`)
  const config = JSON.parse(configText) as ModelConfig
  return Model.fromParameters(config, file.tensors, { tokenizer, source: path, trainable })
}

/** Rebuilds the reference's tokenizer from `reference.json`. */
export const referenceTokenizer = async (info: ReferenceInfo): Promise<Tokenizer> => {
  switch (info.kind) {
    case "preset":
      return new ByteTokenizer()
    case "llama2c": {
      const { loadLlama2cTokenizer } = await import("../../src/ml/llama2c.js")
      return loadLlama2cTokenizer(info.tokenizer!)
    }
    case "huggingface": {
      const { loadHuggingFaceTokenizer } = await import("../../src/ml/huggingface.js")
      return loadHuggingFaceTokenizer(info.checkpoint!)
    }
  }
}

/** Loads the frozen reference policy from the `reference` upstream outputs. */
export const loadReference = async (
  inputs: Parameters<typeof upstreamFile>[0],
  options: { trainable: boolean },
): Promise<{ model: Model; info: ReferenceInfo }> => {
  const info = JSON.parse(readFileSync(upstreamFile(inputs, "reference", "reference.json"), "utf8")) as ReferenceInfo
  const tokenizer = await referenceTokenizer(info)
  const model = loadModel(upstreamFile(inputs, "reference", "model.safetensors"), tokenizer, options.trainable)
  return { model, info }
}
