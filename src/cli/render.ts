/**
 * Renderers for run events: plain lines (no escape codes, for CI and pipes)
 * and NDJSON (`--json`, one event per line).
 */
import type { Renderer, RunEvent } from "../engine/events.js"

export type Write = (text: string) => void

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`

const formatMetrics = (metrics: Readonly<Record<string, number>> | undefined): string =>
  metrics === undefined
    ? ""
    : Object.entries(metrics)
        .map(([name, value]) => ` ${name}=${Number.isInteger(value) ? value : value.toPrecision(4)}`)
        .join("")

export interface PlainOptions {
  /** Print `instance-log` lines. */
  readonly verbose?: boolean
  /** Minimum interval between progress lines of one instance, in milliseconds. */
  readonly progressIntervalMs?: number
}

/** Formats one event as a line, or undefined for events the plain view leaves out. */
export const formatPlainEvent = (event: RunEvent, options: PlainOptions = {}): string | undefined => {
  switch (event.type) {
    case "run-started":
      return `run: ${event.instances.length} instance${event.instances.length === 1 ? "" : "s"} for ${event.targets.length} target${event.targets.length === 1 ? "" : "s"}, -j ${event.concurrency}`
    case "instance-queued":
      return undefined
    case "instance-cached":
      return `cached    ${event.instance.id}`
    case "instance-started":
      return `run       ${event.instance.id} (${event.reason})`
    case "instance-progress":
      return `progress  ${event.instance.id} ${event.phase === undefined ? "" : `${event.phase} `}${event.step}/${event.total}${formatMetrics(event.metrics)}`
    case "instance-log":
      return options.verbose === true ? `log       ${event.instance.id}: ${event.line}` : undefined
    case "instance-succeeded":
      return `done      ${event.instance.id} in ${seconds(event.durationMs)}${event.unchanged ? " (outputs unchanged)" : ""}`
    case "instance-failed":
      return `failed    ${event.instance.id} after ${seconds(event.durationMs)}: ${event.error}\n          log: ${event.logPath}`
    case "instance-interrupted":
      return `stopped   ${event.instance.id} (interrupted)`
    case "instance-skipped":
      return `skipped   ${event.instance.id} (${event.reason})`
    case "run-finished": {
      const lines = [
        `${event.interrupted ? "interrupted" : "finished"}: ${event.ran} ran, ${event.cached} cached, ${event.failed} failed, ${event.skipped} skipped in ${seconds(event.wallMs)}`,
      ]
      for (const [id, path] of Object.entries(event.materialised)) lines.push(`outputs   ${id} -> ${path}`)
      return lines.join("\n")
    }
  }
}

export const makePlainRenderer = (write: Write, options: PlainOptions = {}): Renderer => {
  const lastProgress = new Map<string, number>()
  const interval = options.progressIntervalMs ?? 2_000
  return {
    onEvent: (event) => {
      if (event.type === "instance-progress") {
        const last = lastProgress.get(event.instance.id)
        if (last !== undefined && event.at - last < interval && event.step !== event.total) return
        lastProgress.set(event.instance.id, event.at)
      }
      const line = formatPlainEvent(event, options)
      if (line !== undefined) write(`${line}\n`)
    },
    close: async () => {},
  }
}

export const makeJsonRenderer = (write: Write): Renderer => ({
  onEvent: (event) => write(`${JSON.stringify(event)}\n`),
  close: async () => {},
})
