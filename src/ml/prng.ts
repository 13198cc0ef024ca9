/**
 * Seeded pseudo-random numbers for initialisation, shuffling and sampling.
 * `Math.random` is never used, so the same seed gives the same stream in
 * every process. Generator: sfc32, seeded through splitmix32.
 */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number
  private spareNormal: number | undefined

  constructor(seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.nextUint32()
  }

  /** Returns a uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  /** Returns a uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** Returns a uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Returns a standard normal sample (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const value = this.spareNormal
      this.spareNormal = undefined
      return value
    }
    const u = 1 - this.next()
    const v = this.next()
    const radius = Math.sqrt(-2 * Math.log(u))
    this.spareNormal = radius * Math.sin(2 * Math.PI * v)
    return radius * Math.cos(2 * Math.PI * v)
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = items[i]!
      items[i] = items[j]!
      items[j] = tmp
    }
    return items
  }
}
