/**
 * Trains the small preset for a few DPO steps and prints a SHA-256 of the
 * final weights and of the metrics, for the cross-process determinism test.
 * Usage: node --import tsx test/ml/determinism-run.ts BACKEND METHOD SEED
 */
import { createHash } from "node:crypto"
import { initBackend } from "../../src/ml/backend.ts"
import { encodePairs } from "../../src/ml/data.ts"
import { createPreset } from "../../src/ml/preset.ts"
import { trainPreference } from "../../src/ml/train.ts"
import { toyPairs } from "./toy.ts"

const [backend = "wasm", method = "dpo", seed = "1"] = process.argv.slice(2)
await initBackend({ backend })
const policy = createPreset("small", 3)
const reference = policy.clone({ trainable: false })
const { pairs } = encodePairs(policy.tokenizer!, toyPairs(24, 5), 48)
const result = trainPreference({
  policy,
  reference,
  pairs,
  method: method as "dpo" | "wpo",
  beta: 0.1,
  lr: 1e-3,
  batch: 4,
  steps: 4,
  seed: Number(seed),
})
const weights = createHash("sha256")
for (const t of policy.parameters().values()) weights.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
const metrics = createHash("sha256").update(JSON.stringify(result.metrics)).digest("hex")
console.log(JSON.stringify({ weights: weights.digest("hex"), metrics, loss: result.metrics.at(-1)!.loss }))
