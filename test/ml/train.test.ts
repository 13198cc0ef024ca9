import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/ml/backend.ts"
import { loadSafetensors, saveSafetensors } from "../../src/ml/checkpoint.ts"
import { encodePairs, encodeTexts, truncatePair } from "../../src/ml/data.ts"
import { createPreset } from "../../src/ml/preset.ts"
import { tf } from "../../src/ml/tf.ts"
import { prefAccuracy, trainLanguageModel, trainPreference, wpoWeights } from "../../src/ml/train.ts"
import { toyPairs } from "./toy.ts"

const dir = mkdtempSync(join(tmpdir(), "pipe-ml-"))

beforeAll(async () => {
  await initBackend({ backend: "wasm" })
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe("truncation", () => {
  it("cuts the prompt start, then response ends", () => {
    const pair = { prompt: [1, 2, 3, 4, 5], chosen: [10, 11, 12], rejected: [20, 21] }
    const fits = truncatePair(pair, 8)
    expect(fits.truncated).toBe(false)
    const short = truncatePair(pair, 6)
    expect(short.truncated).toBe(true)
    expect(short.pair.prompt).toEqual([3, 4, 5])
    expect(short.pair.chosen).toEqual([10, 11, 12])
    expect(short.pair.rejected).toEqual([20, 21])
    const tight = truncatePair(pair, 3)
    expect(tight.pair.prompt).toEqual([5])
    expect(tight.pair.chosen).toEqual([10, 11])
    expect(tight.pair.rejected).toEqual([20, 21])
  })

  it("counts truncated pairs", () => {
    const model = createPreset("small", 1)
    const raw = [
      { prompt: "hi", chosen: "yes", rejected: "no" },
      { prompt: "x".repeat(100), chosen: "yes", rejected: "no" },
    ]
    const { pairs, truncated } = encodePairs(model.tokenizer!, raw, 32)
    expect(truncated).toBe(1)
    expect(pairs[1]!.prompt.length + pairs[1]!.chosen.length).toBe(32)
    // BOS, then the bytes; responses end with EOS.
    expect(pairs[0]!.prompt).toEqual([256, 104, 105])
    expect(pairs[0]!.chosen.at(-1)).toBe(257)
    model.dispose()
  })

  it("rejects an empty prompt naming the pair", () => {
    const model = createPreset("small", 1)
    const tokenizer = { ...model.tokenizer!, bosId: undefined, encode: model.tokenizer!.encode.bind(model.tokenizer), formatPrompt: (p: string) => p }
    expect(() => encodePairs(tokenizer, [{ prompt: "", chosen: "a", rejected: "b" }], 32)).toThrow(/pair 0: the prompt/)
    model.dispose()
  })
})

describe("preference training", () => {
  it("learns the toy preference with DPO and leaks no tensors", () => {
    const baseline = tf.memory().numTensors
    const policy = createPreset("small", 11)
    const reference = policy.clone({ trainable: false })
    const { pairs } = encodePairs(policy.tokenizer!, toyPairs(48, 1), 48)
    const evalPairs = encodePairs(policy.tokenizer!, toyPairs(16, 2), 48).pairs
    const progress: number[] = []
    const result = trainPreference({
      policy,
      reference,
      pairs,
      method: "dpo",
      beta: 0.1,
      lr: 2e-3,
      batch: 8,
      steps: 12,
      seed: 1,
      evalPairs,
      evalEvery: 6,
      onProgress: (m) => progress.push(m.step),
    })
    expect(result.backend).toBe("wasm")
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    // Policy equals reference at step 1: loss log 2, every reward 0, accuracy 0 (ties are wrong).
    expect(result.metrics[0]!.loss).toBeCloseTo(Math.LN2, 6)
    expect(result.metrics[0]!.accuracy).toBe(0)
    expect(result.metrics.at(-1)!.loss).toBeLessThan(0.4)
    expect(result.curve.map((p) => p.step)).toEqual([0, 6, 12])
    expect(result.curve[0]!.prefAcc).toBe(0)
    expect(result.curve.at(-1)!.prefAcc).toBeGreaterThan(0.9)
    const acc = prefAccuracy(policy, reference, evalPairs, 0.1)
    expect(acc.accuracy).toBe(result.curve.at(-1)!.prefAcc)
    policy.dispose()
    reference.dispose()
    expect(tf.memory().numTensors).toBe(baseline)
  })

  it("trains with WPO and reports weights in (0, 1]", () => {
    const policy = createPreset("small", 12)
    const reference = policy.clone({ trainable: false })
    const { pairs } = encodePairs(policy.tokenizer!, toyPairs(32, 3), 48)
    const weights = wpoWeights(reference, pairs)
    for (const w of weights.weights) {
      expect(w).toBeGreaterThan(0)
      expect(w).toBeLessThanOrEqual(1)
    }
    for (let i = 0; i < pairs.length; i++) {
      expect(weights.weights[i]).toBeCloseTo(Math.exp(Math.min(0, weights.logWPair[i]!)), 12)
    }
    const unclamped = wpoWeights(reference, pairs, Infinity)
    expect(Array.from(unclamped.logWPair)).toEqual(Array.from(weights.logWPair))
    const result = trainPreference({ policy, reference, pairs, method: "wpo", beta: 0.1, lr: 2e-3, batch: 8, steps: 6, seed: 2 })
    expect(result.metrics[0]!.wpoWeight).toBeGreaterThan(0)
    expect(result.metrics.at(-1)!.loss).toBeLessThan(result.metrics[0]!.loss)
    policy.dispose()
    reference.dispose()
  })

  it("stops on a non-finite loss naming the step", () => {
    const policy = createPreset("small", 13)
    const reference = policy.clone({ trainable: false })
    const { pairs } = encodePairs(policy.tokenizer!, toyPairs(8, 4), 48)
    const poisoned = tf.fill(policy.norm.shape, NaN)
    policy.norm.assign(poisoned)
    poisoned.dispose()
    expect(() => trainPreference({ policy, reference, pairs, method: "dpo", beta: 0.1, lr: 1e-3, batch: 4, steps: 3, seed: 1 })).toThrow(
      /training stopped at step 1: the dpo loss is NaN/,
    )
    policy.dispose()
    reference.dispose()
  })

  it("gives identical weights and metrics in two processes", () => {
    const run = () =>
      execFileSync(process.execPath, ["--import", "tsx", "test/ml/determinism-run.ts", "wasm", "wpo", "7"], { encoding: "utf8" })
        .trim()
        .split("\n")
        .at(-1)!
    const first = JSON.parse(run())
    const second = JSON.parse(run())
    expect(second.weights).toBe(first.weights)
    expect(second.metrics).toBe(first.metrics)
    expect(Number.isFinite(first.loss)).toBe(true)
  })
})

describe("language-model training", () => {
  it("lowers the next-token loss", () => {
    const model = createPreset("small", 21)
    const texts = toyPairs(32, 9).map((p) => `${p.prompt} ${p.chosen}`)
    const sequences = encodeTexts(model.tokenizer!, texts, 64)
    const result = trainLanguageModel(model, sequences, { steps: 15, lr: 1e-2, batch: 8, seed: 1 })
    expect(result.losses[0]).toBeGreaterThan(5)
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]! - 1.5)
    model.dispose()
  })
})

describe("safetensors checkpoints", () => {
  it("round-trips a trained policy bit for bit", () => {
    const model = createPreset("small", 31)
    const path = join(dir, "policy.safetensors")
    saveSafetensors(model, path, { seed: "31" })
    const { model: loaded, metadata } = loadSafetensors(path)
    expect(metadata.seed).toBe("31")
    expect(metadata["pipe.tokenizer"]).toBe("byte")
    expect(loaded.config).toEqual(model.config)
    const a = model.parameters()
    const b = loaded.parameters()
    for (const [name, t] of a) expect(Buffer.from(b.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true)
    model.dispose()
    loaded.dispose()
  })

  it("rejects a file that is not a saved policy", () => {
    expect(() => loadSafetensors(join(dir, "missing.safetensors"))).toThrow(/ENOENT/)
  })
})

describe("presets", () => {
  it("accept field overrides", () => {
    const model = createPreset("small", 1, { maxLength: 96 })
    expect(model.config.maxLength).toBe(96)
    expect(model.config.hiddenSize).toBe(64)
    expect(model.parameterCount()).toBe(116096)
    model.dispose()
    expect(() => createPreset("small", 1, { vocabSize: 300 })).toThrow(/vocabSize must be 259/)
    expect(() => createPreset("tiny" as "small", 1)).toThrow(/unknown model preset "tiny": expected one of small, scale/)
  })
})
