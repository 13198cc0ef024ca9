/**
 * Reads the published study numbers (diff counts, baseline counts and weight
 * means and minima) and turns them into a `ReportInput`.
 */
import { readFileSync } from "node:fs"
import type { ExpectedDirection, ReportInput } from "../../src/report/index.ts"
import { sharedPath } from "../shared.ts"

export interface StudyFixture {
  readonly eval_pairs: number
  readonly seeds: ReadonlyArray<number>
  readonly splits: ReadonlyArray<{ readonly name: string; readonly expected: ExpectedDirection }>
  readonly diff_counts: Record<string, Record<string, ReadonlyArray<number>>>
  readonly baseline_correct: Record<string, ReadonlyArray<number>>
  readonly weights: Record<string, { readonly w_mean: readonly [number, number]; readonly w_min: readonly [number, number] }>
  readonly expected_report: {
    readonly baseline: Record<string, { readonly mean: string; readonly std: string; readonly per_seed: ReadonlyArray<string> }>
    readonly splits: Record<string, Record<string, string>>
    readonly per_seed: Record<string, Record<string, ReadonlyArray<string>>>
    readonly weights: Record<string, Record<string, string>>
  }
}

export const readStudyFixture = (): StudyFixture =>
  JSON.parse(readFileSync(sharedPath("fixtures/study-v5.json"), "utf8")) as StudyFixture

export const studyInput = (study: StudyFixture): ReportInput => {
  const methods = Object.keys(study.diff_counts)
  return {
    title: "DPO vs WPO on PRISM attribute splits",
    methods,
    seeds: study.seeds,
    splits: study.splits,
    results: Object.fromEntries(
      methods.map((method) => [
        method,
        Object.fromEntries(
          study.splits.map((split) => [
            split.name,
            study.seeds.map((seed, index) => ({
              seed,
              diff: { count: study.diff_counts[method][split.name][index], total: study.eval_pairs },
            })),
          ]),
        ),
      ]),
    ),
    baseline: Object.fromEntries(
      methods.map((method) => [
        method,
        study.seeds.map((seed, index) => ({
          seed,
          accuracy: { count: study.baseline_correct[method][index], total: study.eval_pairs },
        })),
      ]),
    ),
    weights: Object.fromEntries(
      Object.entries(study.weights).map(([split, stats]) => [
        split,
        {
          A: { wMean: stats.w_mean[0], wMin: stats.w_min[0] },
          B: { wMean: stats.w_mean[1], wMin: stats.w_min[1] },
        },
      ]),
    ),
  }
}

/** A Markdown table: the heading above it, its header cells and its rows of cells. */
export interface MarkdownTable {
  readonly heading: string
  readonly header: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

const splitRow = (line: string): string[] =>
  line
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cellText) => cellText.trim().replace(/\\\|/g, "|"))

/** Parses every pipe table of a Markdown document, each with the nearest heading above it. */
export const parseMarkdownTables = (markdown: string): MarkdownTable[] => {
  const tables: MarkdownTable[] = []
  let heading = ""
  const lines = markdown.split("\n")
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]
    if (line.startsWith("#")) heading = line.replace(/^#+\s*/, "")
    if (!line.startsWith("|")) continue
    const block: string[] = []
    while (index < lines.length && lines[index].startsWith("|")) block.push(lines[index++])
    tables.push({ heading, header: splitRow(block[0]), rows: block.slice(2).map(splitRow) })
  }
  return tables
}

/** Returns the cell in the row whose first cell is `rowKey` and the column headed `column`. */
export const tableCell = (table: MarkdownTable, rowKey: string, column: string): string => {
  const columnIndex = table.header.indexOf(column)
  if (columnIndex < 0) throw new Error(`table "${table.heading}" has no column "${column}" (columns: ${table.header.join(", ")})`)
  const row = table.rows.find((cells) => cells[0] === rowKey)
  if (row === undefined) throw new Error(`table "${table.heading}" has no row "${rowKey}"`)
  return row[columnIndex]
}
