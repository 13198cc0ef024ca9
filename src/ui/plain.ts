/**
 * Plain line output for CI logs and pipes: one line per event, full instance
 * names (so logs can be searched), no escape codes, and progress of each
 * instance at most once per interval.
 */
import type { Renderer, RunEvent } from "../engine/events.js"
import { firstLine, formatDuration, formatEta, formatMetric, formatRate } from "./format.js"
import { reduceView, remainingMs, stepRate, initialViewState, type ViewState } from "./state.js"

export interface PlainRendererOptions {
  /** Output stream; defaults to `process.stdout`. */
  readonly stdout?: { readonly write: (text: string) => unknown }
  /** Minimum time in ms between two progress lines of one instance, by event time. Default 5000. */
  readonly progressIntervalMs?: number
  /** Also print every instance log line. */
  readonly verbose?: boolean
}

const metricsText = (metrics: Readonly<Record<string, number>> | undefined): string =>
  Object.entries(metrics ?? {})
    .map(([name, value]) => `${name} ${formatMetric(value)}`)
    .join(" · ")

/** Returns the lines one event adds, given the state before and after it. */
const linesFor = (
  event: RunEvent,
  after: ViewState,
  verbose: boolean,
  lastProgress: Map<string, number>,
  intervalMs: number,
): Array<string> => {
  switch (event.type) {
    case "run-started": {
      const targets = event.targets.length === 0 ? "all stages" : event.targets.join(" ")
      return [`run ${targets}: ${event.instances.length} instances, -j ${event.concurrency}`]
    }
    case "instance-queued":
      return []
    case "instance-cached":
      return [`cached   ${event.instance.id}`]
    case "instance-started":
      return [`start    ${event.instance.id} (${event.reason})`]
    case "instance-progress": {
      const previous = lastProgress.get(event.instance.id)
      if (previous !== undefined && event.at - previous < intervalMs) return []
      lastProgress.set(event.instance.id, event.at)
      const view = after.instances.get(event.instance.id)
      const parts = [`${event.step}/${event.total}`]
      if (event.total > 0) parts[0] += ` (${Math.floor((100 * event.step) / event.total)}%)`
      if (event.phase !== undefined) parts.unshift(event.phase)
      const rate = view === undefined ? undefined : stepRate(view)
      if (rate !== undefined) parts.push(formatRate(rate))
      const remaining = view === undefined ? undefined : remainingMs(view)
      if (remaining !== undefined) parts.push(`ETA ${formatEta(remaining)}`)
      const metrics = metricsText(event.metrics)
      if (metrics !== "") parts.push(metrics)
      return [`progress ${event.instance.id} ${parts.join(" · ")}`]
    }
    case "instance-log":
      return verbose ? [`log      ${event.instance.id} | ${event.line}`] : []
    case "instance-succeeded":
      lastProgress.delete(event.instance.id)
      return [`done     ${event.instance.id} in ${formatDuration(event.durationMs)}${event.unchanged ? " (outputs unchanged)" : ""}`]
    case "instance-failed":
      lastProgress.delete(event.instance.id)
      return [
        `FAILED   ${event.instance.id} after ${formatDuration(event.durationMs)}: ${firstLine(event.error)}`,
        `         log: ${event.logPath}`,
      ]
    case "instance-interrupted":
      return [`stopped  ${event.instance.id} (runs again next time)`]
    case "instance-skipped":
      return [`skipped  ${event.instance.id}: ${event.reason}`]
    case "run-finished": {
      const counts = [`ran ${event.ran}`, `cached ${event.cached}`]
      if (event.failed > 0) counts.push(`failed ${event.failed}`)
      if (event.skipped > 0) counts.push(`skipped ${event.skipped}`)
      const wall = formatDuration(event.wallMs)
      const head = event.interrupted
        ? `Interrupted after ${wall}: ${counts.join(", ")}; the next run resumes the rest`
        : event.failed > 0
          ? `Failed after ${wall}: ${counts.join(", ")}`
          : `Done in ${wall}: ${counts.join(", ")}`
      const reports = Object.entries(event.materialised).map(([id, path]) => `report   ${id}: ${path}`)
      return [head, ...reports]
    }
  }
}

/** Creates the plain line renderer used when stdout is not a terminal or `CI` is set. */
export const makePlainRenderer = (options: PlainRendererOptions = {}): Renderer => {
  const stdout = options.stdout ?? process.stdout
  const verbose = options.verbose ?? false
  const intervalMs = options.progressIntervalMs ?? 5000
  const lastProgress = new Map<string, number>()
  let state = initialViewState
  return {
    onEvent: (event) => {
      state = reduceView(state, event, { verbose: false })
      const lines = linesFor(event, state, verbose, lastProgress, intervalMs)
      if (lines.length > 0) stdout.write(lines.join("\n") + "\n")
    },
    close: async () => {},
  }
}
