/** Small synthetic preference data for the ML tests: chosen replies start with "yes", rejected ones with "no". */
import type { PreferencePair } from "../../src/ml/data.ts"
import { Prng } from "../../src/ml/prng.ts"

const words = ["cat", "dog", "sun", "rain", "tree", "blue", "red", "happy", "sad", "run", "sky", "sea"]

export const toyPairs = (count: number, seed: number): PreferencePair[] => {
  const prng = new Prng(seed)
  const text = (n: number) => Array.from({ length: n }, () => words[prng.int(words.length)]).join(" ")
  return Array.from({ length: count }, () => ({
    prompt: `${text(3)}?`,
    chosen: `yes ${text(3)}`,
    rejected: `no ${text(3)}`,
  }))
}
