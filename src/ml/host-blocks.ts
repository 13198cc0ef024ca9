/**
 * Transformer blocks computed in JS loops over host copies of their inputs
 * (see `compute-mode.ts` for when), with hand-written gradients. Each is a
 * `tf.customGrad`, so autograd sees one op per block. Arithmetic is float64
 * per element, stored as float32.
 */
import type * as tfc from "@tensorflow/tfjs-core"
import { tf } from "./tf.ts"

type Save = tfc.GradSaveFunc

const host = (t: tfc.Tensor): Float32Array => t.dataSync() as Float32Array

/** RMSNorm: x [N, d], weight [d] -> x · rsqrt(mean(x²) + eps) · weight. */
export const hostRmsNorm = (x: tfc.Tensor2D, weight: tfc.Tensor1D, eps: number): tfc.Tensor2D =>
  (
    tf.customGrad((...args: unknown[]) => {
      const [input, w] = args as [tfc.Tensor2D, tfc.Tensor1D]
      const [N, d] = input.shape
      const xs = host(input)
      const ws = host(w)
      const inverseRms = new Float64Array(N)
      const out = new Float32Array(N * d)
      for (let n = 0; n < N; n++) {
        let sum = 0
        for (let j = 0; j < d; j++) sum += xs[n * d + j]! * xs[n * d + j]!
        const r = 1 / Math.sqrt(sum / d + eps)
        inverseRms[n] = r
        for (let j = 0; j < d; j++) out[n * d + j] = xs[n * d + j]! * r * ws[j]!
      }
      const gradFunc = (dy: tfc.Tensor) => {
        const g = host(dy)
        const dx = new Float32Array(N * d)
        const dw = new Float64Array(d)
        for (let n = 0; n < N; n++) {
          const r = inverseRms[n]!
          // d(x·r)/dx applied to gw = g·w: r · (gw − x·r · mean(gw · x·r)).
          let dot = 0
          for (let j = 0; j < d; j++) {
            const normed = xs[n * d + j]! * r
            dot += g[n * d + j]! * ws[j]! * normed
            dw[j]! += g[n * d + j]! * normed
          }
          const meanDot = dot / d
          for (let j = 0; j < d; j++) {
            dx[n * d + j] = r * (g[n * d + j]! * ws[j]! - xs[n * d + j]! * r * meanDot)
          }
        }
        return [tf.tensor2d(dx, [N, d]), tf.tensor1d(Float32Array.from(dw))]
      }
      return { value: tf.tensor2d(out, [N, d]), gradFunc }
    }) as unknown as (x: tfc.Tensor2D, w: tfc.Tensor1D) => tfc.Tensor2D
  )(x, weight)

/** SwiGLU on the fused gate/up projection: h [N, 2I] (gate columns, then up) -> silu(gate) · up [N, I]. */
export const hostSwiglu = (h: tfc.Tensor2D): tfc.Tensor2D =>
  (
    tf.customGrad((...args: unknown[]) => {
      const input = args[0] as tfc.Tensor2D
      const [N, width] = input.shape
      const I = width / 2
      const hs = host(input)
      const out = new Float32Array(N * I)
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < I; i++) {
          const g = hs[n * width + i]!
          out[n * I + i] = (g / (1 + Math.exp(-g))) * hs[n * width + I + i]!
        }
      }
      const gradFunc = (dy: tfc.Tensor) => {
        const d = host(dy)
        const dh = new Float32Array(N * width)
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < I; i++) {
            const g = hs[n * width + i]!
            const u = hs[n * width + I + i]!
            const s = 1 / (1 + Math.exp(-g))
            const dOut = d[n * I + i]!
            // silu'(g) = s · (1 + g · (1 − s))
            dh[n * width + i] = dOut * u * s * (1 + g * (1 - s))
            dh[n * width + I + i] = dOut * g * s
          }
        }
        return tf.tensor2d(dh, [N, width])
      }
      return { value: tf.tensor2d(out, [N, I]), gradFunc }
    }) as unknown as (h: tfc.Tensor2D) => tfc.Tensor2D
  )(h)

/** Rotary angles of one model: cos and sin of t · θ_i for t < maxLength and i < hd/2. */
export interface RotaryTable {
  readonly cos: Float64Array
  readonly sin: Float64Array
  readonly half: number
}

export const rotaryTable = (maxLength: number, hd: number, theta: number): RotaryTable => {
  const half = hd / 2
  const cos = new Float64Array(maxLength * half)
  const sin = new Float64Array(maxLength * half)
  for (let t = 0; t < maxLength; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * Math.pow(theta, (-2 * i) / hd)
      cos[t * half + i] = Math.cos(angle)
      sin[t * half + i] = Math.sin(angle)
    }
  }
  return { cos, sin, half }
}

export interface AttentionShape {
  readonly S: number
  readonly T: number
  readonly H: number
  readonly Hkv: number
  readonly hd: number
}

/**
 * Causal grouped-query self-attention from the fused q/k/v projection to the
 * merged heads: qkv [S·T, (H + 2·Hkv)·hd] (after its bias) -> [S·T, H·hd].
 * Rotary positions (rotate_half layout) and the 1/sqrt(hd) scale are applied
 * in JS while the heads are rearranged; the matmuls and the softmax run as
 * tfjs kernels. `mask` is the additive causal mask [G·T, T].
 */
export const hostAttention = (
  qkv: tfc.Tensor2D,
  shape: AttentionShape,
  rotary: RotaryTable,
  mask: tfc.Tensor2D,
): tfc.Tensor2D =>
  (
    tf.customGrad((...args: unknown[]) => {
      const [input, save] = args as [tfc.Tensor2D, Save]
      const { S, T, H, Hkv, hd } = shape
      const G = H / Hkv
      const half = hd / 2
      const width = (H + 2 * Hkv) * hd
      const scale = 1 / Math.sqrt(hd)
      const xs = host(input)
      const q = new Float32Array(S * H * T * hd)
      const k = new Float32Array(S * Hkv * T * hd)
      const v = new Float32Array(S * Hkv * T * hd)
      for (let s = 0; s < S; s++) {
        for (let t = 0; t < T; t++) {
          const row = (s * T + t) * width
          const angles = t * half
          for (let head = 0; head < H + 2 * Hkv; head++) {
            const from = row + head * hd
            let target: Float32Array
            let at: number
            let factor = 1
            if (head < H) {
              // Query head kv·G + g goes to row g·T + t of key/value head kv.
              const kv = Math.floor(head / G)
              at = ((s * Hkv + kv) * G * T + (head % G) * T + t) * hd
              target = q
              factor = scale
            } else if (head < H + Hkv) {
              at = ((s * Hkv + head - H) * T + t) * hd
              target = k
            } else {
              at = ((s * Hkv + head - H - Hkv) * T + t) * hd
              for (let i = 0; i < hd; i++) v[at + i] = xs[from + i]!
              continue
            }
            for (let i = 0; i < half; i++) {
              const c = rotary.cos[angles + i]! * factor
              const sn = rotary.sin[angles + i]! * factor
              const a = xs[from + i]!
              const b = xs[from + half + i]!
              target[at + i] = a * c - b * sn
              target[at + half + i] = b * c + a * sn
            }
          }
        }
      }
      const qt = tf.tensor4d(q, [S, Hkv, G * T, hd])
      const kt = tf.tensor4d(k, [S, Hkv, T, hd])
      const vt = tf.tensor4d(v, [S, Hkv, T, hd])
      const p = tf.softmax(tf.add(tf.matMul(qt, kt, false, true), mask))
      const context = host(tf.matMul(p, vt))
      save([qt, kt, vt, p])
      const merged = new Float32Array(S * T * H * hd)
      // Merged row s·T + t, columns head·hd + i, from context [s, kv, g·T + t, i].
      const permute = (from: Float32Array, to: Float32Array, toMerged: boolean) => {
        for (let s = 0; s < S; s++) {
          for (let head = 0; head < H; head++) {
            const kv = Math.floor(head / G)
            for (let t = 0; t < T; t++) {
              const c = ((s * Hkv + kv) * G * T + (head % G) * T + t) * hd
              const m = (s * T + t) * H * hd + head * hd
              if (toMerged) to.set(from.subarray(c, c + hd), m)
              else to.set(from.subarray(m, m + hd), c)
            }
          }
        }
      }
      permute(context, merged, true)
      const gradFunc = (dy: tfc.Tensor, saved: tfc.Tensor[]) => {
        const [qs, ks, vs, ps] = saved as [tfc.Tensor4D, tfc.Tensor4D, tfc.Tensor4D, tfc.Tensor4D]
        const dContext = new Float32Array(S * Hkv * G * T * hd)
        permute(host(dy), dContext, false)
        let dq: Float32Array = new Float32Array(0)
        let dk = dq
        let dv = dq
        // The scope returns nothing: tf.tidy walks every element of a returned typed array.
        tf.tidy(() => {
          const dc = tf.tensor4d(dContext, [S, Hkv, G * T, hd])
          const dp = tf.matMul(dc, vs, false, true)
          const ds = tf.mul(ps, tf.sub(dp, tf.sum(tf.mul(dp, ps), -1, true)))
          dq = host(tf.matMul(ds, ks))
          dk = host(tf.matMul(ds, qs, true, false))
          dv = host(tf.matMul(ps, dc, true, false))
        })
        const dx = new Float32Array(S * T * width)
        for (let s = 0; s < S; s++) {
          for (let t = 0; t < T; t++) {
            const row = (s * T + t) * width
            const angles = t * half
            for (let head = 0; head < H + 2 * Hkv; head++) {
              const to = row + head * hd
              let source: Float32Array
              let at: number
              let factor = 1
              if (head < H) {
                at = ((s * Hkv + Math.floor(head / G)) * G * T + (head % G) * T + t) * hd
                source = dq
                factor = scale
              } else if (head < H + Hkv) {
                at = ((s * Hkv + head - H) * T + t) * hd
                source = dk
              } else {
                at = ((s * Hkv + head - H - Hkv) * T + t) * hd
                dx.set(dv.subarray(at, at + hd), to)
                continue
              }
              // The rotation's transpose: rotate by −angle.
              for (let i = 0; i < half; i++) {
                const c = rotary.cos[angles + i]! * factor
                const sn = rotary.sin[angles + i]! * factor
                const a = source[at + i]!
                const b = source[at + half + i]!
                dx[to + i] = a * c + b * sn
                dx[to + half + i] = b * c - a * sn
              }
            }
          }
        }
        return tf.tensor2d(dx, [S * T, width])
      }
      return { value: tf.tensor2d(merged, [S * T, H * hd]), gradFunc }
    }) as unknown as (qkv: tfc.Tensor2D) => tfc.Tensor2D
  )(qkv)
