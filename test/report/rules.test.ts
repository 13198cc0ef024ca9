import { describe, expect, it } from "vitest"
import {
  buildReportJson,
  changeFor,
  computeReport,
  renderReportMarkdown,
  verdictFor,
  type ExpectedDirection,
  type ReportInput,
} from "../../src/report/index.ts"
import * as Q from "../../src/report/exact.ts"
import { parseMarkdownTables, readStudyFixture, studyInput, tableCell } from "./study-fixture.ts"

const DEFAULTS = { match: 0.8, lean: 0.5, equalPp: 2.0 }

const points = (...values: number[]) => values.map((value) => Q.fromNumber(value))

/** One method, one split, diffs given as counts out of 100 eval pairs. */
const oneSplit = (expected: ExpectedDirection, counts: number[]): ReportInput => ({
  methods: ["wpo"],
  seeds: counts.map((_, index) => index + 1),
  splits: [{ name: "S", expected }],
  results: { wpo: { S: counts.map((count, index) => ({ seed: index + 1, diff: { count, total: 100 } })) } },
})

describe("verdict rule", () => {
  it("directional verdicts by agreement share", () => {
    expect(verdictFor("A>B", points(1, 2, 3, 4, -1), DEFAULTS)).toBe("MATCH")
    expect(verdictFor("A>B", points(1, 2, 3, -1, -1), DEFAULTS)).toBe("LEAN")
    expect(verdictFor("A>B", points(5, 0, 0, -1), DEFAULTS)).toBe("MISMATCH")
    expect(verdictFor("A>B", points(-1, -2, 3), DEFAULTS)).toBe("MISMATCH")
    expect(verdictFor("A<B", points(-1, -2, -3), DEFAULTS)).toBe("MATCH")
    expect(verdictFor("A<B", points(1, 2, 3), DEFAULTS)).toBe("MISMATCH")
  })

  it("zero mean is never in a direction", () => {
    expect(verdictFor("A>B", points(1, -1), DEFAULTS)).toBe("MISMATCH")
    expect(verdictFor("A<B", points(0, 0, 0), DEFAULTS)).toBe("MISMATCH")
  })

  it("agreement thresholds are inclusive", () => {
    // 4 of 5 seeds is exactly 0.8; 1 of 2 is exactly 0.5.
    expect(verdictFor("A>B", points(1, 1, 1, 1, -2), DEFAULTS)).toBe("MATCH")
    expect(verdictFor("A>B", points(3, -1), DEFAULTS)).toBe("LEAN")
    expect(verdictFor("A>B", points(3, -1), { ...DEFAULTS, lean: 0.6 })).toBe("MISMATCH")
    expect(verdictFor("A>B", points(1, 1, 1, 1, -2), { ...DEFAULTS, match: 0.9 })).toBe("LEAN")
  })

  it("A=B compares |mean| with the margin", () => {
    expect(verdictFor("A=B", points(2, 2, 2), DEFAULTS)).toBe("OK")
    expect(verdictFor("A=B", points(-2, -2, -2), DEFAULTS)).toBe("OK")
    expect(verdictFor("A=B", points(2.5, 2, 2), DEFAULTS)).toBe("DIFF")
    expect(verdictFor("A=B", points(0.6, 0.6), { ...DEFAULTS, equalPp: 0.5 })).toBe("DIFF")
  })

  it("exploratory splits get no verdict", () => {
    expect(verdictFor("explor.", points(5, 5, 5), DEFAULTS)).toBeNull()
  })
})

describe("change rule", () => {
  it("names fixed, broken and other changes", () => {
    expect(changeFor("A>B", "MISMATCH", "MATCH")).toBe("FIXED")
    expect(changeFor("A<B", "MATCH", "MISMATCH")).toBe("BROKEN")
    expect(changeFor("A>B", "LEAN", "LEAN")).toBe("LEAN→LEAN")
    expect(changeFor("A>B", "MISMATCH", "LEAN")).toBe("MISMATCH→LEAN")
    expect(changeFor("A>B", "MATCH", "MATCH")).toBe("MATCH→MATCH")
    expect(changeFor("A=B", "OK", "OK")).toBe("—")
    expect(changeFor("A=B", "OK", "DIFF")).toBe("OK→DIFF")
    expect(changeFor("explor.", null, null)).toBe("—")
  })
})

describe("observed direction and x/N", () => {
  it("zero diffs do not count for a sign", () => {
    const [figures] = computeReport(oneSplit("A>B", [3, 0, -1])).splits[0].methods
    expect(figures.observed).toBe("A>B")
    expect(figures.agreeing).toBe(1)
  })

  it("A = B counts the zero diffs", () => {
    const [figures] = computeReport(oneSplit("explor.", [2, 0, -2])).splits[0].methods
    expect(figures.observed).toBe("A=B")
    expect(figures.agreeing).toBe(1)
  })
})

describe("configurable thresholds", () => {
  it("changes verdicts of the study", () => {
    const input = studyInput(readStudyFixture())
    const markdown = renderReportMarkdown(input, { thresholds: { lean: 0.7, equalPp: 0.5 } })
    const splits = parseMarkdownTables(markdown).find((table) => table.heading.startsWith("Splits"))
    if (splits === undefined) throw new Error("split table missing")
    // S1_age has 2 of 3 seeds in the expected direction (0.667 < 0.7).
    expect(tableCell(splits, "S1_age", "WPO verdict")).toBe("MISMATCH")
    expect(tableCell(splits, "S1_age", "Change")).toBe("MISMATCH→MISMATCH")
    // S6_region means +0.78 percentage points for both methods, above 0.5.
    expect(tableCell(splits, "S6_region", "WPO verdict")).toBe("DIFF")
    expect(tableCell(splits, "S6_region", "Change")).toBe("DIFF→DIFF")
    expect(markdown).toContain("at least 70% of seeds")
    expect(buildReportJson(input, { thresholds: { lean: 0.7 } }).thresholds).toEqual({ match: 0.8, lean: 0.7, equal_pp: 2 })
  })

  it("change column follows the chosen methods", () => {
    const input = studyInput(readStudyFixture())
    const reversed = renderReportMarkdown(input, { change: { from: "wpo", to: "dpo" } })
    const splits = parseMarkdownTables(reversed).find((table) => table.heading.startsWith("Splits"))
    if (splits === undefined) throw new Error("split table missing")
    expect(tableCell(splits, "S2_personalisation", "Change")).toBe("BROKEN")
    const without = parseMarkdownTables(renderReportMarkdown(input, { change: null })).find((table) =>
      table.heading.startsWith("Splits"),
    )
    expect(without?.header).not.toContain("Change")
  })
})

describe("group accuracies as input", () => {
  const base = {
    methods: ["dpo", "wpo"],
    seeds: [1, 2],
    splits: [{ name: "age", expected: "A>B" as const }],
  }

  it("counts and exact fractions agree", () => {
    const counts: ReportInput = {
      ...base,
      results: {
        dpo: { age: [{ seed: 1, a: { count: 70, total: 128 }, b: { count: 66, total: 128 } }, { seed: 2, a: { count: 64, total: 128 }, b: { count: 64, total: 128 } }] },
        wpo: { age: [{ seed: 1, a: { count: 75, total: 128 }, b: { count: 60, total: 128 } }, { seed: 2, a: { count: 70, total: 128 }, b: { count: 69, total: 128 } }] },
      },
    }
    const fractions: ReportInput = {
      ...base,
      results: {
        dpo: { age: [{ seed: 1, a: { fraction: 70 / 128 }, b: { fraction: 66 / 128 } }, { seed: 2, a: { fraction: 0.5 }, b: { fraction: 0.5 } }] },
        wpo: { age: [{ seed: 1, a: { fraction: 75 / 128 }, b: { fraction: 60 / 128 } }, { seed: 2, a: { fraction: 70 / 128 }, b: { fraction: 69 / 128 } }] },
      },
    }
    expect(renderReportMarkdown(fractions)).toBe(renderReportMarkdown(counts))
    const json = buildReportJson(counts)
    const wpo = json.splits[0].methods[1]
    expect(wpo.per_seed[0].diff.text).toBe("+11.72%")
    expect(wpo.per_seed[0].pref_acc_a?.text).toBe("58.59%")
    expect(wpo.per_seed[0].pref_acc_b?.text).toBe("46.88%")
    expect(wpo.verdict).toBe("MATCH")
    expect(json.splits[0].methods[0].verdict).toBe("LEAN")
    expect(json.splits[0].change).toBe("LEAN→MATCH")
    const markdown = renderReportMarkdown(counts)
    expect(markdown).toContain("### Pref_acc per group and seed: WPO")
    expect(markdown).not.toContain("## Baseline")
    expect(markdown).not.toContain("## WPO weights")
  })

  it("different eval sizes for A and B", () => {
    const input: ReportInput = {
      methods: ["wpo"],
      seeds: [7],
      splits: [{ name: "len", expected: "explor." }],
      results: { wpo: { len: [{ seed: 7, a: { count: 1, total: 3 }, b: { count: 1, total: 4 } }] } },
    }
    // 1/3 - 1/4 = 1/12 = 8.3333...%
    expect(buildReportJson(input).splits[0].methods[0].mean_diff.text).toBe("+8.33%")
  })
})
