/**
 * Renders `report.md`: the weight table, baseline pref_acc per method, the
 * split table with verdicts and the change column, and per-seed diff tables.
 */
import {
  computeReport,
  formatObserved,
  formatPercent,
  formatSignedPercent,
  formatStd,
  formatVerdict,
  formatWeight,
  methodLabel,
  type ReportData,
} from "./compute.ts"
import * as Q from "./exact.ts"
import type { ReportInput, ReportOptions, WeightStats } from "./model.ts"
import { plotList } from "./plots.ts"

const DEFAULT_TITLE = "Preference-optimization comparison"

/** Escapes a cell so that `|` and line breaks cannot split the table row. */
const cell = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ")

const table = (header: ReadonlyArray<string>, alignRight: ReadonlyArray<boolean>, rows: ReadonlyArray<ReadonlyArray<string>>): string[] => [
  `| ${header.map(cell).join(" | ")} |`,
  `|${alignRight.map((right) => (right ? " ---: " : " --- ")).join("|")}|`,
  ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
]

/** Writes a share or a number without trailing zeros: 0.8 → "80" (as a percentage), 2 → "2". */
const trimmed = (value: Q.Rational, digits: number): string => {
  const text = Q.formatFixed(value, digits)
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text
}

const sharePercent = (share: number): string => `${trimmed(Q.mul(Q.fromShortestDecimal(share), Q.fromInteger(100)), 6)}%`

const introLines = (data: ReportData): string[] => {
  const { input, thresholds } = data
  const methods = input.methods.map(methodLabel).join(", ")
  const lines = [
    `Methods: ${methods}. Seeds: ${input.seeds.join(", ")}.`,
    "Diffs are pref_acc(A) − pref_acc(B) in percentage points. Std is the population standard deviation over seeds.",
    "",
    `Verdicts: for an expected A>B or A<B, MATCH when the mean diff lies strictly in the expected direction and at least ${sharePercent(thresholds.match)} of seeds do, ` +
      `LEAN when the mean does and at least ${sharePercent(thresholds.lean)} of seeds do, otherwise MISMATCH. ` +
      `For an expected A=B, OK when |mean| ≤ ${trimmed(Q.fromShortestDecimal(thresholds.equalPp), 6)} percentage points, otherwise DIFF. ` +
      "Exploratory splits (explor.) get no verdict (—). x/N counts the seeds whose diff has the observed direction's sign (for A = B, the seeds whose diff is exactly 0).",
  ]
  if (data.changeMethods !== null) {
    const from = methodLabel(data.changeMethods.from)
    const to = methodLabel(data.changeMethods.to)
    lines.push(
      "",
      `Change (${from} verdict, then ${to} verdict): FIXED for MISMATCH→MATCH, BROKEN for MATCH→MISMATCH, ` +
        `— when the split is exploratory or both are OK, otherwise ${from}→${to}.`,
    )
  }
  return lines
}

const weightSection = (data: ReportData): string[] => {
  const weights = data.input.weights
  if (weights === undefined) return []
  const splits = data.input.splits.filter((split) => weights[split.name] !== undefined)
  if (splits.length === 0) return []
  const lines = [
    "## WPO weights of the training pairs",
    "",
    ...table(
      ["Split", "w_mean A", "w_mean B", "w_min A", "w_min B"],
      [false, true, true, true, true],
      splits.map((split) => {
        const { A, B } = weights[split.name]
        return [split.name, formatWeight(A.wMean), formatWeight(B.wMean), formatWeight(A.wMin), formatWeight(B.wMin)]
      }),
    ),
  ]

  const groups = splits.flatMap((split) =>
    (["A", "B"] as const).map((group) => ({ split: split.name, group, stats: weights[split.name][group] })),
  )
  const withDetail = groups.filter(
    (entry) => entry.stats.quantiles !== undefined || entry.stats.pairs !== undefined || entry.stats.wMax !== undefined,
  )
  if (withDetail.length > 0) {
    const levels = [...new Set(withDetail.flatMap((entry) => (entry.stats.quantiles ?? []).map((quantile) => quantile.q)))].sort(
      (x, y) => x - y,
    )
    const quantileText = (stats: WeightStats, level: number): string => {
      const found = stats.quantiles?.find((quantile) => quantile.q === level)
      return found === undefined ? "" : formatWeight(found.value)
    }
    lines.push(
      "",
      "### Weight distribution per group",
      "",
      ...table(
        ["Split", "Group", "Pairs", "w_min", ...levels.map((level) => `q${trimmed(Q.fromShortestDecimal(level), 6)}`), "w_max"],
        [false, false, true, true, ...levels.map(() => true), true],
        withDetail.map(({ split, group, stats }) => [
          split,
          group,
          stats.pairs === undefined ? "" : String(stats.pairs),
          formatWeight(stats.wMin),
          ...levels.map((level) => quantileText(stats, level)),
          stats.wMax === undefined ? "" : formatWeight(stats.wMax),
        ]),
      ),
    )
  }

  const sourceRows = groups.flatMap(({ split, group, stats }) =>
    (stats.bySource ?? []).map((source) => [
      split,
      group,
      source.source,
      String(source.pairs),
      formatWeight(source.wMean),
      formatWeight(source.wMin),
    ]),
  )
  if (sourceRows.length > 0) {
    lines.push(
      "",
      "### Weights by source model of the responses",
      "",
      ...table(["Split", "Group", "Source model", "Pairs", "w_mean", "w_min"], [false, false, false, true, true, true], sourceRows),
    )
  }
  return lines
}

const seedHeaders = (data: ReportData): string[] => data.input.seeds.map((seed) => `Seed ${seed}`)

const baselineSection = (data: ReportData): string[] => {
  if (data.baseline.length === 0) return []
  return [
    "## Baseline pref_acc (pooled pairs, no attribute split)",
    "",
    ...table(
      ["Method", "Mean", "Std", ...seedHeaders(data)],
      [false, true, true, ...data.input.seeds.map(() => true)],
      data.baseline.map((figures) => [
        methodLabel(figures.method),
        formatPercent(figures.mean),
        formatStd(figures.variance),
        ...figures.perSeed.map((entry) => formatPercent(entry.accuracy)),
      ]),
    ),
  ]
}

const splitSection = (data: ReportData): string[] => {
  const methodHeaders = data.input.methods.flatMap((method) => {
    const label = methodLabel(method)
    return [`${label} mean diff`, `${label} std`, `${label} observed`, `${label} x/N`, `${label} verdict`]
  })
  const withChange = data.changeMethods !== null
  const header = ["Split", "Expected", ...methodHeaders, ...(withChange ? ["Change"] : [])]
  const align = header.map((name) => / (mean diff|std|x\/N)$/.test(name))
  const rows = data.splits.map((figures) => [
    figures.split.name,
    figures.split.expected,
    ...figures.methods.flatMap((method) => [
      formatSignedPercent(method.mean),
      formatStd(method.variance),
      formatObserved(method.observed),
      `${method.agreeing}/${method.perSeed.length}`,
      formatVerdict(method.verdict),
    ]),
    ...(withChange ? [figures.change ?? "—"] : []),
  ])
  return ["## Splits: pref_acc(A) − pref_acc(B), mean over seeds", "", ...table(header, align, rows)]
}

const perSeedSections = (data: ReportData): string[] =>
  data.input.methods.flatMap((method, methodIndex) => {
    const label = methodLabel(method)
    const lines = [
      "",
      `## Per-seed diffs: ${label}`,
      "",
      ...table(
        ["Split", ...seedHeaders(data)],
        [false, ...data.input.seeds.map(() => true)],
        data.splits.map((figures) => [
          figures.split.name,
          ...figures.methods[methodIndex].perSeed.map((entry) => formatSignedPercent(entry.diff)),
        ]),
      ),
    ]
    const accuracyRows = data.splits.flatMap((figures) => {
      const perSeed = figures.methods[methodIndex].perSeed
      if (perSeed.some((entry) => entry.a === undefined || entry.b === undefined)) return []
      return [
        [figures.split.name, "A", ...perSeed.map((entry) => formatPercent(entry.a as Q.Rational))],
        [figures.split.name, "B", ...perSeed.map((entry) => formatPercent(entry.b as Q.Rational))],
      ]
    })
    if (accuracyRows.length > 0) {
      lines.push(
        "",
        `### Pref_acc per group and seed: ${label}`,
        "",
        ...table(["Split", "Group", ...seedHeaders(data)], [false, false, ...data.input.seeds.map(() => true)], accuracyRows),
      )
    }
    return lines
  })

const plotSection = (data: ReportData, plotDir: string | undefined): string[] => {
  if (plotDir === undefined) return []
  const plots = plotList(data)
  if (plots.length === 0) return []
  const folder = plotDir.replace(/\/+$/, "")
  const prefix = folder === "" || folder === "." ? "" : `${folder}/`
  return ["", "## Plots", "", ...plots.map((plot) => `- [${plot.title}](${prefix}${plot.fileName})`)]
}

/** Renders report.md from already computed figures. */
export const renderReportMarkdownFromData = (data: ReportData, options: ReportOptions = {}): string => {
  const sections = [weightSection(data), baselineSection(data), splitSection(data)].filter((lines) => lines.length > 0)
  const lines = [
    `# ${data.input.title ?? DEFAULT_TITLE}`,
    "",
    ...introLines(data),
    ...sections.flatMap((section) => ["", ...section]),
    ...perSeedSections(data),
    ...plotSection(data, options.plotDir),
  ]
  return `${lines.join("\n")}\n`
}

/**
 * Renders report.md. Throws `ReportInputError` when the input or the
 * thresholds are invalid.
 */
export const renderReportMarkdown = (input: ReportInput, options: ReportOptions = {}): string =>
  renderReportMarkdownFromData(computeReport(input, options), options)
