/**
 * Kernels re-registered for the `wasm` backend of tfjs 4.22.
 *
 * - `BatchMatMul`: the stock kernel calls XNNPACK only when neither operand is
 *   transposed and both batches are 1; every other case (all attention and
 *   gradient matmuls) runs a scalar loop about 10x slower. This version
 *   materialises transposes with the wasm `Transpose` kernel, folds a shared
 *   right operand into one large matmul, and otherwise runs one XNNPACK call
 *   per batch entry on zero-copy views of the wasm heap.
 * - `Identity` and same-dtype `Cast`: the stock kernels copy the data, and
 *   tfjs clones every tensor it saves for the backward pass, so each taped op
 *   paid a full copy. Tensors are immutable, so these versions share the data
 *   and count a reference, as the `cpu` backend and wasm's own `Reshape` do.
 * - `GatherV2` without batch dimensions: the stock kernel runs a generic
 *   per-element loop, about 3 ms for a 1024-row embedding lookup. This one
 *   copies whole slices.
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

const shareData = (x: tfc.TensorInfo, backend: WasmBackend): tfc.TensorInfo => {
  ;(backend as unknown as { incRef: (dataId: unknown) => void }).incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

const stockKernels = new Map<string, tfc.KernelConfig>()

const identity: tfc.KernelFunc = (args) => {
  const x = (args.inputs as { x: tfc.TensorInfo }).x
  if (x.dtype === "string") return stockKernels.get("Identity")!.kernelFunc(args)
  return shareData(x, args.backend as unknown as WasmBackend)
}

const cast: tfc.KernelFunc = (args) => {
  const x = (args.inputs as { x: tfc.TensorInfo }).x
  const { dtype } = args.attrs as unknown as { dtype: tfc.DataType }
  if (x.dtype === dtype && dtype !== "string") return shareData(x, args.backend as unknown as WasmBackend)
  return stockKernels.get("Cast")!.kernelFunc(args)
}

const gather: tfc.KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackend
  const { x, indices } = args.inputs as { x: tfc.TensorInfo; indices: tfc.TensorInfo }
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number }
  if (batchDims !== 0 || (x.dtype !== "float32" && x.dtype !== "int32")) return stockKernels.get("GatherV2")!.kernelFunc(args)
  const parsedAxis = axis < 0 ? axis + x.shape.length : axis
  const outer = product(x.shape.slice(0, parsedAxis))
  const dim = x.shape[parsedAxis]!
  const slice = product(x.shape.slice(parsedAxis + 1))
  const ids = backend.typedArrayFromHeap(indices)
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i]! >= 0 && ids[i]! < dim)) throw new Error(`GatherV2: the index value ${ids[i]} is not in [0, ${dim - 1}]`)
  }
  const out = backend.makeOutput([...x.shape.slice(0, parsedAxis), ...indices.shape, ...x.shape.slice(parsedAxis + 1)], x.dtype)
  // Views are taken after makeOutput, which may grow (and so replace) the heap buffer.
  const source = backend.typedArrayFromHeap(x)
  const target = backend.typedArrayFromHeap(out)
  const index = backend.typedArrayFromHeap(indices)
  let at = 0
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < index.length; i++) {
      const from = (o * dim + index[i]!) * slice
      target.set(source.subarray(from, from + slice), at)
      at += slice
    }
  }
  return out
}

const replaceKernel = (kernelName: string, kernelFunc: tfc.KernelFunc): void => {
  if (stockKernels.has(kernelName)) return
  const stock = tf.getKernel(kernelName, "wasm")
  if (stock === undefined) throw new Error(`tfjs-backend-wasm has no ${kernelName} kernel to replace`)
  stockKernels.set(kernelName, stock)
  tf.unregisterKernel(kernelName, "wasm")
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc })
}

let stockMatMul: tfc.KernelConfig | undefined
let patched = false

/** Registers the kernels described above for wasm (idempotent). */
export const installWasmKernels = (): void => {
  replaceKernel("Identity", identity)
  replaceKernel("Cast", cast)
  replaceKernel("GatherV2", gather)
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
