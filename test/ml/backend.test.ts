import { createRequire } from "node:module"
import { afterEach, describe, expect, it } from "vitest"
import { detectBackendKind, initBackend, parseBackendKind } from "../../src/ml/backend.ts"
import { createPreset } from "../../src/ml/preset.ts"
import { tf } from "../../src/ml/tf.ts"
import { isWasmMatMulPatched, setWasmMatMulPatch } from "../../src/ml/wasm-kernels.ts"

const resolvable = (name: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(name)
    return true
  } catch {
    return false
  }
}

const savedEnv = process.env.PIPE_BACKEND

afterEach(() => {
  if (savedEnv === undefined) delete process.env.PIPE_BACKEND
  else process.env.PIPE_BACKEND = savedEnv
})

describe("backend selection", () => {
  it("detects without loading tfjs", () => {
    delete process.env.PIPE_BACKEND
    const expected = resolvable("@tensorflow/tfjs-node-gpu")
      ? "tfjs-node-gpu"
      : resolvable("@tensorflow/tfjs-node")
        ? "tfjs-node"
        : "wasm"
    expect(detectBackendKind()).toBe(expected)
    expect(detectBackendKind("cpu")).toBe("cpu")
    expect(detectBackendKind("gpu")).toBe("tfjs-node-gpu")
    process.env.PIPE_BACKEND = "cpu"
    expect(detectBackendKind()).toBe("cpu")
    expect(detectBackendKind("wasm")).toBe("wasm")
  })

  it("rejects unknown names with the valid ones", () => {
    expect(() => parseBackendKind("webgl")).toThrow(/invalid backend "webgl": expected one of tfjs-node-gpu, tfjs-node, wasm, cpu/)
    process.env.PIPE_BACKEND = "tpu"
    expect(() => detectBackendKind()).toThrow(/invalid PIPE_BACKEND "tpu"/)
  })

  it("fails clearly when a forced native backend is missing", async () => {
    if (resolvable("@tensorflow/tfjs-node")) return
    await expect(initBackend({ backend: "tfjs-node" })).rejects.toThrow(
      /backend tfjs-node could not be loaded: .*npm install @tensorflow\/tfjs-node@4\.22\.0/,
    )
  })

  it("falls back to wasm and says why", async () => {
    delete process.env.PIPE_BACKEND
    const info = await initBackend()
    expect(tf.getBackend()).toBe(info.tfBackend)
    if (!resolvable("@tensorflow/tfjs-node-gpu") && !resolvable("@tensorflow/tfjs-node")) {
      expect(info.name).toBe("wasm")
      expect(info.reason).toBe("using wasm because @tensorflow/tfjs-node-gpu is not installed and @tensorflow/tfjs-node is not installed")
      expect(isWasmMatMulPatched()).toBe(true)
    }
  })
})

describe("wasm kernels", () => {
  it("patched matmul equals the stock kernel", async () => {
    await initBackend({ backend: "wasm" })
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [7, 3], true, false],
      [[5, 7], [3, 7], false, true],
      [[7, 5], [3, 7], true, true],
      [[4, 5, 7], [4, 7, 3], false, false],
      [[4, 7, 5], [4, 3, 7], true, true],
      [[4, 5, 7], [1, 7, 3], false, false],
      [[1, 5, 7], [4, 3, 7], false, true],
      [[2, 3, 5, 7], [2, 3, 3, 7], false, true],
    ]
    for (const [shapeA, shapeB, transposeA, transposeB] of cases) {
      const a = tf.randomNormal(shapeA, 0, 1, "float32", 1)
      const b = tf.randomNormal(shapeB, 0, 1, "float32", 2)
      setWasmMatMulPatch(false)
      const stock = tf.matMul(a, b, transposeA, transposeB)
      setWasmMatMulPatch(true)
      const patched = tf.matMul(a, b, transposeA, transposeB)
      expect(patched.shape, `${shapeA} x ${shapeB}`).toEqual(stock.shape)
      const diff = tf.max(tf.abs(tf.sub(patched, stock))).dataSync()[0]!
      expect(diff, `${shapeA} x ${shapeB} (${transposeA}, ${transposeB})`).toBeLessThan(1e-5)
      tf.dispose([a, b, stock, patched])
    }
  })

  it("differentiates gather on wasm as on cpu", async () => {
    const gradOn = async (backend: string) => {
      await initBackend({ backend })
      const table = tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]))
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, tf.tensor1d([3, 1, 3, 0], "int32")), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]))), [table])
      const out = Array.from(grads[table.name]!.dataSync())
      table.dispose()
      return out
    }
    const wasm = await gradOn("wasm")
    const cpu = await gradOn("cpu")
    expect(wasm).toEqual(cpu)
    expect(wasm).toEqual([7, 8, 3, 4, 0, 0, 6, 8])
  })

  it("gives the same logits on cpu and wasm", async () => {
    await initBackend({ backend: "wasm" })
    const model = createPreset("small", 4)
    const ids = tf.tensor2d([[256, 72, 105, 33, 257, 258]], [1, 6], "int32")
    const wasm = tf.tidy(() => model.forward(ids)).dataSync()
    await initBackend({ backend: "cpu" })
    const cpu = tf.tidy(() => model.forward(ids)).dataSync()
    let max = 0
    for (let i = 0; i < wasm.length; i++) max = Math.max(max, Math.abs(wasm[i]! - cpu[i]!))
    expect(max).toBeLessThan(1e-5)
    model.dispose()
    ids.dispose()
    await initBackend({ backend: "wasm" })
  })

  it("computes only the requested logits rows", async () => {
    for (const backend of ["wasm", "cpu"]) {
      await initBackend({ backend })
      const model = createPreset("small", 5)
      const ids = tf.tensor2d([256, 72, 105, 33, 257, 258, 256, 10, 20, 30, 40, 257], [2, 6], "int32")
      const rows = Int32Array.from([1, 2, 3, 8, 9])
      const full = tf.tidy(() => model.forward(ids)).dataSync()
      const part = tf.tidy(() => model.forward(ids, rows)).dataSync()
      const V = model.config.vocabSize
      expect(part.length).toBe(rows.length * V)
      rows.forEach((n, r) => {
        for (let v = 0; v < V; v++) expect(part[r * V + v], `${backend} row ${n}`).toBeCloseTo(full[n * V + v]!, 6)
      })
      expect(() => tf.tidy(() => model.forward(ids, Int32Array.from([12])))).toThrow(/row 12 is outside the batch's 12 positions/)
      model.dispose()
      ids.dispose()
    }
    await initBackend({ backend: "wasm" })
  })
})
