/**
 * Tokenised preference pairs and the padded batches the model consumes.
 */
import type { ScoredSequences } from "./losses.ts"
import type { Tokenizer } from "./tokenizer.ts"

/** A preference pair as text: `chosen` is preferred over `rejected` as a reply to `prompt`. */
export interface PreferencePair {
  readonly prompt: string
  readonly chosen: string
  readonly rejected: string
}

/** A tokenised pair: the prompt with BOS (if the tokenizer has one), responses with EOS (if it has one). */
export interface EncodedPair {
  readonly prompt: ReadonlyArray<number>
  readonly chosen: ReadonlyArray<number>
  readonly rejected: ReadonlyArray<number>
}

export interface EncodedPairs {
  readonly pairs: EncodedPair[]
  /** Pairs that lost prompt or response tokens to `maxLength`. */
  readonly truncated: number
}

/**
 * Truncates a tokenised pair to `maxLength` tokens per sequence: the prompt
 * loses tokens from its start (keeping at least one, the context of the
 * first response token), then each response loses tokens from its end.
 * Both sequences keep the same prompt.
 */
export const truncatePair = (pair: EncodedPair, maxLength: number): { pair: EncodedPair; truncated: boolean } => {
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`maxLength must be an integer >= 2, got ${maxLength}`)
  const longest = Math.max(pair.chosen.length, pair.rejected.length)
  if (pair.prompt.length + longest <= maxLength) return { pair, truncated: false }
  const promptKeep = Math.max(1, Math.min(pair.prompt.length, maxLength - longest))
  const responseKeep = maxLength - promptKeep
  return {
    pair: {
      prompt: pair.prompt.slice(pair.prompt.length - promptKeep),
      chosen: pair.chosen.slice(0, responseKeep),
      rejected: pair.rejected.slice(0, responseKeep),
    },
    truncated: true,
  }
}

/**
 * Tokenises pairs for a model with context `maxLength`. The prompt goes
 * through the tokenizer's chat template first. Throws, naming the pair, when
 * a prompt or a response encodes to no tokens.
 */
export const encodePairs = (
  tokenizer: Tokenizer,
  pairs: ReadonlyArray<PreferencePair>,
  maxLength: number,
): EncodedPairs => {
  let truncated = 0
  const encoded = pairs.map((pair, index) => {
    const prompt = tokenizer.encode(tokenizer.formatPrompt(pair.prompt))
    if (tokenizer.bosId !== undefined) prompt.unshift(tokenizer.bosId)
    const response = (text: string) => {
      const ids = tokenizer.encode(text)
      if (tokenizer.eosId !== undefined) ids.push(tokenizer.eosId)
      return ids
    }
    const raw: EncodedPair = { prompt, chosen: response(pair.chosen), rejected: response(pair.rejected) }
    for (const side of ["prompt", "chosen", "rejected"] as const) {
      if (raw[side].length === 0) {
        throw new Error(`preference pair ${index}: the ${side} text encodes to no tokens; remove the pair or fill it in`)
      }
    }
    const result = truncatePair(raw, maxLength)
    if (result.truncated) truncated++
    return result.pair
  })
  return { pairs: encoded, truncated }
}

/** A batch of right-padded token sequences with its scoring targets. */
export interface TokenBatch extends ScoredSequences {
  /** [S·T] input ids. */
  readonly ids: Int32Array
  /** Scored positions s·T + t (mask 1), in order; the model computes logits for these rows only. */
  readonly rows: Int32Array
}

const packSequences = (
  sequences: ReadonlyArray<{ ids: ReadonlyArray<number>; scoredFrom: number }>,
  padId: number,
): TokenBatch => {
  const S = sequences.length
  const T = Math.max(...sequences.map((s) => s.ids.length))
  const ids = new Int32Array(S * T).fill(padId)
  const targets = new Int32Array(S * T)
  const mask = new Float32Array(S * T)
  sequences.forEach((sequence, s) => {
    const length = sequence.ids.length
    for (let t = 0; t < length; t++) ids[s * T + t] = sequence.ids[t]!
    // Row t predicts token t + 1; it is scored when that token is in the scored range.
    for (let t = 0; t + 1 < length; t++) {
      targets[s * T + t] = sequence.ids[t + 1]!
      if (t + 1 >= sequence.scoredFrom) mask[s * T + t] = 1
    }
  })
  const rows: number[] = []
  for (let n = 0; n < S * T; n++) if (mask[n]! > 0) rows.push(n)
  return { S, T, ids, targets, mask, rows: Int32Array.from(rows) }
}

/**
 * Packs B pairs into 2B right-padded sequences (chosen ones first), with
 * only response tokens scored.
 */
export const preferenceBatch = (pairs: ReadonlyArray<EncodedPair>, padId: number): TokenBatch => {
  if (pairs.length === 0) throw new Error("a preference batch needs at least one pair")
  const side = (key: "chosen" | "rejected") =>
    pairs.map((p) => ({ ids: [...p.prompt, ...p[key]], scoredFrom: p.prompt.length }))
  return packSequences([...side("chosen"), ...side("rejected")], padId)
}

/** Packs token sequences for next-token training, scoring every token after the first. */
export const languageBatch = (sequences: ReadonlyArray<ReadonlyArray<number>>, padId: number): TokenBatch => {
  if (sequences.length === 0) throw new Error("a language-model batch needs at least one sequence")
  return packSequences(
    sequences.map((ids) => ({ ids, scoredFrom: 1 })),
    padId,
  )
}

/**
 * Tokenises texts for next-token training: BOS + text + EOS, cut to
 * `maxLength` tokens (the end is dropped). Texts that encode to nothing are
 * skipped.
 */
export const encodeTexts = (tokenizer: Tokenizer, texts: ReadonlyArray<string>, maxLength: number): number[][] =>
  texts
    .map((text) => {
      const ids = tokenizer.encode(text)
      if (ids.length === 0) return []
      if (tokenizer.bosId !== undefined) ids.unshift(tokenizer.bosId)
      if (tokenizer.eosId !== undefined) ids.push(tokenizer.eosId)
      return ids.slice(0, maxLength)
    })
    .filter((ids) => ids.length >= 2)
