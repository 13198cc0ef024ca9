/**
 * Renders every file of the report at once, computing the figures a single
 * time: report.md, report.json and the SVG plots under `plots/`.
 */
import { computeReport } from "./compute.ts"
import { buildReportJsonFromData } from "./json.ts"
import { renderReportMarkdownFromData } from "./markdown.ts"
import type { ReportInput, ReportOptions } from "./model.ts"
import { renderPlotsFromData } from "./plots.ts"

export interface ReportFile {
  /** Path relative to the report folder, with `/` separators, e.g. `plots/diffs-S1_age.svg`. */
  readonly path: string
  readonly contents: string
}

/** Folder of the plots, relative to report.md. */
export const PLOT_DIR = "plots"

/**
 * Renders report.md (linking the plots), report.json (two-space indent) and
 * one SVG per plot. Throws `ReportInputError` when the input is invalid.
 */
export const renderReportFiles = (
  input: ReportInput,
  options: Omit<ReportOptions, "plotDir"> = {},
): ReadonlyArray<ReportFile> => {
  const data = computeReport(input, options)
  return [
    { path: "report.md", contents: renderReportMarkdownFromData(data, { ...options, plotDir: PLOT_DIR }) },
    { path: "report.json", contents: `${JSON.stringify(buildReportJsonFromData(data), null, 2)}\n` },
    ...renderPlotsFromData(data).map((plot) => ({ path: `${PLOT_DIR}/${plot.fileName}`, contents: plot.svg })),
  ]
}
