import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/ml/backend.ts"
import { generateGreedy } from "../../src/ml/generate.ts"
import { loadLlama2c, loadLlama2cTokenizer } from "../../src/ml/llama2c.ts"
import { tf } from "../../src/ml/tf.ts"
import { sharedPath } from "../shared.ts"

const bin = sharedPath("data/tinyllamas-stories260K/stories260K.bin")
const tok = sharedPath("data/tinyllamas-stories260K/tok512.bin")

// Karpathy's documented greedy sample of stories260K (llama2.c doc/stories260K.md).
const story =
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to"

beforeAll(async () => {
  await initBackend({ backend: "wasm" })
})

describe("llama2.c checkpoint", () => {
  it("greedy-decodes the documented story from BOS", () => {
    const before = tf.memory().numTensors
    const model = loadLlama2c(bin, tok)
    expect(model.config).toMatchObject({ hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, vocabSize: 512, maxLength: 512 })
    const ids = generateGreedy(model, [1], 90, [1])
    expect(ids.slice(0, 10)).toEqual([403, 407, 261, 378, 432, 383, 286, 261, 376, 298])
    const text = model.tokenizer!.decode(ids)
    expect(text.slice(0, story.length)).toBe(story)
    model.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it("encodes text as llama2.c run.c does", () => {
    const tokenizer = loadLlama2cTokenizer(tok)
    expect(tokenizer.vocabSize).toBe(512)
    const text = "Once upon a time, there was a little girl named Lily."
    const ids = tokenizer.encode(text)
    expect(ids.slice(0, 4)).toEqual([403, 407, 261, 378])
    expect(tokenizer.decode(ids)).toBe(text)
    // A code point outside the vocabulary falls back to its UTF-8 bytes (id = byte + 3).
    expect(tokenizer.encode("🙂")).toEqual([410, 0xf0 + 3, 0x9f + 3, 0x99 + 3, 0x82 + 3])
    expect(tokenizer.decode(tokenizer.encode("a 🙂 café"))).toBe("a 🙂 café")
  })

  it("names the file when the header is wrong", () => {
    expect(() => loadLlama2c(tok, tok)).toThrow(/tok512\.bin/)
  })
})
