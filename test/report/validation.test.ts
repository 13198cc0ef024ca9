import { describe, expect, it } from "vitest"
import { ReportInputError, renderReportMarkdown, type ReportInput, type ReportOptions } from "../../src/report/index.ts"

const valid: ReportInput = {
  methods: ["dpo", "wpo"],
  seeds: [42, 456],
  splits: [{ name: "age", expected: "A>B" }],
  results: {
    dpo: { age: [{ seed: 42, diff: { count: 3, total: 128 } }, { seed: 456, diff: { count: -1, total: 128 } }] },
    wpo: { age: [{ seed: 42, a: { count: 70, total: 128 }, b: { count: 60, total: 128 } }, { seed: 456, diff: { fraction: 0.01 } }] },
  },
  baseline: { wpo: [{ seed: 42, accuracy: { fraction: 0.5 } }, { seed: 456, accuracy: { count: 64, total: 128 } }] },
}

/** Renders `input` and returns the ReportInputError it raises. */
const errorOf = (input: unknown, options: ReportOptions = {}): ReportInputError => {
  try {
    renderReportMarkdown(input as ReportInput, options)
  } catch (error) {
    if (error instanceof ReportInputError) return error
    throw error
  }
  throw new Error("expected a ReportInputError, but the report rendered")
}

const withResults = (wpoAge: unknown): unknown => ({ ...valid, results: { ...valid.results, wpo: { age: wpoAge } } })

describe("report input validation", () => {
  it("valid input renders", () => {
    expect(renderReportMarkdown(valid)).toContain("| age | A>B |")
  })

  it("missing seed names the seed", () => {
    const error = errorOf(withResults([{ seed: 42, diff: { count: 1, total: 128 } }]))
    expect(error.path).toBe("results.wpo.age")
    expect(error.message).toBe("invalid report input at results.wpo.age: the result for seed 456 is missing")
  })

  it("unknown and repeated seeds", () => {
    const unknown = errorOf(withResults([{ seed: 42, diff: { count: 1, total: 128 } }, { seed: 7, diff: { count: 1, total: 128 } }]))
    expect(unknown.path).toBe("results.wpo.age[1].seed")
    expect(unknown.problem).toContain("seed 7 is not one of the report's seeds [42,456]")
    const twice = errorOf(withResults([{ seed: 42, diff: { count: 1, total: 128 } }, { seed: 42, diff: { count: 1, total: 128 } }]))
    expect(twice.problem).toBe("seed 42 appears twice")
  })

  it("count outside the eval set", () => {
    const error = errorOf(withResults([{ seed: 42, a: { count: 129, total: 128 }, b: { count: 1, total: 128 } }, { seed: 456, diff: { count: 1, total: 128 } }]))
    expect(error.path).toBe("results.wpo.age[seed=42].a.count")
    expect(error.problem).toBe("expected a count between 0 and 128, got 129")
    const diff = errorOf(withResults([{ seed: 42, diff: { count: -130, total: 128 } }, { seed: 456, diff: { count: 1, total: 128 } }]))
    expect(diff.problem).toBe("expected a count between -128 and 128, got -130")
  })

  it("non-integer count and bad fraction", () => {
    const count = errorOf(withResults([{ seed: 42, diff: { count: 1.5, total: 128 } }, { seed: 456, diff: { count: 1, total: 128 } }]))
    expect(count.path).toBe("results.wpo.age[seed=42].diff.count")
    const fraction = errorOf({ ...valid, baseline: { wpo: [{ seed: 42, accuracy: { fraction: 1.2 } }, { seed: 456, accuracy: { fraction: Number.NaN } }] } })
    expect(fraction.path).toBe("baseline.wpo[seed=42].accuracy.fraction")
    const shape = errorOf(withResults([{ seed: 42, diff: 3 }, { seed: 456, diff: { count: 1, total: 128 } }]))
    expect(shape.problem).toBe("expected { count, total } or { fraction }, got 3")
  })

  it("unknown split and method keys", () => {
    const split = errorOf({ ...valid, results: { ...valid.results, dpo: { ...valid.results.dpo, agee: [] } } })
    expect(split.path).toBe("results.dpo.agee")
    expect(split.problem).toContain('"agee" is not one of the report\'s splits ["age"]')
    const method = errorOf({ ...valid, baseline: { ipo: [] } })
    expect(method.path).toBe("baseline.ipo")
  })

  it("missing lists", () => {
    expect(errorOf({ ...valid, methods: undefined }).path).toBe("methods")
    expect(errorOf({ ...valid, splits: "age" }).problem).toBe('expected a list of { name, expected }, got "age"')
    expect(errorOf({ ...valid, seeds: [] }).problem).toBe("expected at least one seed")
    expect(errorOf({ ...valid, results: undefined }).path).toBe("results")
  })

  it("bad expected direction and duplicate split", () => {
    const direction = errorOf({ ...valid, splits: [{ name: "age", expected: "A>=B" }] })
    expect(direction.path).toBe("splits[0].expected")
    expect(direction.problem).toBe('expected one of ["A>B","A<B","A=B","explor."], got "A>=B"')
    const duplicate = errorOf({ ...valid, splits: [{ name: "age", expected: "A>B" }, { name: "age", expected: "A=B" }] })
    expect(duplicate.problem).toBe('split "age" appears twice')
  })

  it("bad thresholds and change methods", () => {
    expect(errorOf(valid, { thresholds: { match: 0.4 } }).path).toBe("options.thresholds.match")
    expect(errorOf(valid, { thresholds: { lean: 1.5 } }).path).toBe("options.thresholds.lean")
    expect(errorOf(valid, { thresholds: { equalPp: -1 } }).path).toBe("options.thresholds.equalPp")
    expect(errorOf(valid, { change: { from: "dpo", to: "ipo" } }).message).toBe(
      'invalid report input at options.change.to: method "ipo" is not one of ["dpo","wpo"]',
    )
  })

  it("bad histogram and curve", () => {
    const stats = { wMean: 0.2, wMin: 0.05 }
    const histogram = errorOf({
      ...valid,
      weights: { age: { A: { ...stats, histogram: { edges: [0, 0.5, 0.4], counts: [1, 2] } }, B: stats } },
    })
    expect(histogram.path).toBe("weights.age.A.histogram.edges[2]")
    const counts = errorOf({ ...valid, weights: { age: { A: stats, B: { ...stats, histogram: { edges: [0, 1], counts: [1, 2] } } } } })
    expect(counts.problem).toBe("expected at least one bin and one more edge than counts, got 2 edges and 2 counts")
    const curve = errorOf({
      ...valid,
      curves: [{ method: "wpo", split: "age", group: "A", seed: 42, points: [{ step: 10, prefAcc: 0.5 }, { step: 10, prefAcc: 0.6 }] }],
    })
    expect(curve.path).toBe("curves[0].points[1].step")
    expect(curve.problem).toBe("expected steps in increasing order, got 10 after 10")
    const group = errorOf({ ...valid, curves: [{ method: "wpo", split: "age", group: "C", seed: 42, points: [] }] })
    expect(group.path).toBe("curves[0].group")
  })
})
