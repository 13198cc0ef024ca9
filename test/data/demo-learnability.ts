/**
 * Measures whether the small preset learns the demo's planted effects with
 * the demo profile's training settings, outside the pipeline engine:
 *
 *   node --import tsx test/data/demo-learnability.ts [--splits S1_age,S6_region]
 *     [--methods dpo,wpo] [--seeds 42] [--steps 40] [--data-seed 143]
 *
 * It first trains the reference on next-token prediction over the on-policy
 * styles (150 steps, lr 3e-3, batch 16). Then, per split, group, method and
 * seed, it trains a policy for 40 steps (batch 8, beta 0.1, lr 1e-3, 256 train
 * pairs). It prints pref_acc on the group's 128 eval pairs next to the eval
 * set's marker share.
 */
import { parseArgs } from "node:util"
import { DEMO_DATA_SEED, DEMO_MARKER, DEMO_REFERENCE_SOURCES, demoMarkerShare, loadDemo } from "../../src/data/demo.ts"
import { buildSplit } from "../../src/data/partition.ts"
import { createRng } from "../../src/data/random.ts"
import { parseSplits } from "../../src/data/splits.ts"
import { STUDY_SPLITS } from "../../src/data/study-splits.ts"
import { initBackend } from "../../src/ml/backend.ts"
import { encodePairs, encodeTexts } from "../../src/ml/data.ts"
import { createPreset } from "../../src/ml/preset.ts"
import { prefAccuracy, trainLanguageModel, trainPreference } from "../../src/ml/train.ts"

const { values } = parseArgs({
  options: {
    splits: { type: "string", default: "S1_age,S2_personalisation,S3_safety,S6_region" },
    methods: { type: "string", default: "dpo,wpo" },
    seeds: { type: "string", default: "42" },
    steps: { type: "string", default: "40" },
    "data-seed": { type: "string", default: String(DEMO_DATA_SEED) },
  },
})

const backend = await initBackend({})
console.log(`backend ${backend.name}`)
const demo = loadDemo()
const reference = createPreset("small", 0)
const tokenizer = reference.tokenizer!
const maxLength = Math.min(64, reference.config.maxLength)

const texts: string[] = []
for (const pair of demo.pairs) {
  if (!DEMO_REFERENCE_SOURCES.includes(pair.source as never)) continue
  texts.push(tokenizer.formatPrompt(pair.prompt) + pair.chosen)
  texts.push(tokenizer.formatPrompt(pair.prompt) + pair.rejected)
}
const sequences = encodeTexts(tokenizer, createRng("reference", "0").shuffle(texts), maxLength)
const lm = trainLanguageModel(reference, sequences, { steps: 150, lr: 0.003, batch: 16, seed: 0 })
console.log(`reference: loss ${lm.losses[0]!.toFixed(3)} -> ${lm.losses.at(-1)!.toFixed(3)} in ${lm.seconds.toFixed(1)} s`)

const wanted = values.splits!.split(",")
const splits = parseSplits(STUDY_SPLITS).filter((s) => wanted.includes(s.name))
for (const split of splits) {
  const result = buildSplit(demo.pairs, split, { seed: Number(values["data-seed"]), trainSize: 256 })
  for (const method of values.methods!.split(",") as Array<"dpo" | "wpo">) {
    for (const seed of values.seeds!.split(",").map(Number)) {
      const accuracy: Record<string, number> = {}
      const markerPreference: Record<string, number> = {}
      for (const group of ["A", "B"] as const) {
        const train = encodePairs(tokenizer, result.groups[group].train, maxLength)
        const evalPairs = result.groups[group].eval
        const policy = reference.clone({ trainable: true })
        trainPreference({
          policy,
          reference,
          pairs: train.pairs,
          method,
          beta: 0.1,
          lr: 0.001,
          batch: 8,
          steps: Number(values.steps),
          seed,
        })
        accuracy[group] = prefAccuracy(policy, reference, encodePairs(tokenizer, evalPairs, maxLength).pairs, 0.1).accuracy
        // The same eval pairs oriented so the marked response is chosen: how often the policy prefers the marker.
        const oriented = evalPairs.map((p) => (p.chosen.startsWith(DEMO_MARKER) ? p : { ...p, chosen: p.rejected, rejected: p.chosen }))
        markerPreference[group] = prefAccuracy(policy, reference, encodePairs(tokenizer, oriented, maxLength).pairs, 0.1).accuracy
        policy.dispose()
      }
      const share = (group: "A" | "B") => demoMarkerShare(result.groups[group].eval)!.toFixed(3)
      console.log(
        `${split.name} ${method} seed ${seed}: pref_acc A ${accuracy.A!.toFixed(3)} B ${accuracy.B!.toFixed(3)} ` +
          `diff ${(accuracy.A! - accuracy.B!).toFixed(3)} | marker share A ${share("A")} B ${share("B")} | ` +
          `marker preference A ${markerPreference.A!.toFixed(2)} B ${markerPreference.B!.toFixed(2)}`,
      )
    }
  }
}
