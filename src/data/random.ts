/**
 * A small seeded PRNG (sfc32 seeded through the xmur3 string hash), so that
 * data generation and partitions are identical on every platform and never
 * touch `Math.random`.
 */

/** Hashes a string to a sequence of 32-bit seeds (xmur3). */
const xmur3 = (text: string): (() => number) => {
  let h = 1779033703 ^ text.length
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353)
    h = (h << 13) | (h >>> 19)
  }
  return () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507)
    h = Math.imul(h ^ (h >>> 13), 3266489909)
    h ^= h >>> 16
    return h >>> 0
  }
}

export interface Rng {
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  readonly next: () => number
  /** Uniform integer in [min, max], both ends included. */
  readonly int: (min: number, max: number) => number
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean
  /** One element of a non-empty array. */
  readonly pick: <T>(items: ReadonlyArray<T>) => T
  /** A shuffled copy (Fisher-Yates). */
  readonly shuffle: <T>(items: ReadonlyArray<T>) => T[]
}

/** Creates a PRNG from any number of seed parts, e.g. `createRng(42, "S1_age", "A")`. */
export const createRng = (...seedParts: ReadonlyArray<string | number>): Rng => {
  const seed = xmur3(seedParts.map(String).join("\u0000"))
  let a = seed()
  let b = seed()
  let c = seed()
  let d = seed()
  const next = (): number => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  // Discard the first outputs, as the sfc32 authors recommend.
  for (let i = 0; i < 12; i++) next()
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1))
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error("Rng.pick: empty array")
      return items[int(0, items.length - 1)]
    },
    shuffle: (items) => {
      const out = items.slice()
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i)
        const tmp = out[i]
        out[i] = out[j]
        out[j] = tmp
      }
      return out
    },
  }
}
