/**
 * Stage `reference`: the reference (and initial) policy of every training run.
 *
 * With `model.path` unset it initialises the small preset from `model.seed`
 * and trains it on next-token prediction over prompts and chosen responses
 * of the training pool (`reference.steps`), limited to `reference.sources`
 * so the other source models stay off-policy. With `model.path` set it loads
 * a llama2.c `.bin` (tokenizer: `model.tokenizer` or the `tok*.bin` beside
 * it) or a Hugging Face folder, and fine-tunes it the same way only when
 * `reference.steps` > 0.
 */
import { Effect } from "effect"
import { existsSync, readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { createRng } from "../src/data/index.js"
import { defineStage } from "../src/engine/stage.js"
import type { Model } from "../src/ml/model.js"
import { createPreset } from "../src/ml/preset.js"
import { encodeTexts } from "../src/ml/data.js"
import { trainLanguageModel } from "../src/ml/train.js"
import { attempt, writeJson } from "./lib/effect.js"
import { mlFacts, mlResources, saveModel, sha256File, startBackend, type ReferenceInfo } from "./lib/models.js"
import { readPairFile, upstreamFile } from "./lib/pairs.js"
import { numberParam } from "./lib/params.js"

const findLlamaTokenizer = (binPath: string, explicit: unknown): string => {
  if (typeof explicit === "string" && explicit !== "") return explicit
  const dir = dirname(binPath)
  const candidates = readdirSync(dir).filter((f) => /^tok.*\.bin$/.test(f)).sort()
  if (candidates.length === 0) {
    throw new Error(`no tokenizer found beside ${binPath} (expected a tok*.bin file); set model.tokenizer=PATH`)
  }
  return join(dir, candidates[0]!)
}

interface LoadedModel {
  readonly model: Model
  readonly info: Omit<ReferenceInfo, "backend" | "config">
}

const loadBase = async (params: Readonly<Record<string, unknown>>): Promise<LoadedModel> => {
  const path = params["model.path"]
  if (path === null || path === undefined || path === "") {
    const preset = params["model.preset"]
    if (preset === null || preset === undefined || preset === "") {
      throw new Error(
        "model.path is not set and model.preset is null, so there is no reference model; pass a checkpoint with --set model.path=PATH",
      )
    }
    const model = createPreset(String(preset) as "small", Number(params["model.seed"] ?? 0))
    return { model, info: { kind: "preset", checkpoint: null, tokenizer: null, checkpointSha256: {} } }
  }
  if (typeof path !== "string" || !existsSync(path)) {
    throw new Error(`model.path ${JSON.stringify(path)} was not found; pass a llama2c .bin file or a Hugging Face folder`)
  }
  if (statSync(path).isDirectory()) {
    const { loadHuggingFace } = await import("../src/ml/huggingface.js")
    const model = await loadHuggingFace(path)
    const files = readdirSync(path).filter((f) => f.endsWith(".safetensors") || f === "config.json" || f === "tokenizer.json").sort()
    const checkpointSha256 = Object.fromEntries(files.map((f) => [f, sha256File(join(path, f))]))
    return { model, info: { kind: "huggingface", checkpoint: path, tokenizer: path, checkpointSha256 } }
  }
  const tokenizer = findLlamaTokenizer(path, params["model.tokenizer"])
  const { loadLlama2c } = await import("../src/ml/llama2c.js")
  const model = await loadLlama2c(path, tokenizer)
  return {
    model,
    info: {
      kind: "llama2c",
      checkpoint: path,
      tokenizer,
      checkpointSha256: { model: sha256File(path), tokenizer: sha256File(tokenizer) },
    },
  }
}

export default defineStage({
  facts: mlFacts,
  resources: mlResources,
  run: (ctx) =>
    Effect.gen(function* () {
      const backend = yield* attempt(() => startBackend(ctx.facts))
      yield* ctx.log(`backend: ${backend.reason}`)
      const base = yield* attempt(() => loadBase(ctx.params))
      const model = base.model
      const steps = yield* attempt(() => numberParam(ctx.params, "reference.steps", { integer: true, min: 0 }))
      const maxLength = yield* attempt(() =>
        Math.min(numberParam(ctx.params, "model.max_length", { integer: true, min: 2 }), model.config.maxLength),
      )
      let losses: number[] = []
      let sequences = 0
      if (steps > 0) {
        const pairs = yield* attempt(() => readPairFile(upstreamFile(ctx.inputs, "dataset", "pairs.jsonl")))
        const sources = ctx.params["reference.sources"]
        const wanted = Array.isArray(sources) && sources.length > 0 ? new Set(sources as string[]) : null
        const texts: string[] = []
        for (const pair of pairs) {
          if (wanted === null || wanted.has(pair.source)) texts.push(model.tokenizer!.formatPrompt(pair.prompt) + pair.chosen)
          if (wanted === null || wanted.has(pair.rejected_source ?? pair.source)) {
            texts.push(model.tokenizer!.formatPrompt(pair.prompt) + pair.rejected)
          }
        }
        if (texts.length === 0) {
          return yield* attempt(() => {
            throw new Error(`reference.sources ${JSON.stringify(sources)} matches no pair's source model; fix the list or set it to null`)
          })
        }
        // A seeded shuffle so the training pool does not follow file order.
        const shuffled = createRng("reference", String(ctx.params["model.seed"] ?? 0)).shuffle(texts)
        sequences = shuffled.length
        const encoded = encodeTexts(model.tokenizer!, shuffled, maxLength)
        const result = yield* attempt(() =>
          trainLanguageModel(model, encoded, {
            steps,
            lr: numberParam(ctx.params, "reference.lr", { above: 0 }),
            batch: numberParam(ctx.params, "reference.batch", { integer: true, min: 1 }),
            seed: Number(ctx.params["model.seed"] ?? 0),
            onProgress: (m) => {
              Effect.runSync(ctx.progress({ step: m.step, total: m.steps, phase: "lm", metrics: { loss: m.loss } }))
            },
          }),
        )
        losses = result.losses
        yield* ctx.log(`trained ${steps} next-token steps on ${sequences} sequences in ${result.seconds.toFixed(1)} s; last loss ${losses.at(-1)?.toFixed(4)}`)
      }
      const info: ReferenceInfo = { ...base.info, config: model.config, backend: backend.name }
      yield* attempt(() => {
        saveModel(model, join(ctx.outDir, "model.safetensors"))
        writeJson(join(ctx.outDir, "reference.json"), info)
        writeJson(join(ctx.outDir, "metrics.json"), {
          backend: backend.name,
          steps,
          sequences,
          parameters: model.parameterCount(),
          losses,
        })
      })
      model.dispose()
    }),
})
