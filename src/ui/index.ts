/**
 * Terminal renderers for run events. `makeInkRenderer` draws the live Ink view
 * on a TTY, `makePlainRenderer` writes one line per event for CI logs and pipes, and `renderGraph` draws the stage graph as text.
 */
import { render } from "ink"
import { createElement } from "react"
import type { Renderer, RunEvent } from "../engine/events.js"
import { LiveView } from "./LiveView.js"
import { ViewStore } from "./store.js"

export { graphFromEngine, renderGraph, type GraphModel, type GraphStage, type GraphInstance, type RenderGraphOptions } from "./graph.js"
export { InstanceNames } from "./names.js"

export interface InkRendererOptions {
  /** Stream to draw on; defaults to `process.stdout`. */
  readonly stdout?: NodeJS.WriteStream
  /** Fixed width in columns; defaults to the stream's width (followed on resize), else 80. */
  readonly columns?: number
  /** Fixed height in rows; defaults to the stream's height, else 24. */
  readonly rows?: number
  /** Also print cache hits, start reasons and every instance log line. */
  readonly verbose?: boolean
  /** Draw without colors or bold; defaults to true when `NO_COLOR` is set and not empty. */
  readonly noColor?: boolean
  /** Interval in ms at which elapsed times refresh between events; 0 turns the clock off. Default 1000. */
  readonly tickMs?: number
  /**
   * Show "stopping…" as soon as the process gets SIGINT, before the runner
   * reports interrupted instances. Default true.
   */
  readonly watchSigint?: boolean
}

const noColorFromEnv = (): boolean => {
  const value = process.env["NO_COLOR"]
  return value !== undefined && value !== ""
}

/** Creates the live Ink view; `close` draws the last frame and unmounts it. */
export const makeInkRenderer = (options: InkRendererOptions = {}): Renderer => {
  const stdout = options.stdout ?? process.stdout
  const sizeOf = (): { columns: number; rows: number } => ({
    columns: options.columns ?? (stdout.columns > 0 ? stdout.columns : 80),
    rows: options.rows ?? (stdout.rows > 0 ? stdout.rows : 24),
  })
  const store = new ViewStore({ ...sizeOf(), verbose: options.verbose ?? false })
  const instance = render(createElement(LiveView, { store, noColor: options.noColor ?? noColorFromEnv() }), {
    stdout,
    exitOnCtrlC: false,
    // Console output from the engine goes above the live area instead of through it.
    patchConsole: true,
    maxFps: 12,
  })

  const onResize = (): void => {
    const size = sizeOf()
    store.resize(size.columns, size.rows)
  }
  stdout.on("resize", onResize)

  const tickMs = options.tickMs ?? 1000
  const ticker = tickMs > 0 ? setInterval(() => store.dispatch({ type: "tick", at: Date.now() }), tickMs) : undefined
  ticker?.unref()

  // A SIGINT listener disables Node's default exit, so when no other listener
  // (such as the runner's) handles the signal, this one re-raises it unhandled.
  const onSigint = (): void => {
    store.dispatch({ type: "stop-requested", at: Date.now() })
    if (process.listenerCount("SIGINT") === 1) {
      process.off("SIGINT", onSigint)
      process.kill(process.pid, "SIGINT")
    }
  }
  const watchSigint = options.watchSigint ?? true
  if (watchSigint) process.on("SIGINT", onSigint)

  let closed = false
  return {
    onEvent: (event: RunEvent) => {
      if (closed) return
      store.dispatch(event)
    },
    close: async () => {
      if (closed) return
      closed = true
      if (ticker !== undefined) clearInterval(ticker)
      if (watchSigint) process.off("SIGINT", onSigint)
      stdout.off("resize", onResize)
      store.dispatch({ type: "closed", at: Date.now() })
      instance.unmount()
      await instance.waitUntilExit()
    },
  }
}
