/** Text to token ids and back, with the special ids a policy needs. */
export interface Tokenizer {
  readonly kind: "byte" | "llama2c" | "huggingface"
  readonly vocabSize: number
  /** Prepended to every prompt when defined. */
  readonly bosId: number | undefined
  /** Appended to every response when defined. */
  readonly eosId: number | undefined
  /** Fills positions after the end of a sequence; never scored. */
  readonly padId: number
  /** Encodes text without adding BOS or EOS. */
  encode(text: string): number[]
  /** Decodes ids, skipping special tokens. */
  decode(ids: ReadonlyArray<number>): string
  /** Wraps a user prompt in the model's chat template (identity when it has none). */
  formatPrompt(prompt: string): string
}

/**
 * Byte-level tokenizer of the small preset: ids 0-255 are the UTF-8 bytes,
 * 256 is BOS, 257 EOS and 258 padding (vocabulary 259).
 */
export class ByteTokenizer implements Tokenizer {
  readonly kind = "byte" as const
  readonly vocabSize = 259
  readonly bosId = 256
  readonly eosId = 257
  readonly padId = 258
  private readonly encoder = new TextEncoder()
  private readonly decoder = new TextDecoder("utf-8", { fatal: false })

  encode(text: string): number[] {
    return Array.from(this.encoder.encode(text))
  }

  decode(ids: ReadonlyArray<number>): string {
    return this.decoder.decode(Uint8Array.from(ids.filter((id) => id >= 0 && id < 256)))
  }

  formatPrompt(prompt: string): string {
    return prompt
  }
}
