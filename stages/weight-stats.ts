/**
 * Stage `weight-stats` (split × group): WPO weights of the group's training
 * pairs under the reference policy (where every WPO run starts): mean, min,
 * max, quantiles, the same per source model, and a histogram. At most
 * `weights.max_pairs` pairs are scored (a seeded sample when there are more).
 */
import { Effect } from "effect"
import { join } from "node:path"
import { createRng, quantile, type PreferencePair } from "../src/data/index.js"
import { defineStage } from "../src/engine/stage.js"
import { encodePairs } from "../src/ml/data.js"
import { wpoWeights } from "../src/ml/train.js"
import { attempt, writeJson } from "./lib/effect.js"
import { loadReference, mlFacts, startBackend } from "./lib/models.js"
import { readPairFile, upstreamFile } from "./lib/pairs.js"
import { numberParam } from "./lib/params.js"
import { contextLength } from "./lib/training.js"

const QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]
const BINS = 20

const summarise = (weights: ReadonlyArray<number>) => {
  const sorted = [...weights].sort((a, b) => a - b)
  const sum = weights.reduce((a, b) => a + b, 0)
  return {
    pairs: weights.length,
    wMean: sum / weights.length,
    wMin: sorted[0]!,
    wMax: sorted[sorted.length - 1]!,
    quantiles: QUANTILES.map((q) => ({ q, value: quantile(sorted, q) })),
  }
}

const histogram = (weights: ReadonlyArray<number>, clamp: number) => {
  const top = Number.isFinite(clamp) ? clamp : Math.max(...weights)
  const edges = Array.from({ length: BINS + 1 }, (_, i) => (top * i) / BINS)
  const counts = new Array<number>(BINS).fill(0)
  for (const w of weights) counts[Math.min(BINS - 1, Math.floor((w / top) * BINS))]! += 1
  return { edges, counts }
}

export default defineStage({
  facts: mlFacts,
  run: (ctx) =>
    Effect.gen(function* () {
      const group = String(ctx.matrix["group"])
      yield* attempt(() => startBackend(ctx.facts))
      const { model: reference } = yield* attempt(() => loadReference(ctx.inputs, { trainable: false }))
      const all = yield* attempt(() => readPairFile(upstreamFile(ctx.inputs, "split", `${group}.train.jsonl`)))
      const maxPairs = yield* attempt(() => numberParam(ctx.params, "weights.max_pairs", { integer: true, min: 1 }))
      const pairs: PreferencePair[] =
        all.length > maxPairs ? createRng("weight-stats", String(ctx.matrix["split"]), group).shuffle(all).slice(0, maxPairs) : all
      const clamp = yield* attempt(() =>
        ctx.params["train.clamp"] === null ? Infinity : numberParam(ctx.params, "train.clamp", { above: 0 }),
      )
      const result = yield* attempt(() => {
        if (pairs.length === 0) throw new Error(`${ctx.instance}: group ${group} has no training pairs`)
        const encoded = encodePairs(reference.tokenizer!, pairs, contextLength(ctx, reference))
        return { weights: Array.from(wpoWeights(reference, encoded.pairs, clamp).weights), truncated: encoded.truncated }
      })
      const bySource = new Map<string, number[]>()
      pairs.forEach((pair, i) => {
        const weights = bySource.get(pair.source)
        if (weights === undefined) bySource.set(pair.source, [result.weights[i]!])
        else weights.push(result.weights[i]!)
      })
      const stats = {
        instance: ctx.instance,
        matrix: ctx.matrix,
        scored_of: all.length,
        truncated: result.truncated,
        ...summarise(result.weights),
        bySource: [...bySource.keys()].sort().map((source) => {
          const s = summarise(bySource.get(source)!)
          return { source, pairs: s.pairs, wMean: s.wMean, wMin: s.wMin }
        }),
        histogram: histogram(result.weights, clamp),
      }
      yield* attempt(() => writeJson(join(ctx.outDir, "stats.json"), stats))
      yield* ctx.log(`w_mean ${stats.wMean.toFixed(4)}, w_min ${stats.wMin.toFixed(4)} over ${stats.pairs} pairs`)
      reference.dispose()
    }),
})
