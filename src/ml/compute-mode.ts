/**
 * Placement of the loss head and of the transformer blocks. `host` copies a
 * part's inputs into JS, computes it in float64 loops and copies the result
 * back (`losses.ts`, `host-blocks.ts`). `tensor` keeps everything in tfjs ops
 * and never copies activations off the device, as GPUs and large
 * vocabularies need. `auto` picks what measured faster for the small preset
 * (DPO step, 64 tokens, 8 pairs, 2-core AMD EPYC, Node 20): the host loss
 * head on wasm and cpu (about 2x faster than its tfjs ops), the host blocks
 * on cpu only (1.8 s against 2.6 s per step; on wasm they were slower than
 * the wasm kernels). Parts larger than 2^24 elements always stay in tfjs.
 */
import { tf } from "./tf.ts"

export type ComputeMode = "auto" | "host" | "tensor"

let mode: ComputeMode = "auto"

/** Sets the compute mode for later calls (see `ComputeMode`); returns the previous one. */
export const setComputeMode = (next: ComputeMode): ComputeMode => {
  const previous = mode
  mode = next
  return previous
}

/** Whether `part`, over `elements` values, runs in JS under the current mode and backend. */
export const useHostCompute = (elements: number, part: "head" | "blocks"): boolean => {
  if (mode !== "auto") return mode === "host"
  const backend = tf.getBackend()
  if (elements > 1 << 24) return false
  return backend === "cpu" || (backend === "wasm" && part === "head")
}
