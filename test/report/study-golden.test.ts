import { describe, expect, it } from "vitest"
import { buildReportJson, renderReportFiles, renderReportMarkdown } from "../../src/report/index.ts"
import { parseMarkdownTables, readStudyFixture, studyInput, tableCell, type MarkdownTable } from "./study-fixture.ts"

const study = readStudyFixture()
const markdown = renderReportMarkdown(studyInput(study))
const tables = parseMarkdownTables(markdown)
const json = buildReportJson(studyInput(study))

const tableUnder = (headingStart: string): MarkdownTable => {
  const found = tables.filter((table) => table.heading.startsWith(headingStart))
  if (found.length !== 1) throw new Error(`expected one table under "${headingStart}", found ${found.length}`)
  return found[0]
}

/** Maps a key of the published split table to its report.md column header. */
const splitColumn = (key: string): string => {
  if (key === "change") return "Change"
  const match = /^([a-z]+)(?:_(diff|std|direction|xN))?$/.exec(key)
  if (match === null) throw new Error(`unknown published split figure "${key}"`)
  const label = match[1].toUpperCase()
  const suffix = { diff: "mean diff", std: "std", direction: "observed", xN: "x/N" }[match[2] ?? ""] ?? "verdict"
  return `${label} ${suffix}`
}

describe("study report golden", () => {
  it("prints every published weight", () => {
    const table = tableUnder("WPO weights")
    let checked = 0
    for (const [split, figures] of Object.entries(study.expected_report.weights)) {
      for (const [key, expected] of Object.entries(figures)) {
        const column = key.replace(/_([AB])$/, " $1")
        expect(tableCell(table, split, column), `${split} ${key}`).toBe(expected)
        checked++
      }
    }
    expect(checked).toBe(24)
  })

  it("prints every published baseline figure", () => {
    const table = tableUnder("Baseline pref_acc")
    for (const [method, figures] of Object.entries(study.expected_report.baseline)) {
      const row = method.toUpperCase()
      expect(tableCell(table, row, "Mean"), `${method} mean`).toBe(figures.mean)
      expect(tableCell(table, row, "Std"), `${method} std`).toBe(figures.std)
      figures.per_seed.forEach((expected, index) => {
        expect(tableCell(table, row, `Seed ${study.seeds[index]}`), `${method} seed ${study.seeds[index]}`).toBe(expected)
      })
    }
  })

  it("prints every published split figure and verdict", () => {
    const table = tableUnder("Splits")
    let checked = 0
    for (const [split, figures] of Object.entries(study.expected_report.splits)) {
      for (const [key, expected] of Object.entries(figures)) {
        expect(tableCell(table, split, splitColumn(key)), `${split} ${key}`).toBe(expected)
        checked++
      }
    }
    expect(checked).toBe(6 * 11)
    for (const split of study.splits) {
      expect(tableCell(table, split.name, "Expected")).toBe(split.expected)
    }
  })

  it("prints every published per-seed diff", () => {
    for (const [method, perSplit] of Object.entries(study.expected_report.per_seed)) {
      const table = tableUnder(`Per-seed diffs: ${method.toUpperCase()}`)
      for (const [split, values] of Object.entries(perSplit)) {
        values.forEach((expected, index) => {
          expect(tableCell(table, split, `Seed ${study.seeds[index]}`), `${method} ${split} seed ${study.seeds[index]}`).toBe(expected)
        })
      }
    }
  })

  it("report.json carries the same figures", () => {
    for (const [split, figures] of Object.entries(study.expected_report.splits)) {
      const entry = json.splits.find((candidate) => candidate.split === split)
      expect(entry, split).toBeDefined()
      expect(entry?.change).toBe(figures.change)
      for (const method of entry?.methods ?? []) {
        expect(method.mean_diff.text, `${split} ${method.method} diff`).toBe(figures[`${method.method}_diff`])
        expect(method.std.text).toBe(figures[`${method.method}_std`])
        expect(method.observed_text).toBe(figures[`${method.method}_direction`])
        expect(method.x_of_n).toBe(figures[`${method.method}_xN`])
        expect(method.verdict ?? "—").toBe(figures[method.method])
      }
    }
    const wpo = json.splits[0].methods.find((method) => method.method === "wpo")
    expect(wpo?.mean_diff.value).toBeCloseTo(((4 + 0 + 9) / 3) * (100 / 128), 12)
    expect(json.baseline.map((entry) => entry.mean.text)).toEqual(
      json.baseline.map((entry) => study.expected_report.baseline[entry.method].mean),
    )
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
  })

  it("same input renders identical bytes", () => {
    expect(renderReportMarkdown(studyInput(study))).toBe(markdown)
    expect(JSON.stringify(buildReportJson(studyInput(study)))).toBe(JSON.stringify(json))
  })
})

describe("report files", () => {
  it("writes markdown, json and linked plots", () => {
    const files = renderReportFiles(studyInput(study))
    const paths = files.map((file) => file.path)
    expect(paths.slice(0, 2)).toEqual(["report.md", "report.json"])
    expect(paths.filter((path) => path.startsWith("plots/diffs-"))).toHaveLength(6)
    const report = files[0].contents
    for (const path of paths.slice(2)) expect(report).toContain(`](${path})`)
    expect(report.startsWith(markdown.trimEnd())).toBe(true)
    expect(JSON.parse(files[1].contents)).toEqual(JSON.parse(JSON.stringify(json)))
  })
})
