/**
 * llama2.c checkpoints (legacy `.bin` export) and their `tok*.bin` tokenizers.
 *
 * `.bin` layout, little-endian: 7 int32 (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means an untied
 * classifier), then float32 arrays, matrices [out, in] row-major:
 * tok_emb[V,d], rms_att[L,d], wq[L,d,d], wk[L,kv,d], wv[L,kv,d], wo[L,d,d],
 * rms_ffn[L,d], w1[L,h,d], w2[L,d,h], w3[L,h,d], rms_final[d],
 * freq_cis_real[seq,hd/2], freq_cis_imag[seq,hd/2], then wcls[V,d] if untied.
 * RoPE there rotates adjacent pairs (2i, 2i+1); the rows of wq and wk are
 * permuted to the Hugging Face rotate_half layout on load, as Hugging Face's
 * Llama converter does.
 */
import { readFileSync } from "node:fs"
import type { ModelConfig } from "./config.ts"
import { fromHfTensors } from "./hf-layout.ts"
import { type HostTensor, Model } from "./model.ts"
import type { Tokenizer } from "./tokenizer.ts"

/**
 * The llama2.c BPE tokenizer (`tok*.bin`: int32 max_token_length, then per
 * token float32 score, int32 length, bytes). Encoding follows llama2.c
 * `run.c`: a " " dummy prefix, one id per UTF-8 code point (bytes as ids
 * byte + 3 when the code point is missing), then repeated merges of the
 * adjacent pair with the highest score.
 */
export class Llama2cTokenizer implements Tokenizer {
  readonly kind = "llama2c" as const
  readonly bosId = 1
  readonly eosId = 2
  readonly padId = 0
  readonly vocabSize: number
  private readonly pieces: string[]
  private readonly scores: Float32Array
  private readonly lookup = new Map<string, number>()

  constructor(path: string) {
    const file = readFileSync(path)
    const pieces: string[] = []
    const scores: number[] = []
    let at = 4
    while (at < file.length) {
      if (at + 8 > file.length) throw new Error(`${path}: truncated token record at byte ${at}; is this a llama2.c tokenizer?`)
      scores.push(file.readFloatLE(at))
      const length = file.readInt32LE(at + 4)
      if (length < 0 || at + 8 + length > file.length) {
        throw new Error(`${path}: invalid token length ${length} at byte ${at + 4}; is this a llama2.c tokenizer?`)
      }
      pieces.push(file.subarray(at + 8, at + 8 + length).toString("utf8"))
      at += 8 + length
    }
    this.pieces = pieces
    this.scores = Float32Array.from(scores)
    this.vocabSize = pieces.length
    pieces.forEach((piece, id) => {
      if (!this.lookup.has(piece)) this.lookup.set(piece, id)
    })
  }

  encode(text: string): number[] {
    if (text === "") return []
    const ids: number[] = []
    const space = this.lookup.get(" ")
    if (space !== undefined) ids.push(space)
    for (const codePoint of text) {
      const id = this.lookup.get(codePoint)
      if (id !== undefined) ids.push(id)
      else for (const byte of Buffer.from(codePoint, "utf8")) ids.push(byte + 3)
    }
    for (;;) {
      let best = -1
      let bestScore = -Infinity
      let bestId = -1
      for (let i = 0; i + 1 < ids.length; i++) {
        const merged = this.lookup.get(this.pieces[ids[i]!]! + this.pieces[ids[i + 1]!]!)
        if (merged !== undefined && this.scores[merged]! > bestScore) {
          bestScore = this.scores[merged]!
          best = i
          bestId = merged
        }
      }
      if (best < 0) return ids
      ids.splice(best, 2, bestId)
    }
  }

  decode(ids: ReadonlyArray<number>): string {
    const bytes: number[] = []
    let first = true
    for (const id of ids) {
      if (id === this.bosId || id === this.eosId || id === this.padId) continue
      let piece = this.pieces[id]
      if (piece === undefined) continue
      // The first piece after BOS loses its leading space (the dummy prefix).
      if (first && piece.startsWith(" ")) piece = piece.slice(1)
      first = false
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece)
      if (byte) bytes.push(parseInt(byte[1]!, 16))
      else bytes.push(...Buffer.from(piece, "utf8"))
    }
    return Buffer.from(bytes).toString("utf8")
  }

  formatPrompt(prompt: string): string {
    return prompt
  }
}

/** Reads a llama2.c `tok*.bin` tokenizer. */
export const loadLlama2cTokenizer = (path: string): Llama2cTokenizer => new Llama2cTokenizer(path)

/** Permutes the rows of a [heads·hd, d] projection from adjacent-pair RoPE to rotate_half RoPE. */
const interleavedToHalves = (w: Float32Array, heads: number, hd: number, d: number): Float32Array => {
  const out = new Float32Array(w.length)
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      for (let parity = 0; parity < 2; parity++) {
        const from = (h * hd + 2 * i + parity) * d
        const to = (h * hd + parity * (hd / 2) + i) * d
        out.set(w.subarray(from, from + d), to)
      }
    }
  }
  return out
}

/**
 * Loads a llama2.c checkpoint and its tokenizer as a Llama-shaped model (no
 * biases, RMSNorm eps 1e-5, RoPE theta 10000, context = seq_len).
 */
export const loadLlama2c = (binPath: string, tokenizerPath: string): Model => {
  const file = readFileSync(binPath)
  if (file.length < 28) throw new Error(`${binPath}: too short for a llama2.c header (28 bytes)`)
  const header = Array.from({ length: 7 }, (_, i) => file.readInt32LE(i * 4))
  const [dim, hidden, layers, heads, kvHeads, rawVocab, seqLen] = header as [number, number, number, number, number, number, number]
  const vocab = Math.abs(rawVocab)
  const tied = rawVocab > 0
  if ([dim, hidden, layers, heads, kvHeads, vocab, seqLen].some((x) => !(x > 0)) || dim % heads !== 0) {
    throw new Error(`${binPath}: invalid llama2.c header [${header}]; expected the legacy export (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len)`)
  }
  const hd = dim / heads
  const kv = kvHeads * hd
  const floats = new Float32Array(file.buffer.slice(file.byteOffset + 28, file.byteOffset + file.length))
  let at = 0
  const take = (count: number): Float32Array => {
    if (at + count > floats.length) {
      throw new Error(`${binPath}: file ends early (${file.length} bytes) for header [${header}]; it is truncated or not a legacy llama2.c export`)
    }
    const out = floats.subarray(at, at + count)
    at += count
    return out
  }
  const perLayer = (count: number) => {
    const all = take(layers * count)
    return Array.from({ length: layers }, (_, l) => all.subarray(l * count, (l + 1) * count))
  }
  const embed = take(vocab * dim)
  const rmsAtt = perLayer(dim)
  const wq = perLayer(dim * dim)
  const wk = perLayer(kv * dim)
  const wv = perLayer(kv * dim)
  const wo = perLayer(dim * dim)
  const rmsFfn = perLayer(dim)
  const w1 = perLayer(hidden * dim)
  const w2 = perLayer(dim * hidden)
  const w3 = perLayer(hidden * dim)
  const rmsFinal = take(dim)
  take(seqLen * (hd / 2) * 2)
  const wcls = tied ? undefined : take(vocab * dim)
  if (at !== floats.length) {
    throw new Error(`${binPath}: ${floats.length - at} float32 values left after the weights of header [${header}]; not a legacy llama2.c export`)
  }

  const config: ModelConfig = {
    vocabSize: vocab,
    hiddenSize: dim,
    intermediateSize: hidden,
    numLayers: layers,
    numHeads: heads,
    numKvHeads: kvHeads,
    maxLength: seqLen,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    attentionBias: false,
    tieWordEmbeddings: tied,
  }
  const t = (shape: number[], data: Float32Array): HostTensor => ({ shape, data: Float32Array.from(data) })
  const hf = new Map<string, HostTensor>([["model.embed_tokens.weight", t([vocab, dim], embed)]])
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`
    hf.set(`${p}.input_layernorm.weight`, t([dim], rmsAtt[l]!))
    hf.set(`${p}.self_attn.q_proj.weight`, t([dim, dim], interleavedToHalves(wq[l]!, heads, hd, dim)))
    hf.set(`${p}.self_attn.k_proj.weight`, t([kv, dim], interleavedToHalves(wk[l]!, kvHeads, hd, dim)))
    hf.set(`${p}.self_attn.v_proj.weight`, t([kv, dim], wv[l]!))
    hf.set(`${p}.self_attn.o_proj.weight`, t([dim, dim], wo[l]!))
    hf.set(`${p}.post_attention_layernorm.weight`, t([dim], rmsFfn[l]!))
    hf.set(`${p}.mlp.gate_proj.weight`, t([hidden, dim], w1[l]!))
    hf.set(`${p}.mlp.down_proj.weight`, t([dim, hidden], w2[l]!))
    hf.set(`${p}.mlp.up_proj.weight`, t([hidden, dim], w3[l]!))
  }
  hf.set("model.norm.weight", t([dim], rmsFinal))
  if (wcls) hf.set("lm_head.weight", t([vocab, dim], wcls))

  const tokenizer = loadLlama2cTokenizer(tokenizerPath)
  if (tokenizer.vocabSize !== vocab) {
    throw new Error(`${tokenizerPath}: tokenizer has ${tokenizer.vocabSize} tokens but ${binPath} has vocab_size ${vocab}; pass the tokenizer that belongs to the checkpoint`)
  }
  return Model.fromParameters(config, fromHfTensors(config, hf, binPath), { tokenizer, source: binPath })
}
