/**
 * Stage `eval` (method × split × group × seed): pref_acc of a trained policy
 * on its group's held-out eval pairs, plus the learning curve recorded during
 * training. A pair counts as correct when the implicit reward of the chosen
 * response is strictly above the rejected one's, so ties count as wrong.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { defineStage } from "../src/engine/stage.js"
import { encodePairs } from "../src/ml/data.js"
import { prefAccuracy } from "../src/ml/train.js"
import { attempt, writeJson } from "./lib/effect.js"
import { loadModel, loadReference, mlFacts, startBackend } from "./lib/models.js"
import { readPairFile, upstreamFile } from "./lib/pairs.js"
import { numberParam } from "./lib/params.js"
import { contextLength } from "./lib/training.js"

export default defineStage({
  facts: mlFacts,
  run: (ctx) =>
    Effect.gen(function* () {
      const group = String(ctx.matrix["group"])
      yield* attempt(() => startBackend(ctx.facts))
      const { model: reference } = yield* attempt(() => loadReference(ctx.inputs, { trainable: false }))
      const policy = yield* attempt(() =>
        loadModel(upstreamFile(ctx.inputs, "train", "policy.safetensors"), reference.tokenizer!, false),
      )
      const trained = yield* attempt(
        () => JSON.parse(readFileSync(upstreamFile(ctx.inputs, "train", "metrics.json"), "utf8")) as { curve: unknown },
      )
      const evalPairs = yield* attempt(() => readPairFile(upstreamFile(ctx.inputs, "split", `${group}.eval.jsonl`)))
      const result = yield* attempt(() => {
        const encoded = encodePairs(reference.tokenizer!, evalPairs, contextLength(ctx, reference))
        const acc = prefAccuracy(policy, reference, encoded.pairs, numberParam(ctx.params, "train.beta", { above: 0 }))
        return { acc, truncated: encoded.truncated }
      })
      yield* attempt(() =>
        writeJson(join(ctx.outDir, "eval.json"), {
          instance: ctx.instance,
          matrix: ctx.matrix,
          pref_acc: result.acc.accuracy,
          correct: result.acc.correct,
          total: result.acc.total,
          truncated: result.truncated,
          curve: trained.curve,
        }),
      )
      yield* ctx.log(`pref_acc ${result.acc.correct}/${result.acc.total} = ${(100 * result.acc.accuracy).toFixed(2)}%`)
      policy.dispose()
      reference.dispose()
    }),
})
