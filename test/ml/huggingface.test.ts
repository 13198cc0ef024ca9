import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/ml/backend.ts"
import { loadHuggingFace, loadHuggingFaceTokenizer } from "../../src/ml/huggingface.ts"
import { loadLlama2c } from "../../src/ml/llama2c.ts"
import type { Model } from "../../src/ml/model.ts"
import { Prng } from "../../src/ml/prng.ts"
import { tf } from "../../src/ml/tf.ts"
import { sharedPath } from "../shared.ts"

const root = mkdtempSync(join(tmpdir(), "pipe-hf-"))

beforeAll(async () => {
  await initBackend({ backend: "wasm" })
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

type Dtype = "F32" | "BF16" | "F16"
interface Entry {
  shape: number[]
  data: Float32Array
}

/** Writes a safetensors file with every tensor in `dtype` (values must be exactly representable). */
const writeCheckpoint = (path: string, tensors: Map<string, Entry>, dtype: Dtype): void => {
  const width = dtype === "F32" ? 4 : 2
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } }
  let offset = 0
  for (const [name, t] of tensors) {
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length * width] }
    offset += t.data.length * width
  }
  const json = Buffer.from(JSON.stringify(header))
  const out = Buffer.alloc(8 + json.length + offset)
  out.writeBigUInt64LE(BigInt(json.length))
  json.copy(out, 8)
  let at = 8 + json.length
  const f32 = new DataView(new ArrayBuffer(4))
  for (const t of tensors.values()) {
    for (const value of t.data) {
      if (dtype === "F32") out.writeFloatLE(value, at)
      else if (dtype === "BF16") {
        f32.setFloat32(0, value)
        out.writeUInt16LE(f32.getUint32(0) >>> 16, at)
      } else out.writeUInt16LE(toHalf(value), at)
      at += width
    }
  }
  writeFileSync(path, out)
}

/** float32 -> IEEE half for normal values that fit exactly (the test only writes such values). */
const toHalf = (value: number): number => {
  if (value === 0) return 0
  const sign = value < 0 ? 0x8000 : 0
  const abs = Math.abs(value)
  const exponent = Math.floor(Math.log2(abs))
  const fraction = Math.round((abs / Math.pow(2, exponent) - 1) * 1024)
  return sign | ((exponent + 15) << 10) | fraction
}

/** Random values on a grid of 1/256 in [-0.5, 0.5], exact in float32, bfloat16 and half. */
const gridValues = (prng: Prng, count: number, scale = 1): Float32Array =>
  Float32Array.from({ length: count }, () => (Math.round((prng.next() - 0.5) * 256) / 256) * scale)

const chatTemplate =
  "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
})

const words = ["system", "user", "assistant", "hello", "world", "You", "are", "Qwen", "created", "by", "Alibaba", "Cloud", "a", "helpful", ",", "."]

/** Writes a WordLevel tokenizer.json and a Qwen-like tokenizer_config.json. */
const writeTokenizer = (dir: string): void => {
  const vocab: Record<string, number> = { "<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "[UNK]": 3 }
  words.forEach((w, i) => (vocab[w] = 4 + i))
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<|endoftext|>"), special(1, "<|im_start|>"), special(2, "<|im_end|>")],
    normalizer: null,
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab, unk_token: "[UNK]" },
  }
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer))
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({
      bos_token: null,
      eos_token: "<|im_end|>",
      pad_token: "<|endoftext|>",
      add_bos_token: false,
      chat_template: chatTemplate,
    }),
  )
}

interface TinyConfig {
  vocab: number
  d: number
  inter: number
  layers: number
  heads: number
  kvHeads: number
  theta: number
  eps: number
  tied: boolean
}

/** Float64 forward pass of a Qwen2 model written from the Hugging Face modeling code, for one sequence. */
const referenceForward = (c: TinyConfig, w: Map<string, Entry>, ids: number[]): number[][] => {
  const hd = c.d / c.heads
  const get = (name: string) => w.get(name)!.data
  const linear = (weight: Float32Array, x: number[], out: number, bias?: Float32Array) =>
    Array.from({ length: out }, (_, o) => {
      let s = bias ? bias[o]! : 0
      for (let i = 0; i < x.length; i++) s += weight[o * x.length + i]! * x[i]!
      return s
    })
  const rms = (x: number[], weight: Float32Array) => {
    const scale = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + c.eps)
    return x.map((v, i) => v * scale * weight[i]!)
  }
  const rope = (vec: number[], pos: number) => {
    const out = vec.slice()
    for (let j = 0; j < hd; j++) {
      const i = j % (hd / 2)
      const angle = pos / Math.pow(c.theta, (2 * i) / hd)
      const rotated = j < hd / 2 ? -vec[j + hd / 2]! : vec[j - hd / 2]!
      out[j] = vec[j]! * Math.cos(angle) + rotated * Math.sin(angle)
    }
    return out
  }
  let xs = ids.map((id) => Array.from(get("model.embed_tokens.weight").subarray(id * c.d, (id + 1) * c.d)))
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`
    const hs = xs.map((x) => rms(x, get(`${p}.input_layernorm.weight`)))
    const q = hs.map((h) => linear(get(`${p}.self_attn.q_proj.weight`), h, c.heads * hd, get(`${p}.self_attn.q_proj.bias`)))
    const k = hs.map((h) => linear(get(`${p}.self_attn.k_proj.weight`), h, c.kvHeads * hd, get(`${p}.self_attn.k_proj.bias`)))
    const v = hs.map((h) => linear(get(`${p}.self_attn.v_proj.weight`), h, c.kvHeads * hd, get(`${p}.self_attn.v_proj.bias`)))
    xs = xs.map((x, t) => {
      const context: number[] = []
      for (let h = 0; h < c.heads; h++) {
        const kv = Math.floor(h / (c.heads / c.kvHeads))
        const qh = rope(q[t]!.slice(h * hd, (h + 1) * hd), t)
        const scores = Array.from({ length: t + 1 }, (_, u) => {
          const ku = rope(k[u]!.slice(kv * hd, (kv + 1) * hd), u)
          return qh.reduce((s, val, j) => s + val * ku[j]!, 0) / Math.sqrt(hd)
        })
        const max = Math.max(...scores)
        const e = scores.map((s) => Math.exp(s - max))
        const total = e.reduce((a, b) => a + b, 0)
        for (let j = 0; j < hd; j++) context.push(e.reduce((s, p_, u) => s + (p_ / total) * v[u]![kv * hd + j]!, 0))
      }
      const o = linear(get(`${p}.self_attn.o_proj.weight`), context, c.d)
      const x1 = x.map((val, i) => val + o[i]!)
      const h2 = rms(x1, get(`${p}.post_attention_layernorm.weight`))
      const gate = linear(get(`${p}.mlp.gate_proj.weight`), h2, c.inter)
      const up = linear(get(`${p}.mlp.up_proj.weight`), h2, c.inter)
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!)
      const down = linear(get(`${p}.mlp.down_proj.weight`), act, c.d)
      return x1.map((val, i) => val + down[i]!)
    })
  }
  const head = c.tied ? get("model.embed_tokens.weight") : get("lm_head.weight")
  return xs.map((x) => linear(head, rms(x, get("model.norm.weight")), c.vocab))
}

const writeConfig = (dir: string, c: TinyConfig): void => {
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      vocab_size: c.vocab,
      hidden_size: c.d,
      intermediate_size: c.inter,
      num_hidden_layers: c.layers,
      num_attention_heads: c.heads,
      num_key_value_heads: c.kvHeads,
      max_position_embeddings: 64,
      rope_theta: c.theta,
      rms_norm_eps: c.eps,
      tie_word_embeddings: c.tied,
      hidden_act: "silu",
      torch_dtype: "bfloat16",
    }),
  )
}

const tinyWeights = (c: TinyConfig, seed: number): Map<string, Entry> => {
  const prng = new Prng(seed)
  const hd = c.d / c.heads
  const w = new Map<string, Entry>()
  const add = (name: string, shape: number[], scale = 1) =>
    w.set(name, { shape, data: gridValues(prng, shape.reduce((a, b) => a * b, 1), scale) })
  add("model.embed_tokens.weight", [c.vocab, c.d])
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`
    w.set(`${p}.input_layernorm.weight`, { shape: [c.d], data: Float32Array.from(gridValues(prng, c.d), (x) => 1 + Math.round(x * 32) / 32) })
    add(`${p}.self_attn.q_proj.weight`, [c.heads * hd, c.d])
    add(`${p}.self_attn.q_proj.bias`, [c.heads * hd])
    add(`${p}.self_attn.k_proj.weight`, [c.kvHeads * hd, c.d])
    add(`${p}.self_attn.k_proj.bias`, [c.kvHeads * hd])
    add(`${p}.self_attn.v_proj.weight`, [c.kvHeads * hd, c.d])
    add(`${p}.self_attn.v_proj.bias`, [c.kvHeads * hd])
    add(`${p}.self_attn.o_proj.weight`, [c.d, c.heads * hd])
    w.set(`${p}.post_attention_layernorm.weight`, { shape: [c.d], data: Float32Array.from(gridValues(prng, c.d), (x) => 1 + Math.round(x * 32) / 32) })
    add(`${p}.mlp.gate_proj.weight`, [c.inter, c.d])
    add(`${p}.mlp.up_proj.weight`, [c.inter, c.d])
    add(`${p}.mlp.down_proj.weight`, [c.d, c.inter])
  }
  w.set("model.norm.weight", { shape: [c.d], data: Float32Array.from(gridValues(prng, c.d), (x) => 1 + Math.round(x * 32) / 32) })
  if (!c.tied) add("lm_head.weight", [c.vocab, c.d])
  return w
}

const logitsOf = (model: Model, ids: number[]): Float32Array =>
  tf.tidy(() => model.forward(tf.tensor2d(ids, [1, ids.length], "int32"))).dataSync() as Float32Array

describe("Hugging Face checkpoints", () => {
  const tiny: TinyConfig = { vocab: 20, d: 16, inter: 24, layers: 2, heads: 4, kvHeads: 2, theta: 10000, eps: 1e-6, tied: false }

  for (const dtype of ["BF16", "F16", "F32"] as const) {
    it(`matches a float64 Qwen2 forward (${dtype})`, () => {
      const dir = join(root, `tiny-${dtype}`)
      mkdirSync(dir)
      const weights = tinyWeights(tiny, 5)
      writeConfig(dir, tiny)
      writeCheckpoint(join(dir, "model.safetensors"), weights, dtype)
      writeTokenizer(dir)
      const model = loadHuggingFace(dir)
      expect(model.config).toMatchObject({ numKvHeads: 2, attentionBias: true, tieWordEmbeddings: false, maxLength: 64 })
      const ids = [1, 5, 7, 8, 2, 9, 4]
      const expected = referenceForward(tiny, weights, ids)
      const actual = logitsOf(model, ids)
      for (let t = 0; t < ids.length; t++) {
        for (let v = 0; v < tiny.vocab; v++) {
          expect(Math.abs(actual[t * tiny.vocab + v]! - expected[t]![v]!), `logit [${t}, ${v}]`).toBeLessThan(1e-4)
        }
      }
      model.dispose()
    })
  }

  it("applies the chat template and special tokens", () => {
    const dir = join(root, "tiny-BF16")
    const tokenizer = loadHuggingFaceTokenizer(dir)
    expect(tokenizer.vocabSize).toBe(tiny.vocab)
    const prompt = tokenizer.formatPrompt("hello world")
    expect(prompt).toBe(
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nhello world<|im_end|>\n<|im_start|>assistant\n",
    )
    const ids = tokenizer.encode(prompt)
    expect(ids[0]).toBe(1)
    expect(ids.at(-1)).toBe(6)
    expect(ids.filter((id) => id === 2)).toHaveLength(2)
    expect(tokenizer.bosId).toBeUndefined()
    expect(tokenizer.eosId).toBe(2)
    expect(tokenizer.padId).toBe(0)
  })

  it("loads stories260K written as a Qwen2 directory with the same logits", () => {
    const bin = sharedPath("data/tinyllamas-stories260K/stories260K.bin")
    const file = readFileSync(bin)
    const [dim, hidden, layers, heads, kvHeads, vocab] = Array.from({ length: 6 }, (_, i) => file.readInt32LE(i * 4)) as number[]
    const hd = dim! / heads!
    const kv = kvHeads! * hd
    const floats = new Float32Array(file.buffer.slice(file.byteOffset + 28, file.byteOffset + file.length))
    let at = 0
    const take = (n: number) => floats.slice(at, (at += n))
    // The permutation Hugging Face's Llama converter applies: W.reshape(h, hd/2, 2, d).transpose(0, 2, 1, 3).
    const permute = (w: Float32Array, n: number) => {
      const out = new Float32Array(w.length)
      let row = 0
      for (let h = 0; h < n; h++)
        for (let parity = 0; parity < 2; parity++)
          for (let i = 0; i < hd / 2; i++) out.set(w.subarray((h * hd + 2 * i + parity) * dim!, (h * hd + 2 * i + parity + 1) * dim!), row++ * dim!)
      return out
    }
    const w = new Map<string, Entry>()
    w.set("model.embed_tokens.weight", { shape: [vocab!, dim!], data: take(vocab! * dim!) })
    const block = (n: number) => Array.from({ length: layers! }, () => take(n))
    const rmsAtt = block(dim!)
    const wq = block(dim! * dim!)
    const wk = block(kv * dim!)
    const wv = block(kv * dim!)
    const wo = block(dim! * dim!)
    const rmsFfn = block(dim!)
    const w1 = block(hidden! * dim!)
    const w2 = block(dim! * hidden!)
    const w3 = block(hidden! * dim!)
    for (let l = 0; l < layers!; l++) {
      const p = `model.layers.${l}`
      w.set(`${p}.input_layernorm.weight`, { shape: [dim!], data: rmsAtt[l]! })
      w.set(`${p}.self_attn.q_proj.weight`, { shape: [dim!, dim!], data: permute(wq[l]!, heads!) })
      w.set(`${p}.self_attn.q_proj.bias`, { shape: [dim!], data: new Float32Array(dim!) })
      w.set(`${p}.self_attn.k_proj.weight`, { shape: [kv, dim!], data: permute(wk[l]!, kvHeads!) })
      w.set(`${p}.self_attn.k_proj.bias`, { shape: [kv], data: new Float32Array(kv) })
      w.set(`${p}.self_attn.v_proj.weight`, { shape: [kv, dim!], data: wv[l]! })
      w.set(`${p}.self_attn.v_proj.bias`, { shape: [kv], data: new Float32Array(kv) })
      w.set(`${p}.self_attn.o_proj.weight`, { shape: [dim!, dim!], data: wo[l]! })
      w.set(`${p}.post_attention_layernorm.weight`, { shape: [dim!], data: rmsFfn[l]! })
      w.set(`${p}.mlp.gate_proj.weight`, { shape: [hidden!, dim!], data: w1[l]! })
      w.set(`${p}.mlp.down_proj.weight`, { shape: [dim!, hidden!], data: w2[l]! })
      w.set(`${p}.mlp.up_proj.weight`, { shape: [hidden!, dim!], data: w3[l]! })
    }
    w.set("model.norm.weight", { shape: [dim!], data: take(dim!) })
    const dir = join(root, "stories-qwen2")
    mkdirSync(dir)
    writeConfig(dir, { vocab: vocab!, d: dim!, inter: hidden!, layers: layers!, heads: heads!, kvHeads: kvHeads!, theta: 10000, eps: 1e-5, tied: true })
    writeCheckpoint(join(dir, "model.safetensors"), w, "F32")
    writeTokenizer(dir)
    const fromHf = loadHuggingFace(dir)
    const fromBin = loadLlama2c(bin, sharedPath("data/tinyllamas-stories260K/tok512.bin"))
    const ids = [1, 403, 407, 261, 378, 432, 383, 286]
    expect(Array.from(logitsOf(fromHf, ids))).toEqual(Array.from(logitsOf(fromBin, ids)))
    fromHf.dispose()
    fromBin.dispose()
  })

  it("names the missing tensor", () => {
    const dir = join(root, "broken")
    mkdirSync(dir)
    writeConfig(dir, tiny)
    const weights = tinyWeights(tiny, 6)
    weights.delete("model.layers.1.mlp.up_proj.weight")
    writeCheckpoint(join(dir, "model.safetensors"), weights, "F32")
    writeTokenizer(dir)
    expect(() => loadHuggingFace(dir)).toThrow(/model\.layers\.1\.mlp\.up_proj\.weight is missing/)
  })
})
