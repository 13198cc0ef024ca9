/**
 * The comparison report of the DPO-versus-WPO study: verdicts, report.md,
 * report.json and SVG plots from eval, baseline and weight-stats results.
 */
export * from "./model.ts"
export {
  changeFor,
  computeReport,
  formatPercent,
  formatSignedPercent,
  formatStd,
  formatWeight,
  scoreToPercent,
  verdictFor,
  type BaselineFigures,
  type MethodSplitFigures,
  type ObservedDirection,
  type ReportData,
  type SeedDiff,
  type SplitFigures,
  type Verdict,
} from "./compute.ts"
export { renderReportMarkdown, renderReportMarkdownFromData } from "./markdown.ts"
export { buildReportJson, buildReportJsonFromData, REPORT_JSON_FORMAT, type JsonFigure, type ReportJson } from "./json.ts"
export { plotList, renderPlotsFromData, renderReportPlots, type Plot, type PlotKind, type PlotSpec } from "./plots.ts"
export { validateReportInput } from "./validate.ts"
export { PLOT_DIR, renderReportFiles, type ReportFile } from "./files.ts"
