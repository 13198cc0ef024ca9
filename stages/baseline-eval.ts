/**
 * Stage `baseline-eval` (method × seed): the control level. Trains from the
 * reference on a sample of the pooled training pairs (no attribute split,
 * `train.size` pairs) and reports pref_acc on a pooled eval set of
 * `eval.pairs` pairs drawn across all users.
 */
import { Effect } from "effect"
import { join } from "node:path"
import { buildPool, partitionOptionsFromParams } from "../src/data/index.js"
import { defineStage } from "../src/engine/stage.js"
import { encodePairs } from "../src/ml/data.js"
import { prefAccuracy } from "../src/ml/train.js"
import { attempt, writeJson } from "./lib/effect.js"
import { loadReference, mlFacts, mlResources, startBackend } from "./lib/models.js"
import { readPairFile, upstreamFile } from "./lib/pairs.js"
import { numberParam } from "./lib/params.js"
import { contextLength, parseMethod, trainFromReference, trainingMetrics } from "./lib/training.js"

export default defineStage({
  facts: mlFacts,
  resources: mlResources,
  run: (ctx) =>
    Effect.gen(function* () {
      const method = yield* attempt(() => parseMethod(ctx.matrix["method"]))
      const seed = Number(ctx.matrix["seed"])
      yield* attempt(() => startBackend(ctx.facts))
      const { model: reference } = yield* attempt(() => loadReference(ctx.inputs, { trainable: false }))
      const pool = yield* attempt(() =>
        buildPool(readPairFile(upstreamFile(ctx.inputs, "dataset", "pairs.jsonl")), partitionOptionsFromParams(ctx.params)),
      )
      const run = yield* attempt(() => trainFromReference(ctx, reference, pool.train, pool.eval, method, seed))
      const acc = yield* attempt(() => {
        const encoded = encodePairs(reference.tokenizer!, pool.eval, contextLength(ctx, reference))
        return prefAccuracy(run.policy, reference, encoded.pairs, numberParam(ctx.params, "train.beta", { above: 0 }))
      })
      yield* attempt(() =>
        writeJson(join(ctx.outDir, "baseline.json"), {
          ...trainingMetrics(run, { instance: ctx.instance, matrix: ctx.matrix, pool: pool.summary }),
          pref_acc: acc.accuracy,
          correct: acc.correct,
          total: acc.total,
        }),
      )
      yield* ctx.log(`baseline pref_acc ${acc.correct}/${acc.total} = ${(100 * acc.accuracy).toFixed(2)}%`)
      run.policy.dispose()
      reference.dispose()
    }),
})
