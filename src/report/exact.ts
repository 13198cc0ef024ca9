/**
 * Exact rational arithmetic on BigInt and decimal formatting with round half
 * to even, as Python and NumPy print floats. JavaScript's `toFixed` rounds
 * exact ties away from zero (3.125 prints as 3.13), so report figures never
 * go through it.
 */

/** A reduced fraction `num / den` with `den > 0`. */
export interface Rational {
  readonly num: bigint
  readonly den: bigint
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x)

const gcd = (a: bigint, b: bigint): bigint => {
  let x = abs(a)
  let y = abs(b)
  while (y !== 0n) {
    const t = x % y
    x = y
    y = t
  }
  return x
}

/** Builds the reduced fraction `num / den`; throws on a zero denominator. */
export const rational = (num: bigint, den: bigint = 1n): Rational => {
  if (den === 0n) throw new Error("internal error: rational with a zero denominator")
  const sign = den < 0n ? -1n : 1n
  const divisor = gcd(num, den)
  if (divisor === 0n) return { num: 0n, den: 1n }
  return { num: (sign * num) / divisor, den: (sign * den) / divisor }
}

export const ZERO: Rational = { num: 0n, den: 1n }

/** Converts a finite double to the rational it denotes exactly (every double is a dyadic rational). */
export const fromNumber = (value: number): Rational => {
  if (!Number.isFinite(value)) {
    throw new Error(`internal error: cannot convert ${value} to an exact fraction`)
  }
  if (value === 0) return ZERO
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, value)
  const bits = view.getBigUint64(0)
  const negative = bits >> 63n === 1n
  const exponentBits = Number((bits >> 52n) & 0x7ffn)
  const fractionBits = bits & ((1n << 52n) - 1n)
  // Normal numbers carry an implicit leading 1 bit; subnormals use exponent -1022.
  const mantissa = exponentBits === 0 ? fractionBits : fractionBits | (1n << 52n)
  const exponent = (exponentBits === 0 ? -1022 : exponentBits - 1023) - 52
  const signed = negative ? -mantissa : mantissa
  return exponent >= 0
    ? rational(signed << BigInt(exponent))
    : rational(signed, 1n << BigInt(-exponent))
}

/**
 * Converts a double to the decimal it prints as (JavaScript's shortest
 * round-trip form), so a threshold written as 0.8 compares as exactly 4/5
 * rather than as the double 0.8000000000000000444.
 */
export const fromShortestDecimal = (value: number): Rational => {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value))
  if (match === null) throw new Error(`internal error: cannot read ${value} as a decimal`)
  const [, minus, whole, fraction = "", exponentText = "0"] = match
  const exponent = Number(exponentText) - fraction.length
  const digits = BigInt(`${minus}${whole}${fraction}`)
  return exponent >= 0 ? rational(digits * 10n ** BigInt(exponent)) : rational(digits, 10n ** BigInt(-exponent))
}

export const fromInteger = (value: number): Rational => rational(BigInt(value))

export const add = (a: Rational, b: Rational): Rational =>
  rational(a.num * b.den + b.num * a.den, a.den * b.den)

export const sub = (a: Rational, b: Rational): Rational =>
  rational(a.num * b.den - b.num * a.den, a.den * b.den)

export const mul = (a: Rational, b: Rational): Rational => rational(a.num * b.num, a.den * b.den)

export const div = (a: Rational, b: Rational): Rational => {
  if (b.num === 0n) throw new Error("internal error: division of a rational by zero")
  return rational(a.num * b.den, a.den * b.num)
}

/** Returns -1, 0 or 1 as `a` is less than, equal to or greater than `b`. */
export const compare = (a: Rational, b: Rational): -1 | 0 | 1 => {
  const left = a.num * b.den
  const right = b.num * a.den
  if (left < right) return -1
  return left > right ? 1 : 0
}

export const sign = (a: Rational): -1 | 0 | 1 => compare(a, ZERO)

export const absolute = (a: Rational): Rational => ({ num: abs(a.num), den: a.den })

export const mean = (values: ReadonlyArray<Rational>): Rational => {
  if (values.length === 0) throw new Error("internal error: mean of no values")
  return div(values.reduce(add, ZERO), fromInteger(values.length))
}

/** Population variance (ddof 0), exact. */
export const populationVariance = (values: ReadonlyArray<Rational>): Rational => {
  const center = mean(values)
  const squares = values.map((value) => {
    const deviation = sub(value, center)
    return mul(deviation, deviation)
  })
  return mean(squares)
}

const bitLength = (value: bigint): number => abs(value).toString(2).length

/**
 * Converts to a double (for JSON output and plots; the printed figures use the
 * exact value). Parts beyond the double range are scaled by a power of two
 * first, so 1 / 2^1074 still converts to the smallest subnormal.
 */
export const toNumber = (a: Rational): number => {
  if (bitLength(a.num) < 1000 && bitLength(a.den) < 1000) return Number(a.num) / Number(a.den)
  // Keep 64 significant bits of the quotient, then undo the scaling in steps that stay in range.
  let shift = 64 - (bitLength(a.num) - bitLength(a.den))
  const quotient = shift >= 0 ? (a.num << BigInt(shift)) / a.den : a.num / (a.den << BigInt(-shift))
  let result = Number(quotient)
  while (shift > 1000) {
    result *= 2 ** -1000
    shift -= 1000
  }
  while (shift < -1000) {
    result *= 2 ** 1000
    shift += 1000
  }
  return result * 2 ** -shift
}

/** Integer square root: the largest `r` with `r * r <= n`. */
const integerSqrt = (n: bigint): bigint => {
  if (n < 0n) throw new Error("internal error: square root of a negative number")
  if (n < 2n) return n
  let x = BigInt(Math.floor(Math.sqrt(Number(n))))
  // Newton steps correct the float estimate, which is off for large n.
  for (;;) {
    const y = (x + n / x) >> 1n
    if (abs(y - x) <= 1n) {
      x = y
      break
    }
    x = y
  }
  while (x * x > n) x -= 1n
  while ((x + 1n) * (x + 1n) <= n) x += 1n
  return x
}

/** Rounds `num / den` (den > 0) to the nearest integer, ties to the even integer. */
const roundHalfEven = (num: bigint, den: bigint): bigint => {
  const negative = num < 0n
  const magnitude = abs(num)
  let quotient = magnitude / den
  const twiceRemainder = 2n * (magnitude % den)
  if (twiceRemainder > den || (twiceRemainder === den && quotient % 2n === 1n)) quotient += 1n
  return negative ? -quotient : quotient
}

/**
 * Writes `scaled / 10^digits` in fixed notation. `negative` is separate so
 * that a negative value that rounds to zero prints as "-0.00", as Python does.
 */
const writeFixed = (negative: boolean, scaled: bigint, digits: number): string => {
  const text = abs(scaled).toString().padStart(digits + 1, "0")
  const whole = text.slice(0, text.length - digits)
  const fraction = text.slice(text.length - digits)
  const body = digits > 0 ? `${whole}.${fraction}` : whole
  return negative ? `-${body}` : body
}

/** Formats a rational with `digits` decimals, rounding half to even. */
export const formatFixed = (value: Rational, digits: number): string => {
  const power = 10n ** BigInt(digits)
  const scaled = roundHalfEven(value.num * power, value.den)
  return writeFixed(value.num < 0n, scaled, digits)
}

/** Formats the exact value of a double with `digits` decimals, half to even (Python's `f"{x:.4f}"`). */
export const formatNumberFixed = (value: number, digits: number): string =>
  formatFixed(fromNumber(value), digits)

/** Formats `sqrt(value)` (value >= 0) with `digits` decimals, correctly rounded, ties to even. */
export const formatSqrtFixed = (value: Rational, digits: number): string => {
  if (value.num < 0n) throw new Error("internal error: square root of a negative number")
  // sqrt(p/q) * 10^d = sqrt(p * 10^2d / q); floor(sqrt(p'/q)) = floor(isqrt(p' * q) / q).
  const p = value.num * 10n ** BigInt(2 * digits)
  const q = value.den
  const floor = integerSqrt(p * q) / q
  // Compare sqrt(p/q) with floor + 1/2, i.e. 4p with (2 floor + 1)^2 q.
  const left = 4n * p
  const right = (2n * floor + 1n) ** 2n * q
  const roundUp = left > right || (left === right && floor % 2n === 1n)
  return writeFixed(false, roundUp ? floor + 1n : floor, digits)
}

/** Returns the square root as the nearest double (for JSON output and plots). */
export const sqrtToNumber = (value: Rational): number => Math.sqrt(toNumber(value))
