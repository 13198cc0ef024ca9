/**
 * Kernels re-registered for the `wasm` backend of tfjs 4.22.
 *
 * - `BatchMatMul`: the stock kernel calls XNNPACK only when neither operand is
 *   transposed and both batches are 1; every other case (all attention and
 *   gradient matmuls) runs a scalar loop about 10x slower. This version
 *   materialises transposes with the wasm `Transpose` kernel, folds a shared
 *   right operand into one large matmul, and otherwise runs one XNNPACK call
 *   per batch entry on zero-copy views of the wasm heap.
 * - `UnsortedSegmentSum`: missing on wasm, so the gradient of `tf.gather`
 *   (embedding lookups) fails without it. A sequential JS loop, so results are
 *   deterministic.
 */
import type * as tfc from "@tensorflow/tfjs-core"
import { tf } from "./tf.ts"

interface WasmModule {
  cwrap: (name: string, ret: null, args: string[]) => (...args: unknown[]) => void
  tfjs: {
    registerTensor: (id: number, size: number, offset: number) => void
    disposeData: (id: number) => void
  }
}

interface WasmBackend {
  wasm: WasmModule
  dataIdNextNumber: number
  dataIdMap: { get: (dataId: unknown) => { id: number; memoryOffset: number } }
  makeOutput: (shape: number[], dtype: tfc.DataType) => tfc.TensorInfo
  disposeData: (dataId: unknown) => boolean
  typedArrayFromHeap: (info: tfc.TensorInfo) => Float32Array | Int32Array | Uint8Array
}

type MatMulFn = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void

const matMulFns = new WeakMap<object, MatMulFn>()

const wasmMatMul = (backend: WasmBackend): MatMulFn => {
  let fn = matMulFns.get(backend)
  if (fn === undefined) {
    fn = backend.wasm.cwrap("BatchMatMul", null, [
      "number",
      "array",
      "number",
      "number",
      "array",
      "number",
      "number",
      "number",
      "number",
    ]) as unknown as MatMulFn
    matMulFns.set(backend, fn)
  }
  return fn
}

const shapeBytes = (shape: number[]): Uint8Array => new Uint8Array(new Int32Array(shape).buffer)

/** Registers a tensor id that aliases `size` floats at `offset` of the heap; release with `disposeData(id)`. */
const makeView = (backend: WasmBackend, offset: number, size: number): number => {
  const id = backend.dataIdNextNumber++
  backend.wasm.tfjs.registerTensor(id, size, offset)
  return id
}

const product = (dims: number[]): number => dims.reduce((p, d) => p * d, 1)

const batchMatMul: tfc.KernelFunc = ({ inputs, backend: rawBackend, attrs }) => {
  const backend = rawBackend as unknown as WasmBackend
  const { a, b } = inputs as { a: tfc.TensorInfo; b: tfc.TensorInfo }
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean }
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new Error(`BatchMatMul on wasm supports float32 only, got ${a.dtype} and ${b.dtype}`)
  }
  const aRank = a.shape.length
  const bRank = b.shape.length
  const batchA = product(a.shape.slice(0, -2))
  const batchB = product(b.shape.slice(0, -2))
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!
  const k = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!
  const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!
  if (k !== kB) {
    throw new Error(`matMul inner dimensions differ: ${a.shape} x ${b.shape} (transposeA=${transposeA}, transposeB=${transposeB})`)
  }
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
    throw new Error(`matMul batch dimensions do not broadcast: ${a.shape} x ${b.shape}`)
  }
  const outerA = a.shape.slice(0, -2)
  const outerB = b.shape.slice(0, -2)
  const outer = batchA >= batchB ? outerA : outerB
  const batch = Math.max(batchA, batchB)

  const transposeKernel = tf.getKernel("Transpose", "wasm")!.kernelFunc
  const temporaries: tfc.TensorInfo[] = []
  const materialise = (x: tfc.TensorInfo, rows: number, cols: number, bat: number, transposed: boolean) => {
    const x3 = { dataId: x.dataId, shape: [bat, rows, cols], dtype: x.dtype }
    if (!transposed) return x3
    const t = transposeKernel({ inputs: { x: x3 }, backend: rawBackend, attrs: { perm: [0, 2, 1] } }) as tfc.TensorInfo
    temporaries.push(t)
    return t
  }
  // After this, a3 is [batchA, m, k] and b3 is [batchB, k, n], both row-major.
  const a3 = materialise(a, transposeA ? k : m, transposeA ? m : k, batchA, transposeA)
  const b3 = materialise(b, transposeB ? n : k, transposeB ? k : n, batchB, transposeB)

  const out = backend.makeOutput([...outer, m, n], "float32")
  const fn = wasmMatMul(backend)
  const aInfo = backend.dataIdMap.get(a3.dataId)
  const bInfo = backend.dataIdMap.get(b3.dataId)
  const outInfo = backend.dataIdMap.get(out.dataId)
  if (batchB === 1) {
    // A shared right operand: one [batchA*m, k] x [k, n] call, the XNNPACK path.
    fn(aInfo.id, shapeBytes([1, batchA * m, k]), 3, bInfo.id, shapeBytes([1, k, n]), 3, false, false, outInfo.id)
  } else {
    const aShape = shapeBytes([1, m, k])
    const bShape = shapeBytes([1, k, n])
    for (let i = 0; i < batch; i++) {
      const aOffset = aInfo.memoryOffset + (batchA === 1 ? 0 : i * m * k * 4)
      const bOffset = bInfo.memoryOffset + i * k * n * 4
      const aId = makeView(backend, aOffset, m * k)
      const bId = makeView(backend, bOffset, k * n)
      const outId = makeView(backend, outInfo.memoryOffset + i * m * n * 4, m * n)
      fn(aId, aShape, 3, bId, bShape, 3, false, false, outId)
      backend.wasm.tfjs.disposeData(aId)
      backend.wasm.tfjs.disposeData(bId)
      backend.wasm.tfjs.disposeData(outId)
    }
  }
  for (const t of temporaries) backend.disposeData(t.dataId)
  return out
}

const unsortedSegmentSum: tfc.KernelFunc = ({ inputs, backend: rawBackend, attrs }) => {
  const backend = rawBackend as unknown as WasmBackend
  const { x, segmentIds } = inputs as { x: tfc.TensorInfo; segmentIds: tfc.TensorInfo }
  const { numSegments } = attrs as unknown as { numSegments: number }
  if (x.dtype !== "float32") throw new Error(`UnsortedSegmentSum on wasm supports float32 only, got ${x.dtype}`)
  const inner = product(x.shape.slice(segmentIds.shape.length))
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], "float32")
  const ids = backend.typedArrayFromHeap(segmentIds)
  const values = backend.typedArrayFromHeap(x) as Float32Array
  const result = backend.typedArrayFromHeap(out) as Float32Array
  result.fill(0)
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i]!
    if (segment < 0 || segment >= numSegments) continue
    const src = i * inner
    const dst = segment * inner
    for (let j = 0; j < inner; j++) result[dst + j]! += values[src + j]!
  }
  return out
}

let stockMatMul: tfc.KernelConfig | undefined
let patched = false

/** Registers the faster `BatchMatMul` and the missing `UnsortedSegmentSum` for wasm (idempotent). */
export const installWasmKernels = (): void => {
  if (tf.getKernel("UnsortedSegmentSum", "wasm") === undefined) {
    tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: "wasm", kernelFunc: unsortedSegmentSum })
  }
  setWasmMatMulPatch(true)
}

/**
 * Switches between the patched and the stock wasm `BatchMatMul` (for
 * benchmarks). The two differ in the last bits of results, so a run must use
 * one of them throughout.
 */
export const setWasmMatMulPatch = (enabled: boolean): void => {
  if (enabled === patched) return
  if (stockMatMul === undefined) stockMatMul = tf.getKernel("BatchMatMul", "wasm")
  tf.unregisterKernel("BatchMatMul", "wasm")
  if (enabled) {
    tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: batchMatMul })
  } else if (stockMatMul !== undefined) {
    tf.registerKernel(stockMatMul)
    // tfjs runs a kernel's setup only when the backend initialises, which may have happened already.
    const wasm = tf.findBackend("wasm")
    if (wasm !== null) stockMatMul.setupFunc?.(wasm)
  }
  patched = enabled
}

/** Whether the patched wasm `BatchMatMul` is registered. */
export const isWasmMatMulPatched = (): boolean => patched
