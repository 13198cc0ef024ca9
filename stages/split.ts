/**
 * Stage `split` (one instance per split definition): put users (or pairs)
 * into groups A and B by the split's attribute rule, then hold out a seeded
 * eval set per group and cap the train sets (`data.seed`, `eval.pairs`,
 * `data.holdout`, `train.size`, `train.balance`, `data.sources`).
 */
import { Effect } from "effect"
import { buildSplit, parseSplit, partitionOptionsFromParams, writeSplitOutputs } from "../src/data/index.js"
import { defineStage } from "../src/engine/stage.js"
import { attempt } from "./lib/effect.js"
import { readPairFile, upstreamFile } from "./lib/pairs.js"

export default defineStage({
  run: (ctx) =>
    Effect.gen(function* () {
      const name = String(ctx.matrix["split"])
      const result = yield* attempt(() => {
        const pairs = readPairFile(upstreamFile(ctx.inputs, "dataset", "pairs.jsonl"))
        const split = parseSplit(name, ctx.params[`data.splits.${name}`])
        return buildSplit(pairs, split, partitionOptionsFromParams(ctx.params))
      })
      yield* attempt(() => writeSplitOutputs(ctx.outDir, result))
      for (const group of ["A", "B"] as const) {
        const g = result.summary.groups[group]
        yield* ctx.log(
          `group ${group} (${g.label}): ${g.all.pairs} pairs from ${g.all.users} users; train ${g.train.pairs}, eval ${g.eval.pairs}`,
        )
      }
    }),
})
