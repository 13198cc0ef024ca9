/**
 * Decoder-only transformer of the Llama / Qwen2 family on tfjs: RMSNorm,
 * rotary positions in the Hugging Face (rotate_half) layout, grouped-query
 * attention, SwiGLU, optional q/k/v bias, tied or untied embeddings.
 *
 * Linear weights are stored [in, out] (Hugging Face stores [out, in]), so
 * every forward matmul is the XNNPACK fast path on wasm. `toHfTensors` and
 * `fromHfTensors` convert to and from Hugging Face tensor names and layouts.
 */
import type * as tfc from "@tensorflow/tfjs-core"
import { attention, rmsNormalize, swiglu } from "./blocks.ts"
import { useHostCompute } from "./compute-mode.ts"
import { type RotaryTable, hostAttention, hostRmsNorm, hostSwiglu, rotaryTable } from "./host-blocks.ts"
import { type ModelConfig, headDim, validateConfig } from "./config.ts"
import { Prng } from "./prng.ts"
import { tf } from "./tf.ts"
import type { Tokenizer } from "./tokenizer.ts"

/** A float32 tensor as plain data, in row-major order. */
export interface HostTensor {
  readonly shape: number[]
  readonly data: Float32Array
}

interface LayerParams {
  readonly attnNorm: tfc.Variable
  /** [d, H·hd] */
  readonly q: tfc.Variable
  /** [d, Hkv·hd] each */
  readonly k: tfc.Variable
  readonly v: tfc.Variable
  /** [H·hd], [Hkv·hd], [Hkv·hd]; undefined without attention bias. */
  readonly qBias: tfc.Variable | undefined
  readonly kBias: tfc.Variable | undefined
  readonly vBias: tfc.Variable | undefined
  /** [H·hd, d] */
  readonly o: tfc.Variable
  readonly mlpNorm: tfc.Variable
  /** [d, I] each */
  readonly gate: tfc.Variable
  readonly up: tfc.Variable
  /** [I, d] */
  readonly down: tfc.Variable
}

interface PositionTables {
  /** [T, H·hd] cos and sin of the rotary angles for the query columns, scaled by 1/sqrt(hd). */
  readonly cosQ: tfc.Tensor2D
  readonly sinQ: tfc.Tensor2D
  /** [T, Hkv·hd] cos and sin of the rotary angles for the key columns. */
  readonly cosK: tfc.Tensor2D
  readonly sinK: tfc.Tensor2D
  /** [G·T, T] additive causal mask, 0 where allowed and -1e9 above the diagonal, repeated G = H/Hkv times. */
  readonly mask: tfc.Tensor2D
  /** The same angles in host memory, for the host blocks. */
  readonly rotary: RotaryTable
}

let modelCounter = 0

export class Model {
  readonly config: ModelConfig
  readonly tokenizer: Tokenizer | undefined
  /** Origin of the weights, for metadata (a preset name and seed, or a path). */
  readonly source: string
  readonly embed: tfc.Variable
  readonly layers: ReadonlyArray<LayerParams>
  readonly norm: tfc.Variable
  /** [d, V]; undefined when the output layer reuses `embed`. */
  readonly lmHead: tfc.Variable | undefined
  private readonly tables = new Map<number, PositionTables>()
  private readonly rotate: tfc.Tensor2D
  private disposed = false

  private constructor(
    config: ModelConfig,
    tensors: Map<string, HostTensor>,
    tokenizer: Tokenizer | undefined,
    source: string,
    trainable: boolean,
  ) {
    this.config = validateConfig(config)
    this.tokenizer = tokenizer
    this.source = source
    const id = modelCounter++
    const variable = (name: string): tfc.Variable => {
      const t = tensors.get(name)
      if (t === undefined) throw new Error(`${source}: missing parameter ${name}`)
      const initial = tf.tensor(t.data, t.shape, "float32")
      const created = tf.variable(initial, trainable, `m${id}/${name}`)
      // The variable shares the data, so the initial tensor object can go.
      initial.dispose()
      return created
    }
    this.embed = variable("embed")
    this.layers = Array.from({ length: config.numLayers }, (_, i) => ({
      attnNorm: variable(`layers.${i}.attn_norm`),
      q: variable(`layers.${i}.q`),
      k: variable(`layers.${i}.k`),
      v: variable(`layers.${i}.v`),
      qBias: config.attentionBias ? variable(`layers.${i}.q_bias`) : undefined,
      kBias: config.attentionBias ? variable(`layers.${i}.k_bias`) : undefined,
      vBias: config.attentionBias ? variable(`layers.${i}.v_bias`) : undefined,
      o: variable(`layers.${i}.o`),
      mlpNorm: variable(`layers.${i}.mlp_norm`),
      gate: variable(`layers.${i}.gate`),
      up: variable(`layers.${i}.up`),
      down: variable(`layers.${i}.down`),
    }))
    this.norm = variable("norm")
    this.lmHead = config.tieWordEmbeddings ? undefined : variable("lm_head")
    this.rotate = tf.keep(rotateHalfMatrix(headDim(config)))
  }

  /** Builds a model from parameters in the internal layout (see `parameterShapes`). */
  static fromParameters(
    config: ModelConfig,
    tensors: Map<string, HostTensor>,
    options: { tokenizer?: Tokenizer; source?: string; trainable?: boolean } = {},
  ): Model {
    const shapes = parameterShapes(config)
    for (const [name, shape] of shapes) {
      const t = tensors.get(name)
      if (t === undefined) throw new Error(`${options.source ?? "model"}: missing parameter ${name}`)
      if (t.shape.join(",") !== shape.join(",")) {
        throw new Error(
          `${options.source ?? "model"}: parameter ${name} has shape [${t.shape}], expected [${shape}] from the config`,
        )
      }
    }
    return new Model(config, tensors, options.tokenizer, options.source ?? "parameters", options.trainable ?? true)
  }

  /**
   * Initialises a model from a seed: linear and embedding weights from
   * N(0, 0.02²) as in Hugging Face's `initializer_range`, norm weights 1,
   * biases 0.
   */
  static fromSeed(config: ModelConfig, seed: number, tokenizer?: Tokenizer, source?: string): Model {
    validateConfig(config)
    const prng = new Prng(seed)
    const tensors = new Map<string, HostTensor>()
    for (const [name, shape] of parameterShapes(config)) {
      const size = shape.reduce((p, d) => p * d, 1)
      const data = new Float32Array(size)
      if (name.endsWith("norm")) data.fill(1)
      else if (!name.endsWith("bias")) for (let i = 0; i < size; i++) data[i] = 0.02 * prng.normal()
      tensors.set(name, { shape, data })
    }
    return new Model(config, tensors, tokenizer, source ?? `seed ${seed}`, true)
  }

  /** Trainable parameters in a fixed order (the order of `parameterShapes`). */
  variables(): tfc.Variable[] {
    const list: tfc.Variable[] = [this.embed]
    for (const layer of this.layers) {
      list.push(layer.attnNorm, layer.q, layer.k, layer.v)
      if (layer.qBias && layer.kBias && layer.vBias) list.push(layer.qBias, layer.kBias, layer.vBias)
      list.push(layer.o, layer.mlpNorm, layer.gate, layer.up, layer.down)
    }
    list.push(this.norm)
    if (this.lmHead) list.push(this.lmHead)
    return list
  }

  /** Parameters in the internal layout, copied to host memory, keyed by internal name. */
  parameters(): Map<string, HostTensor> {
    const names = [...parameterShapes(this.config).keys()]
    const vars = this.variables()
    return new Map(names.map((name, i) => [name, { shape: vars[i]!.shape.slice(), data: vars[i]!.dataSync() as Float32Array }]))
  }

  /** Returns an independent copy; `trainable: false` gives a frozen reference. */
  clone(options: { trainable?: boolean } = {}): Model {
    return new Model(this.config, this.parameters(), this.tokenizer, this.source, options.trainable ?? true)
  }

  /**
   * Runs the transformer on right-padded token ids.
   * ids: int32 [S, T] with T <= config.maxLength. Returns logits float32 [S·T, V],
   * where row s·T + t predicts the token at position t + 1 of sequence s.
   * With `rows`, returns [R, V] for the listed positions s·T + t only, and
   * the output layer runs on those rows alone.
   */
  forward(ids: tfc.Tensor2D, rows?: Int32Array): tfc.Tensor2D {
    if (this.disposed) throw new Error(`${this.source}: the model was disposed; load or create it again`)
    const [S, T] = ids.shape
    if (T > this.config.maxLength) {
      throw new Error(
        `sequence length ${T} exceeds the model's maxLength ${this.config.maxLength}; truncate inputs with encodePairs or encodeTexts`,
      )
    }
    const { numHeads: H, numKvHeads: Hkv, vocabSize: V } = this.config
    const hd = headDim(this.config)
    const G = H / Hkv
    const N = S * T
    const tables = this.positionTables(T)
    const onHost = useHostCompute(N * 2 * this.config.intermediateSize, "blocks")
    const eps = this.config.rmsNormEps
    // On the tfjs path the norm weight is folded into the rows of the next matmul's weight.
    const normalize = (x: tfc.Tensor2D) => rmsNormalize(x, eps)
    const scaleRows = (w: tfc.Variable, norm: tfc.Variable) => tf.mul(w, tf.reshape(norm, [-1, 1])) as tfc.Tensor2D
    const hostNorm = (x: tfc.Tensor2D, weight: tfc.Variable) => hostRmsNorm(x, weight as tfc.Tensor1D, eps)
    return tf.tidy(() => {
      const flatIds = tf.reshape(ids, [N])
      let x: tfc.Tensor2D =
        tf.getBackend() === "cpu"
          ? // The cpu backend's gather gradient is O(V·N); a one-hot matmul is faster there.
            tf.matMul(tf.cast(tf.oneHot(flatIds, V), "float32"), this.embed as tfc.Tensor2D)
          : (tf.gather(this.embed, flatIds) as tfc.Tensor2D)
      for (const layer of this.layers) {
        // Attention block.
        if (onHost) {
          // The host blocks take the q/k/v and gate/up projections fused.
          let qkv = tf.matMul(hostNorm(x, layer.attnNorm), tf.concat([layer.q, layer.k, layer.v], 1) as tfc.Tensor2D)
          if (layer.qBias && layer.kBias && layer.vBias) qkv = tf.add(qkv, tf.concat([layer.qBias, layer.kBias, layer.vBias]))
          const merged = hostAttention(qkv as tfc.Tensor2D, { S, T, H, Hkv, hd }, tables.rotary, tables.mask)
          x = tf.add(x, tf.matMul(merged, layer.o as tfc.Tensor2D))
          const hidden = tf.matMul(hostNorm(x, layer.mlpNorm), tf.concat([layer.gate, layer.up], 1) as tfc.Tensor2D)
          x = tf.add(x, tf.matMul(hostSwiglu(hidden as tfc.Tensor2D), layer.down as tfc.Tensor2D))
          continue
        }
        const h = normalize(x)
        const project = (weight: tfc.Variable, bias: tfc.Variable | undefined) => {
          const y = tf.matMul(h, scaleRows(weight, layer.attnNorm))
          return bias ? tf.add(y, bias) : y
        }
        const rope = (y: tfc.Tensor, heads: number, cos: tfc.Tensor2D, sin: tfc.Tensor2D) => {
          const rotated = tf.reshape(tf.matMul(tf.reshape(y, [N * heads, hd]), this.rotate), [S, T, heads * hd])
          return tf.add(tf.mul(tf.reshape(y, [S, T, heads * hd]), cos), tf.mul(rotated, sin))
        }
        const byHead = (y: tfc.Tensor, heads: number) =>
          tf.transpose(tf.reshape(y, [S, T, heads, hd]), [0, 2, 1, 3]) as tfc.Tensor4D
        const q = rope(project(layer.q, layer.qBias), H, tables.cosQ, tables.sinQ)
        const k = rope(project(layer.k, layer.kBias), Hkv, tables.cosK, tables.sinK)
        const v = project(layer.v, layer.vBias)
        // Query heads j·G … j·G+G-1 share key/value head j, so group them along the time axis.
        const grouped = tf.reshape(byHead(q, H), [S, Hkv, G * T, hd]) as tfc.Tensor4D
        const context = attention(grouped, byHead(k, Hkv), byHead(v, Hkv), tables.mask)
        const merged = tf.reshape(tf.transpose(tf.reshape(context, [S, H, T, hd]), [0, 2, 1, 3]), [N, H * hd])
        x = tf.add(x, tf.matMul(merged, layer.o as tfc.Tensor2D))
        // SwiGLU block.
        const m = normalize(x)
        const gate = tf.matMul(m, scaleRows(layer.gate, layer.mlpNorm))
        const up = tf.matMul(m, scaleRows(layer.up, layer.mlpNorm))
        const act = swiglu(gate as tfc.Tensor2D, up as tfc.Tensor2D)
        x = tf.add(x, tf.matMul(act, layer.down as tfc.Tensor2D))
      }
      let final = onHost ? hostNorm(x, this.norm) : normalize(x)
      if (rows !== undefined) final = this.selectRows(final, rows)
      if (onHost) {
        return this.lmHead
          ? tf.matMul(final, this.lmHead as tfc.Tensor2D)
          : tf.matMul(final, this.embed as tfc.Tensor2D, false, true)
      }
      return this.lmHead
        ? tf.matMul(final, scaleRows(this.lmHead, this.norm))
        : tf.matMul(final, tf.mul(this.embed, this.norm) as tfc.Tensor2D, false, true)
    })
  }

  private selectRows(x: tfc.Tensor2D, rows: Int32Array): tfc.Tensor2D {
    for (const r of rows) {
      if (!(r >= 0 && r < x.shape[0])) throw new Error(`row ${r} is outside the batch's ${x.shape[0]} positions`)
    }
    if (tf.getBackend() !== "cpu") return tf.gather(x, tf.tensor1d(rows, "int32")) as tfc.Tensor2D
    // The cpu backend's gather gradient is O(R·N) with a tensor per segment; a selection matmul is faster there.
    const selection = new Float32Array(rows.length * x.shape[0])
    rows.forEach((r, i) => (selection[i * x.shape[0] + r] = 1))
    return tf.matMul(tf.tensor2d(selection, [rows.length, x.shape[0]]), x)
  }

  private positionTables(T: number): PositionTables {
    const cached = this.tables.get(T)
    if (cached) return cached
    const { numHeads: H, numKvHeads: Hkv, ropeTheta } = this.config
    const hd = headDim(this.config)
    const G = H / Hkv
    // [T, heads·hd] tables; column head·hd + j uses frequency j mod hd/2 (rotate_half layout).
    const angles = (heads: number, factor: number) => {
      const cos = new Float32Array(T * heads * hd)
      const sin = new Float32Array(T * heads * hd)
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < heads * hd; j++) {
          const angle = t * Math.pow(ropeTheta, (-2 * ((j % hd) % (hd / 2))) / hd)
          cos[t * heads * hd + j] = Math.cos(angle) * factor
          sin[t * heads * hd + j] = Math.sin(angle) * factor
        }
      }
      return [tf.keep(tf.tensor2d(cos, [T, heads * hd])), tf.keep(tf.tensor2d(sin, [T, heads * hd]))] as const
    }
    const [cosQ, sinQ] = angles(H, 1 / Math.sqrt(hd))
    const [cosK, sinK] = angles(Hkv, 1)
    const mask = new Float32Array(G * T * T)
    for (let g = 0; g < G; g++) {
      for (let t = 0; t < T; t++) for (let u = t + 1; u < T; u++) mask[(g * T + t) * T + u] = -1e9
    }
    const tables: PositionTables = {
      rotary: rotaryTable(T, hd, ropeTheta),
      cosQ,
      sinQ,
      cosK,
      sinK,
      mask: tf.keep(tf.tensor2d(mask, [G * T, T])),
    }
    this.tables.set(T, tables)
    return tables
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.variables().reduce((n, v) => n + v.size, 0)
  }

  /** Releases every tensor the model holds. */
  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    for (const v of this.variables()) v.dispose()
    for (const t of this.tables.values()) tf.dispose([t.cosQ, t.sinQ, t.cosK, t.sinK, t.mask])
    this.rotate.dispose()
  }
}

/** [hd, hd] matrix R with x·R = rotate_half(x) = concat(-x[hd/2:], x[:hd/2]). */
const rotateHalfMatrix = (hd: number): tfc.Tensor2D => {
  const half = hd / 2
  const r = new Float32Array(hd * hd)
  for (let j = 0; j < half; j++) {
    r[(j + half) * hd + j] = -1
    r[j * hd + j + half] = 1
  }
  return tf.tensor2d(r, [hd, hd])
}

/** Internal parameter names and shapes, in the order of `Model.variables()`. */
export const parameterShapes = (config: ModelConfig): Map<string, number[]> => {
  const { vocabSize: V, hiddenSize: d, intermediateSize: I, numHeads: H, numKvHeads: Hkv } = config
  const hd = headDim(config)
  const shapes = new Map<string, number[]>([["embed", [V, d]]])
  for (let i = 0; i < config.numLayers; i++) {
    shapes.set(`layers.${i}.attn_norm`, [d])
    shapes.set(`layers.${i}.q`, [d, H * hd])
    shapes.set(`layers.${i}.k`, [d, Hkv * hd])
    shapes.set(`layers.${i}.v`, [d, Hkv * hd])
    if (config.attentionBias) {
      shapes.set(`layers.${i}.q_bias`, [H * hd])
      shapes.set(`layers.${i}.k_bias`, [Hkv * hd])
      shapes.set(`layers.${i}.v_bias`, [Hkv * hd])
    }
    shapes.set(`layers.${i}.o`, [H * hd, d])
    shapes.set(`layers.${i}.mlp_norm`, [d])
    shapes.set(`layers.${i}.gate`, [d, I])
    shapes.set(`layers.${i}.up`, [d, I])
    shapes.set(`layers.${i}.down`, [I, d])
  }
  shapes.set("norm", [d])
  if (!config.tieWordEmbeddings) shapes.set("lm_head", [d, V])
  return shapes
}
