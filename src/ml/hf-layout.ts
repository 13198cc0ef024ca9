/**
 * Conversion between the model's internal parameter layout and Hugging Face
 * Llama / Qwen2 tensor names and layouts (linear weights [out, in]).
 */
import type { ModelConfig } from "./config.ts"
import { type HostTensor, parameterShapes } from "./model.ts"

const transpose = (t: HostTensor): HostTensor => {
  const [rows, cols] = t.shape as [number, number]
  const data = new Float32Array(rows * cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c]!
  return { shape: [cols, rows], data }
}

/** Internal parameter name and Hugging Face tensor name of every linear weight ([in, out] against [out, in]). */
const linearNames = (config: ModelConfig): [string, string][] => {
  const names: [string, string][] = []
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`
    names.push(
      [`layers.${i}.q`, `${p}.self_attn.q_proj.weight`],
      [`layers.${i}.k`, `${p}.self_attn.k_proj.weight`],
      [`layers.${i}.v`, `${p}.self_attn.v_proj.weight`],
      [`layers.${i}.o`, `${p}.self_attn.o_proj.weight`],
      [`layers.${i}.gate`, `${p}.mlp.gate_proj.weight`],
      [`layers.${i}.up`, `${p}.mlp.up_proj.weight`],
      [`layers.${i}.down`, `${p}.mlp.down_proj.weight`],
    )
  }
  if (!config.tieWordEmbeddings) names.push(["lm_head", "lm_head.weight"])
  return names
}

/** Internal and Hugging Face names of the tensors stored as they are (embedding, norms, biases). */
const plainNames = (config: ModelConfig): [string, string][] => {
  const names: [string, string][] = [["embed", "model.embed_tokens.weight"]]
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`
    names.push([`layers.${i}.attn_norm`, `${p}.input_layernorm.weight`])
    if (config.attentionBias) {
      for (const x of ["q", "k", "v"]) names.push([`layers.${i}.${x}_bias`, `${p}.self_attn.${x}_proj.bias`])
    }
    names.push([`layers.${i}.mlp_norm`, `${p}.post_attention_layernorm.weight`])
  }
  names.push(["norm", "model.norm.weight"])
  return names
}

/** Converts internal parameters to Hugging Face tensor names and layouts. */
export const toHfTensors = (config: ModelConfig, params: Map<string, HostTensor>): Map<string, HostTensor> => {
  const get = (name: string): HostTensor => {
    const t = params.get(name)
    if (t === undefined) throw new Error(`missing parameter ${name}`)
    return t
  }
  const out = new Map<string, HostTensor>()
  for (const [internal, hf] of plainNames(config)) out.set(hf, get(internal))
  for (const [internal, hf] of linearNames(config)) out.set(hf, transpose(get(internal)))
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
  const shapes = parameterShapes(config)
  const out = new Map<string, HostTensor>()
  const get = (internal: string, hf: string, transposed: boolean): HostTensor => {
    const expected = shapes.get(internal)!
    const hfShape = transposed ? [expected[1]!, expected[0]!] : expected
    const t = tensors.get(hf)
    if (t === undefined) {
      if (internal.endsWith("_bias")) return { shape: expected, data: new Float32Array(expected[0]!) }
      throw new Error(`${source}: tensor ${hf} is missing`)
    }
    if (t.shape.join(",") !== hfShape.join(",")) {
      throw new Error(`${source}: tensor ${hf} has shape [${t.shape}], but config.json implies [${hfShape}]`)
    }
    return transposed ? transpose(t) : t
  }
  for (const [internal, hf] of plainNames(config)) out.set(internal, get(internal, hf, false))
  for (const [internal, hf] of linearNames(config)) out.set(internal, get(internal, hf, true))
  return out
}
