import type { Tensor } from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import { initBackend } from "../../src/ml/backend.ts"
import { attention, attentionReference, rmsNorm, rmsNormReference, swiglu, swigluReference } from "../../src/ml/blocks.ts"
import { setComputeMode } from "../../src/ml/compute-mode.ts"
import { Model } from "../../src/ml/model.ts"
import { tf } from "../../src/ml/tf.ts"

/** Largest absolute difference between the values and gradients of two implementations of one block. */
const compare = (inputs: Tensor[], fused: (...xs: Tensor[]) => Tensor, reference: (...xs: Tensor[]) => Tensor) => {
  // A fixed random projection turns the output into a scalar with a non-trivial upstream gradient.
  const weights = tf.randomNormal(fused(...inputs).shape, 0, 1, "float32", 9)
  const loss = (f: (...xs: Tensor[]) => Tensor) => (...xs: Tensor[]) => tf.sum(tf.mul(f(...xs), weights))
  const a = tf.grads(loss(fused))(inputs)
  const b = tf.grads(loss(reference))(inputs)
  const maxDiff = (x: Tensor, y: Tensor) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]!
  const value = maxDiff(fused(...inputs), reference(...inputs))
  const grads = a.map((g, i) => maxDiff(g, b[i]!))
  return { value, grads }
}

for (const backend of ["wasm", "cpu"]) {
  describe(`fused blocks on ${backend}`, () => {
    it("RMSNorm matches autograd", async () => {
      await initBackend({ backend })
      const x = tf.randomNormal([6, 8], 0, 2, "float32", 1)
      const w = tf.randomNormal([8], 1, 0.3, "float32", 2)
      const { value, grads } = compare([x, w], (a, b) => rmsNorm(a as never, b as never, 1e-5), (a, b) => rmsNormReference(a as never, b as never, 1e-5))
      expect(value).toBeLessThan(1e-5)
      for (const g of grads) expect(g).toBeLessThan(1e-4)
    })

    it("SwiGLU matches autograd", async () => {
      await initBackend({ backend })
      const g = tf.randomNormal([5, 7], 0, 3, "float32", 3)
      const u = tf.randomNormal([5, 7], 0, 1, "float32", 4)
      const { value, grads } = compare([g, u], (a, b) => swiglu(a as never, b as never), (a, b) => swigluReference(a as never, b as never))
      expect(value).toBeLessThan(1e-5)
      for (const d of grads) expect(d).toBeLessThan(1e-4)
    })

    it("attention matches autograd", async () => {
      await initBackend({ backend })
      const T = 5
      const G = 2
      const mask = new Float32Array(G * T * T)
      for (let g = 0; g < G; g++) for (let t = 0; t < T; t++) for (let u = t + 1; u < T; u++) mask[(g * T + t) * T + u] = -1e9
      const m = tf.tensor2d(mask, [G * T, T])
      const q = tf.randomNormal([2, 3, G * T, 4], 0, 1, "float32", 5)
      const k = tf.randomNormal([2, 3, T, 4], 0, 1, "float32", 6)
      const v = tf.randomNormal([2, 3, T, 4], 0, 1, "float32", 7)
      const { value, grads } = compare(
        [q, k, v],
        (a, b, c) => attention(a as never, b as never, c as never, m),
        (a, b, c) => attentionReference(a as never, b as never, c as never, m),
      )
      expect(value).toBeLessThan(1e-5)
      expect(grads).toHaveLength(3)
      for (const d of grads) expect(d).toBeLessThan(1e-4)
    })
  })
}

describe("host blocks", () => {
  for (const backend of ["wasm", "cpu"]) {
    it(`match the tfjs blocks on ${backend}`, async () => {
      await initBackend({ backend })
      // Grouped-query attention (4 heads, 2 key/value heads), biases and an untied head.
      const model = Model.fromSeed(
        { vocabSize: 259, hiddenSize: 32, intermediateSize: 40, numLayers: 2, numHeads: 4, numKvHeads: 2, maxLength: 16, ropeTheta: 10000, rmsNormEps: 1e-5, attentionBias: true, tieWordEmbeddings: false },
        3,
      )
      const ids = tf.tensor2d([256, 1, 2, 3, 4, 5, 6, 7, 256, 9, 8, 7, 6, 5, 4, 258], [2, 8], "int32")
      const weights = tf.randomNormal([16, 259], 0, 1, "float32", 4)
      const run = (mode: "host" | "tensor") => {
        setComputeMode(mode)
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.forward(ids), weights)), model.variables())
        const out = { value: value.dataSync()[0]!, grads: model.variables().map((v) => grads[v.name]!.dataSync()) }
        tf.dispose([value, ...Object.values(grads)])
        return out
      }
      const tensor = run("tensor")
      const host = run("host")
      setComputeMode("auto")
      expect(Math.abs(host.value - tensor.value)).toBeLessThan(1e-4)
      tensor.grads.forEach((g, i) => {
        let max = 0
        for (let j = 0; j < g.length; j++) max = Math.max(max, Math.abs(g[j]! - host.grads[i]![j]!))
        expect(max, model.variables()[i]!.name).toBeLessThan(1e-4)
      })
      model.dispose()
      tf.dispose([ids, weights])
    })
  }
})
