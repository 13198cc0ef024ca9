/**
 * Conversion between the model's internal parameter layout and Hugging Face
 * Llama / Qwen2 tensor names and layouts (linear weights [out, in]).
 */
import { type ModelConfig, headDim } from "./config.ts"
import type { HostTensor } from "./model.ts"

const transpose = (t: HostTensor): HostTensor => {
  const [rows, cols] = t.shape as [number, number]
  const data = new Float32Array(rows * cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c]!
  return { shape: [cols, rows], data }
}

/** Concatenates [rows, n_i] matrices along columns. */
const concatColumns = (parts: HostTensor[]): HostTensor => {
  const rows = parts[0]!.shape[0]!
  const cols = parts.reduce((n, p) => n + p.shape[1]!, 0)
  const data = new Float32Array(rows * cols)
  let offset = 0
  for (const p of parts) {
    const width = p.shape[1]!
    for (let r = 0; r < rows; r++) data.set(p.data.subarray(r * width, (r + 1) * width), r * cols + offset)
    offset += width
  }
  return { shape: [rows, cols], data }
}

/** Splits a [rows, Σ widths] matrix into column blocks. */
const splitColumns = (t: HostTensor, widths: number[]): HostTensor[] => {
  const [rows, cols] = t.shape as [number, number]
  let offset = 0
  return widths.map((width) => {
    const data = new Float32Array(rows * width)
    for (let r = 0; r < rows; r++) data.set(t.data.subarray(r * cols + offset, r * cols + offset + width), r * width)
    offset += width
    return { shape: [rows, width], data }
  })
}

const concatVectors = (parts: HostTensor[]): HostTensor => {
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0))
  let offset = 0
  for (const p of parts) {
    data.set(p.data, offset)
    offset += p.data.length
  }
  return { shape: [data.length], data }
}

/** Converts internal parameters to Hugging Face tensor names and layouts. */
export const toHfTensors = (config: ModelConfig, params: Map<string, HostTensor>): Map<string, HostTensor> => {
  const get = (name: string): HostTensor => {
    const t = params.get(name)
    if (t === undefined) throw new Error(`missing parameter ${name}`)
    return t
  }
  const hd = headDim(config)
  const widths = [config.numHeads * hd, config.numKvHeads * hd, config.numKvHeads * hd]
  const out = new Map<string, HostTensor>([["model.embed_tokens.weight", get("embed")]])
  for (let i = 0; i < config.numLayers; i++) {
    const prefix = `model.layers.${i}`
    out.set(`${prefix}.input_layernorm.weight`, get(`layers.${i}.attn_norm`))
    const [q, k, v] = splitColumns(get(`layers.${i}.qkv`), widths)
    out.set(`${prefix}.self_attn.q_proj.weight`, transpose(q!))
    out.set(`${prefix}.self_attn.k_proj.weight`, transpose(k!))
    out.set(`${prefix}.self_attn.v_proj.weight`, transpose(v!))
    if (config.attentionBias) {
      const bias = get(`layers.${i}.qkv_bias`)
      let offset = 0
      for (const [name, width] of [["q", widths[0]!], ["k", widths[1]!], ["v", widths[2]!]] as const) {
        out.set(`${prefix}.self_attn.${name}_proj.bias`, { shape: [width], data: bias.data.slice(offset, offset + width) })
        offset += width
      }
    }
    out.set(`${prefix}.self_attn.o_proj.weight`, transpose(get(`layers.${i}.o`)))
    out.set(`${prefix}.post_attention_layernorm.weight`, get(`layers.${i}.mlp_norm`))
    const [gate, up] = splitColumns(get(`layers.${i}.gate_up`), [config.intermediateSize, config.intermediateSize])
    out.set(`${prefix}.mlp.gate_proj.weight`, transpose(gate!))
    out.set(`${prefix}.mlp.up_proj.weight`, transpose(up!))
    out.set(`${prefix}.mlp.down_proj.weight`, transpose(get(`layers.${i}.down`)))
  }
  out.set("model.norm.weight", get("norm"))
  if (!config.tieWordEmbeddings) out.set("lm_head.weight", transpose(get("lm_head")))
  return out
}

/**
 * Converts Hugging Face tensors to internal parameters. Missing q/k/v biases
 * are zero when the config has them (a Llama checkpoint in a Qwen2 config).
 * Throws naming the file and tensor when one is missing or mis-shaped.
 */
export const fromHfTensors = (
  config: ModelConfig,
  tensors: Map<string, HostTensor>,
  source: string,
): Map<string, HostTensor> => {
  const hd = headDim(config)
  const d = config.hiddenSize
  const get = (name: string, shape: number[]): HostTensor => {
    const t = tensors.get(name)
    if (t === undefined) throw new Error(`${source}: tensor ${name} is missing`)
    if (t.shape.join(",") !== shape.join(",")) {
      throw new Error(`${source}: tensor ${name} has shape [${t.shape}], but config.json implies [${shape}]`)
    }
    return t
  }
  const widths = [config.numHeads * hd, config.numKvHeads * hd, config.numKvHeads * hd]
  const out = new Map<string, HostTensor>([["embed", get("model.embed_tokens.weight", [config.vocabSize, d])]])
  for (let i = 0; i < config.numLayers; i++) {
    const prefix = `model.layers.${i}`
    out.set(`layers.${i}.attn_norm`, get(`${prefix}.input_layernorm.weight`, [d]))
    const projections = (["q", "k", "v"] as const).map((name, j) => get(`${prefix}.self_attn.${name}_proj.weight`, [widths[j]!, d]))
    out.set(`layers.${i}.qkv`, concatColumns(projections.map(transpose)))
    if (config.attentionBias) {
      const biases = (["q", "k", "v"] as const).map((name, j) => {
        const key = `${prefix}.self_attn.${name}_proj.bias`
        return tensors.has(key) ? get(key, [widths[j]!]) : { shape: [widths[j]!], data: new Float32Array(widths[j]!) }
      })
      out.set(`layers.${i}.qkv_bias`, concatVectors(biases))
    }
    out.set(`layers.${i}.o`, transpose(get(`${prefix}.self_attn.o_proj.weight`, [d, config.numHeads * hd])))
    out.set(`layers.${i}.mlp_norm`, get(`${prefix}.post_attention_layernorm.weight`, [d]))
    const gate = get(`${prefix}.mlp.gate_proj.weight`, [config.intermediateSize, d])
    const up = get(`${prefix}.mlp.up_proj.weight`, [config.intermediateSize, d])
    out.set(`layers.${i}.gate_up`, concatColumns([transpose(gate), transpose(up)]))
    out.set(`layers.${i}.down`, transpose(get(`${prefix}.mlp.down_proj.weight`, [d, config.intermediateSize])))
  }
  out.set("norm", get("model.norm.weight", [d]))
  if (!config.tieWordEmbeddings) out.set("lm_head", transpose(get("lm_head.weight", [config.vocabSize, d])))
  return out
}
