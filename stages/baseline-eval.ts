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
import { attempt, writeJson } from "./lib/effect.js"
import { mlFacts, mlResources } from "./lib/models.js"
import { readPairFile, upstreamFile } from "./lib/pairs.js"
import { prepareTraining, trainFromReference, trainingMetrics } from "./lib/training.js"

export default defineStage({
  facts: mlFacts,
  resources: mlResources,
  run: (ctx) =>
    Effect.gen(function* () {
      const { method, seed, reference } = yield* prepareTraining(ctx)
      const pool = yield* attempt(() =>
        buildPool(readPairFile(upstreamFile(ctx.inputs, "dataset", "pairs.jsonl")), partitionOptionsFromParams(ctx.params)),
      )
      const run = yield* attempt(() => trainFromReference(ctx, reference, pool.train, pool.eval, method, seed))
      // The learning curve ends with pref_acc of the final policy on the pooled eval pairs.
      const final = run.result.curve.at(-1)
      if (final === undefined) {
        return yield* attempt(() => {
          throw new Error(`${ctx.instance}: training recorded no pref_acc; the pooled eval set is empty`)
        })
      }
      const total = pool.eval.length
      const acc = { accuracy: final.prefAcc, correct: Math.round(final.prefAcc * total), total }
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
