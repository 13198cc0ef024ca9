import type { Model } from "./model.ts"
import { tf } from "./tf.ts"

/**
 * Greedy decoding: appends the most likely next token until `maxNewTokens`
 * tokens were added, a token in `stopIds` comes out (not included), or the
 * model's context is full. Runs the full sequence each step (no key/value
 * cache), which is fine for the small models this library trains.
 */
export const generateGreedy = (
  model: Model,
  prompt: ReadonlyArray<number>,
  maxNewTokens: number,
  stopIds: ReadonlyArray<number> = [],
): number[] => {
  if (prompt.length === 0) throw new Error("greedy decoding needs at least one prompt token (e.g. BOS)")
  const ids = [...prompt]
  const out: number[] = []
  while (out.length < maxNewTokens && ids.length < model.config.maxLength) {
    const next = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(ids, [1, ids.length], "int32"))
      const last = tf.slice(logits, [ids.length - 1, 0], [1, model.config.vocabSize])
      return tf.argMax(last, 1)
    })
    const token = next.dataSync()[0]!
    next.dispose()
    if (stopIds.includes(token)) break
    ids.push(token)
    out.push(token)
  }
  return out
}
