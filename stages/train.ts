/**
 * Stage `train` (method × split × group × seed): DPO or WPO from the
 * reference policy on one group's training pairs. The seed changes the data
 * order only; the partition is fixed by `data.seed`. Records pref_acc on the
 * group's eval pairs every `eval.every` steps (the learning curve).
 */
import { Effect } from "effect"
import { join } from "node:path"
import { defineStage } from "../src/engine/stage.js"
import { attempt, writeJson } from "./lib/effect.js"
import { mlFacts, mlResources, saveModel } from "./lib/models.js"
import { readPairFile, upstreamFile } from "./lib/pairs.js"
import { prepareTraining, trainFromReference, trainingMetrics } from "./lib/training.js"

export default defineStage({
  facts: mlFacts,
  resources: mlResources,
  run: (ctx) =>
    Effect.gen(function* () {
      const { method, seed, reference } = yield* prepareTraining(ctx)
      const group = String(ctx.matrix["group"])
      const trainPairs = yield* attempt(() => readPairFile(upstreamFile(ctx.inputs, "split", `${group}.train.jsonl`)))
      const evalPairs = yield* attempt(() => readPairFile(upstreamFile(ctx.inputs, "split", `${group}.eval.jsonl`)))
      const run = yield* attempt(() => trainFromReference(ctx, reference, trainPairs, evalPairs, method, seed))
      yield* attempt(() => {
        saveModel(run.policy, join(ctx.outDir, "policy.safetensors"), { "pipe.instance": ctx.instance })
        writeJson(join(ctx.outDir, "metrics.json"), trainingMetrics(run, { instance: ctx.instance, train_pairs: trainPairs.length }))
      })
      const last = run.result.metrics.at(-1)
      yield* ctx.log(
        `${run.result.metrics.length} steps in ${run.result.seconds.toFixed(1)} s; final loss ${last?.loss.toFixed(4)}, ` +
          `truncated pairs: ${run.truncated.train} train, ${run.truncated.eval} eval`,
      )
      run.policy.dispose()
      reference.dispose()
    }),
})
