import { describe, expect, it } from "vitest"
import * as Q from "../../src/report/exact.ts"

describe("exact decimal formatting", () => {
  it("rounds exact ties half to even", () => {
    expect(Q.formatFixed(Q.rational(3125n, 1000n), 2)).toBe("3.12")
    expect(Q.formatFixed(Q.rational(3135n, 1000n), 2)).toBe("3.14")
    expect(Q.formatFixed(Q.rational(-3125n, 1000n), 2)).toBe("-3.12")
    expect(Q.formatFixed(Q.rational(5n, 2n), 0)).toBe("2")
    expect(Q.formatFixed(Q.rational(7n, 2n), 0)).toBe("4")
    expect((3.125).toFixed(2)).toBe("3.13")
  })

  it("formats the exact value of a double", () => {
    // 2.675 is stored as 2.67499999999999982236431605997495353221893310546875.
    expect(Q.formatNumberFixed(2.675, 2)).toBe("2.67")
    expect(Q.formatNumberFixed(0.125, 2)).toBe("0.12")
    expect(Q.formatNumberFixed(0.375, 2)).toBe("0.38")
    expect(Q.formatNumberFixed(0.229, 4)).toBe("0.2290")
    expect(Q.formatNumberFixed(0.036, 4)).toBe("0.0360")
    expect(Q.formatNumberFixed(-0.0001, 2)).toBe("-0.00")
    expect(Q.formatNumberFixed(5e-324, 2)).toBe("0.00")
    expect(Q.formatNumberFixed(1e21, 1)).toBe("1000000000000000000000.0")
  })

  it("converts doubles to exact fractions", () => {
    expect(Q.fromNumber(0.5)).toEqual({ num: 1n, den: 2n })
    expect(Q.fromNumber(-6)).toEqual({ num: -6n, den: 1n })
    expect(Q.fromNumber(0.1)).toEqual({ num: 3602879701896397n, den: 36028797018963968n })
    expect(Q.toNumber(Q.fromNumber(0.1))).toBe(0.1)
    expect(Q.toNumber(Q.fromNumber(5e-324))).toBe(5e-324)
  })

  it("rounds square roots correctly", () => {
    expect(Q.formatSqrtFixed(Q.fromInteger(2), 4)).toBe("1.4142")
    expect(Q.formatSqrtFixed(Q.rational(25n, 4n), 0)).toBe("2")
    expect(Q.formatSqrtFixed(Q.rational(49n, 4n), 0)).toBe("4")
    expect(Q.formatSqrtFixed(Q.fromInteger(0), 2)).toBe("0.00")
    expect(Q.formatSqrtFixed(Q.rational(10n ** 40n + 1n), 1)).toBe("100000000000000000000.0")
  })

  it("computes population variance exactly", () => {
    const values = [4, 0, 9].map((count) => Q.rational(BigInt(count) * 100n, 128n))
    const variance = Q.populationVariance(values)
    // Counts 4, 0, 9 have mean 13/3 and squared deviations summing to 122/3, so the variance is 122/9 counts².
    expect(variance).toEqual(Q.mul(Q.rational(122n, 9n), Q.rational(10000n, 16384n)))
    expect(Q.formatSqrtFixed(variance, 2)).toBe("2.88")
  })
})
