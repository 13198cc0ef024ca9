/**
 * Pure layout of the live view: turns the view state into styled text lines
 * that fit a given terminal width and height. The Ink components only paint
 * these lines, so the frames can be tested and reasoned about as plain text.
 */
import type { InstanceRef } from "../engine/events.js"
import {
  firstLine,
  formatDuration,
  formatEta,
  formatMetric,
  formatRate,
  padEnd,
  padStart,
  progressBar,
  textWidth,
  truncateEnd,
  truncateMiddle,
} from "./format.js"
import type { InstanceNames } from "./names.js"
import {
  remainingMs,
  resumableIds,
  type RunFinished,
  stageCounts,
  stepRate,
  type InstanceView,
  type StageCounts,
  type StaticEntry,
  type ViewState,
} from "./state.js"

export type Style = "green" | "red" | "yellow" | "cyan" | "dim" | "bold"

export interface Segment {
  readonly text: string
  readonly style?: Style
}

export type Line = ReadonlyArray<Segment>

export interface LayoutOptions {
  readonly columns: number
  /** Terminal height; the live area stays below it so Ink can redraw in place. */
  readonly rows: number
}

const plain = (text: string): Segment => ({ text })
const styled = (text: string, style: Style): Segment => ({ text, style })

/** Concatenated text of a line, without styles. */
export const lineText = (line: Line): string => line.map((segment) => segment.text).join("")

/** Cuts a styled line to `width` columns. */
export const fitLine = (line: Line, width: number): Line => {
  const result: Array<Segment> = []
  let left = width
  for (const segment of line) {
    if (left <= 0) break
    const segmentWidth = textWidth(segment.text)
    if (segmentWidth <= left) {
      result.push(segment)
      left -= segmentWidth
    } else {
      result.push({ ...segment, text: truncateEnd(segment.text, left) })
      left = 0
    }
  }
  return result
}

// Table of per-stage counts: six right-aligned number columns.
const COUNT_COLUMNS = ["total", "cached", "running", "done", "failed", "queued"] as const
const COUNT_WIDTH = 8
const COUNT_STYLES: Record<(typeof COUNT_COLUMNS)[number], Style | undefined> = {
  total: undefined,
  cached: "cyan",
  running: "yellow",
  done: "green",
  failed: "red",
  queued: undefined,
}

const stageColumnWidth = (state: ViewState, columns: number): number => {
  const longest = Math.max(5, ...state.stages.map((stage) => textWidth(stage)))
  return Math.max(8, Math.min(longest, columns - COUNT_WIDTH * COUNT_COLUMNS.length))
}

const tableHeader = (stageWidth: number): Line => [
  styled(padEnd("stage", stageWidth) + COUNT_COLUMNS.map((name) => padStart(name, COUNT_WIDTH)).join(""), "dim"),
]

const stageRow = (stage: string, counts: StageCounts, stageWidth: number): Line => {
  const segments: Array<Segment> = [styled(padEnd(truncateEnd(stage, stageWidth), stageWidth), "bold")]
  for (const column of COUNT_COLUMNS) {
    const value = counts[column]
    if (value === 0 && column !== "total") {
      segments.push(styled(padStart("·", COUNT_WIDTH), "dim"))
    } else {
      const style = COUNT_STYLES[column]
      const text = padStart(String(value), COUNT_WIDTH)
      segments.push(style === undefined ? plain(text) : styled(text, style))
    }
  }
  const extra: Array<string> = []
  if (counts.skipped > 0) extra.push(`${counts.skipped} skipped`)
  if (counts.interrupted > 0) extra.push(`${counts.interrupted} stopped`)
  if (extra.length > 0) segments.push(styled(`  ${extra.join(", ")}`, "dim"))
  return segments
}

/**
 * Width of the label column in a stage's running rows: the widest label of
 * any instance of the stage (so it stays put as instances come and go),
 * capped at 30% of the terminal width.
 */
const labelWidth = (state: ViewState, names: InstanceNames, stage: string, columns: number): number => {
  const cap = Math.max(10, Math.floor(columns * 0.3))
  let widest = textWidth(stage)
  for (const view of state.instances.values()) {
    if (view.ref.stage === stage) widest = Math.max(widest, textWidth(names.short(view.ref, cap)))
  }
  return Math.min(cap, widest)
}

/** Lays out the progress row of a running instance: label, bar, step k/N, rate and ETA. */
const runningRow = (view: InstanceView, names: InstanceNames, now: number, width: number, columns: number): Line => {
  const short = names.short(view.ref, width)
  const label = padEnd(short === "" ? truncateEnd(view.ref.stage, width) : short, width)
  const head: Array<Segment> = [styled("  ▶ ", "yellow"), plain(label)]
  if (view.step === undefined || view.total === undefined) {
    const parts = ["starting"]
    if (view.reason !== undefined) parts.push(view.reason)
    if (view.startedAt !== undefined) parts.push(formatDuration(now - view.startedAt))
    return fitLine([...head, styled(` ${parts.join(" · ")}`, "dim")], columns)
  }
  const rate = stepRate(view)
  const remaining = remainingMs(view)
  const totalText = String(view.total)
  const stepText = padStart(`${view.step}/${totalText}`, totalText.length * 2 + 1)
  const rateText = rate === undefined ? "" : `  ${padStart(formatRate(rate), 9)}`
  const etaText = remaining === undefined ? "" : `  ETA ${formatEta(remaining)}`
  const tail = ` ${stepText}${rateText}${etaText}`
  const barWidth = Math.min(30, columns - 4 - width - 1 - textWidth(tail))
  const segments: Array<Segment> = [...head]
  if (barWidth >= 6) {
    segments.push(plain(" "), styled(progressBar(view.step, view.total, barWidth), "green"))
  }
  segments.push(plain(tail))
  return fitLine(segments, columns)
}

/** Lays out the row under a running instance: phase, latest metrics and elapsed time. */
const metricsRow = (view: InstanceView, now: number, columns: number): Line | undefined => {
  if (view.step === undefined) return undefined
  const parts: Array<string> = []
  if (view.phase !== undefined) parts.push(view.phase)
  for (const [name, value] of Object.entries(view.metrics ?? {})) parts.push(`${name} ${formatMetric(value)}`)
  if (view.startedAt !== undefined) parts.push(formatDuration(now - view.startedAt))
  if (parts.length === 0) return undefined
  return [styled(truncateEnd(`      ${parts.join(" · ")}`, columns), "dim")]
}

/** Names of instances the next run resumes, as many as fit, then `and N more`. */
const resumeList = (state: ViewState, names: InstanceNames, width: number): string => {
  const ids = resumableIds(state)
  const refs = ids.map((id) => state.instances.get(id)!.ref)
  const shown: Array<string> = []
  let used = 0
  for (let index = 0; index < refs.length; index++) {
    const rest = refs.length - index - 1
    const label = names.qualified(refs[index]!, 40)
    const suffix = rest > 0 ? ` and ${rest} more` : ""
    const extra = (shown.length > 0 ? 2 : 0) + textWidth(label)
    if (used + extra + textWidth(suffix) > width) {
      const remainingCount = refs.length - index
      return `${shown.join(", ")}${shown.length > 0 ? " and " : ""}${remainingCount} more`
    }
    shown.push(label)
    used += extra
  }
  return shown.join(", ")
}

const headerLine = (state: ViewState, columns: number): Line => {
  const elapsed = state.finished?.wallMs ?? (state.startedAt === undefined ? 0 : state.now - state.startedAt)
  const targets = state.targets.length === 0 ? "all" : state.targets.join(" ")
  const text = `pipe run ${targets} · ${state.order.length} instances · -j ${state.concurrency} · ${formatDuration(elapsed)}`
  return [styled(truncateEnd(text, columns), "bold")]
}

const stoppingLines = (state: ViewState, names: InstanceNames, columns: number): Array<Line> => {
  if (state.stopping === undefined || state.finished !== undefined || state.closedAt !== undefined) return []
  const running = state.stopping.running
  const noun = running === 1 ? "instance" : "instances"
  const head = `■ Stopping ${running} running ${noun}… finished work stays cached.`
  const prefix = "  Next run resumes: "
  const resumes = resumeList(state, names, columns - textWidth(prefix))
  const lines: Array<Line> = [[styled(truncateEnd(head, columns), "yellow")]]
  if (resumes !== "") lines.push([styled(truncateEnd(prefix + resumes, columns), "yellow")])
  return lines
}

/**
 * Builds a stand-in for `run-finished` from the instance counts when the view
 * closes after a stop request but the runner never reported the end.
 */
const finishedFromCounts = (state: ViewState): RunFinished | undefined => {
  if (state.closedAt === undefined || state.stopping === undefined) return undefined
  let ran = 0
  let cached = 0
  let failed = 0
  let skipped = 0
  for (const view of state.instances.values()) {
    if (view.status === "done") ran += 1
    else if (view.status === "failed") {
      ran += 1
      failed += 1
    } else if (view.status === "cached") cached += 1
    else if (view.status === "skipped") skipped += 1
  }
  const wallMs = state.startedAt === undefined ? 0 : state.closedAt - state.startedAt
  return { type: "run-finished", at: state.closedAt, wallMs, ran, cached, failed, skipped, interrupted: true, materialised: {} }
}

const summaryLines = (state: ViewState, names: InstanceNames, columns: number): Array<Line> => {
  const finished = state.finished ?? finishedFromCounts(state)
  if (finished === undefined) return []
  const lines: Array<Line> = []
  const wall = formatDuration(finished.wallMs)
  const counts = [`ran ${finished.ran}`, `cached ${finished.cached}`]
  if (finished.failed > 0) counts.push(`failed ${finished.failed}`)
  // After an interrupt the runner's skipped count also includes the stopped and
  // never-started instances, which get their own counts below.
  const skipped = finished.interrupted
    ? state.order.filter((id) => state.instances.get(id)?.status === "skipped").length
    : finished.skipped
  if (skipped > 0) counts.push(`skipped ${skipped}`)
  if (finished.interrupted) {
    const resumable = resumableIds(state)
    const stopped = resumable.filter((id) => state.instances.get(id)?.status === "interrupted").length
    counts.push(`stopped ${stopped}`, `not started ${resumable.length - stopped}`)
    lines.push([styled(truncateEnd(`■ Interrupted after ${wall} · ${counts.join(" · ")}`, columns), "yellow")])
    const prefix = "  Next run resumes: "
    const resumes = resumeList(state, names, columns - textWidth(prefix))
    if (resumes !== "") lines.push([styled(truncateEnd(prefix + resumes, columns), "yellow")])
  } else if (finished.failed > 0) {
    lines.push([styled(truncateEnd(`✘ Failed after ${wall} · ${counts.join(" · ")}`, columns), "red")])
  } else {
    lines.push([styled(truncateEnd(`✔ Done in ${wall} · ${counts.join(" · ")}`, columns), "green")])
  }
  const failures = state.order
    .map((id) => state.instances.get(id)!)
    .filter((view) => view.status === "failed")
  for (const view of failures) {
    const label = names.qualified(view.ref, Math.min(40, columns - 4))
    const error = firstLine(view.error ?? "")
    lines.push([styled(truncateEnd(`  ✘ ${label}: ${error}`, columns), "red")])
    if (view.logPath !== undefined) {
      lines.push([styled(truncateMiddle(`    log: ${view.logPath}`, columns), "dim")])
    }
  }
  const materialised = Object.entries(finished.materialised)
  for (const [id, path] of materialised) {
    const ref = state.instances.get(id)?.ref
    const label = ref === undefined ? id : names.qualified(ref, 30)
    const text = materialised.length === 1 ? `Report: ${path}  (${label})` : `Report ${label}: ${path}`
    lines.push([plain(truncateMiddle(text, columns))])
  }
  return lines
}

/** Lays out the live area as at most `rows - 1` lines. */
export const layoutLive = (state: ViewState, names: InstanceNames, options: LayoutOptions): Array<Line> => {
  const { columns } = options
  if (state.startedAt === undefined && state.order.length === 0) return []
  const budget = Math.max(4, options.rows - 1)
  const stageWidth = stageColumnWidth(state, columns)
  const tail = [...stoppingLines(state, names, columns), ...summaryLines(state, names, columns)]
  const fixed: Array<Line> = [headerLine(state, columns), tableHeader(stageWidth)]

  // Per stage: the count row, an optional matrix summary row and its running instances.
  const groups = state.stages.map((stage) => {
    const running = state.order
      .map((id) => state.instances.get(id)!)
      .filter((view) => view.ref.stage === stage && view.status === "running")
    const counts = stageCounts(state, stage)
    return {
      stage,
      row: fitLine(stageRow(stage, counts, stageWidth), columns),
      complete: counts.running === 0 && counts.queued === 0,
      matrix: [styled(`  ${names.matrixSummary(stage, columns - 2)}`, "dim")] as Line,
      running,
    }
  })
  const shownGroups = pickGroups(groups, budget - fixed.length - tail.length)
  const runningTotal = groups.reduce((sum, group) => sum + group.running.length, 0)
  const base = fixed.length + shownGroups.rows.length + tail.length
  let left = budget - base

  // Spend the remaining rows: progress rows first, then metrics rows, then matrix summaries.
  const shownRunning = Math.max(0, Math.min(runningTotal, runningTotal > left ? left - 1 : left))
  left -= shownRunning + (shownRunning < runningTotal ? 1 : 0)
  const showMetrics = left >= shownRunning
  if (showMetrics) left -= shownRunning
  const showMatrix = left >= shownGroups.groups.size

  const lines: Array<Line> = [...fixed]
  let runningShown = 0
  for (const group of groups) {
    if (!shownGroups.groups.has(group)) continue
    lines.push(group.row)
    if (showMatrix && group.matrix.length > 0 && lineText(group.matrix).trim() !== "") lines.push(group.matrix)
    const width = group.running.length === 0 ? 0 : labelWidth(state, names, group.stage, columns)
    for (const view of group.running) {
      if (runningShown >= shownRunning) break
      runningShown += 1
      lines.push(runningRow(view, names, state.now, width, columns))
      if (showMetrics) {
        const detail = metricsRow(view, state.now, columns)
        if (detail !== undefined) lines.push(detail)
      }
    }
  }
  if (runningShown < runningTotal) {
    lines.push([styled(`  … ${runningTotal - runningShown} more running`, "dim")])
  }
  lines.push(...shownGroups.rows.slice(shownGroups.groups.size))
  lines.push(...tail)
  return lines
}

interface StageGroup {
  readonly row: Line
  readonly complete: boolean
}

/**
 * Chooses which stage rows fit in `rows` lines. When some must go, finished
 * stages go first, then the last ones, and one extra row counts the hidden
 * ones. Returns the chosen groups and their rows (stage rows, then the note).
 */
const pickGroups = <G extends StageGroup>(
  groups: ReadonlyArray<G>,
  rows: number,
): { groups: Set<G>; rows: Array<Line> } => {
  if (groups.length <= rows) return { groups: new Set(groups), rows: groups.map((group) => group.row) }
  const room = Math.max(0, rows - 1)
  const active = groups.filter((group) => !group.complete)
  const kept = new Set((active.length >= room ? active : [...active, ...groups.filter((group) => group.complete)]).slice(0, room))
  const chosen = groups.filter((group) => kept.has(group))
  const hidden = groups.length - chosen.length
  const note: Line = [styled(`… ${hidden} more ${hidden === 1 ? "stage" : "stages"}`, "dim")]
  return { groups: new Set(chosen), rows: [...chosen.map((group) => group.row), note] }
}

const qualifiedWidth = (columns: number): number => Math.max(12, Math.min(60, columns - 24))

const labelOf = (instance: InstanceRef, names: InstanceNames, columns: number): string =>
  names.qualified(instance, qualifiedWidth(columns))

/** Lays out the lines printed once, above the live area, for one static entry. */
export const layoutStatic = (entry: StaticEntry, names: InstanceNames, columns: number): Array<Line> => {
  const label = labelOf(entry.instance, names, columns)
  switch (entry.kind) {
    case "done": {
      const line: Array<Segment> = [styled("✔ ", "green"), plain(label), styled(`  ${formatDuration(entry.durationMs)}`, "dim")]
      if (entry.unchanged) line.push(styled(" · outputs unchanged", "dim"))
      return [fitLine(line, columns)]
    }
    case "failed":
      return [
        fitLine([styled("✘ ", "red"), plain(label), styled(`  failed after ${formatDuration(entry.durationMs)}`, "red")], columns),
        [styled(`  ${firstLine(entry.error)}`, "red")],
        [styled(truncateMiddle(`  log: ${entry.logPath}`, columns), "dim")],
      ]
    case "skipped":
      return [fitLine([styled("- ", "dim"), plain(label), styled(`  skipped: ${entry.reason}`, "dim")], columns)]
    case "interrupted":
      return [fitLine([styled("■ ", "yellow"), plain(label), styled("  stopped; runs again next time", "yellow")], columns)]
    case "cached":
      return [fitLine([styled("○ ", "cyan"), plain(label), styled("  cached", "dim")], columns)]
    case "started":
      return [fitLine([styled("▶ ", "yellow"), plain(label), styled(`  started: ${entry.reason}`, "dim")], columns)]
    case "log":
      return [[styled(`│ ${label} `, "dim"), plain(entry.line)]]
  }
}
