/**
 * Pure text helpers shared by the live view and the graph
 * drawing. Widths count code points, so every glyph used here (box drawing,
 * block elements, check marks) must be one terminal column wide.
 */

/** Returns the number of terminal columns `text` takes, counting one per code point. */
export const textWidth = (text: string): number => {
  let width = 0
  for (const _ of text) width += 1
  return width
}

/** Cuts `text` to at most `width` columns, ending with `…` when something was cut. */
export const truncateEnd = (text: string, width: number): string => {
  if (width <= 0) return ""
  const chars = [...text]
  if (chars.length <= width) return text
  if (width === 1) return "…"
  return chars.slice(0, width - 1).join("") + "…"
}

/** Cuts the middle of `text` to at most `width` columns, keeping both ends. */
export const truncateMiddle = (text: string, width: number): string => {
  if (width <= 0) return ""
  const chars = [...text]
  if (chars.length <= width) return text
  if (width <= 2) return truncateEnd(text, width)
  const head = Math.ceil((width - 1) / 2)
  const tail = width - 1 - head
  return chars.slice(0, head).join("") + "…" + chars.slice(chars.length - tail).join("")
}

export const padEnd = (text: string, width: number): string =>
  text + " ".repeat(Math.max(0, width - textWidth(text)))

export const padStart = (text: string, width: number): string =>
  " ".repeat(Math.max(0, width - textWidth(text))) + text

const two = (n: number): string => String(n).padStart(2, "0")

/** Formats a duration: `0.4s`, `3.1s`, `42s`, `3m05s`, `1h02m`. */
export const formatDuration = (ms: number): string => {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0
  if (safe < 10_000) return `${(safe / 1000).toFixed(1)}s`
  const seconds = Math.floor(safe / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${two(seconds % 60)}s`
  const hours = Math.floor(minutes / 60)
  return `${hours}h${two(minutes % 60)}m`
}

/** Formats a remaining time with whole seconds: `44s`, `3m05s`, `1h02m`. */
export const formatEta = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds}s`
  return formatDuration(seconds * 1000)
}

/** Formats a step rate like tqdm: `4.1 it/s`, or `2.3 s/it` below one step per second. */
export const formatRate = (stepsPerSecond: number): string => {
  if (!Number.isFinite(stepsPerSecond) || stepsPerSecond <= 0) return ""
  if (stepsPerSecond >= 100) return `${Math.round(stepsPerSecond)} it/s`
  if (stepsPerSecond >= 1) return `${stepsPerSecond.toFixed(1)} it/s`
  return `${(1 / stepsPerSecond).toFixed(1)} s/it`
}

/** Formats a metric value with about three significant decimals. */
export const formatMetric = (value: number): string => {
  if (Number.isNaN(value)) return "NaN"
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf"
  const magnitude = Math.abs(value)
  if (magnitude === 0) return "0"
  if (magnitude < 1e-3) return value.toExponential(1)
  if (magnitude < 10) return value.toFixed(3)
  if (magnitude < 1000) return value.toFixed(1)
  return value.toFixed(0)
}

/** Draws a progress bar of exactly `width` columns for `step` out of `total`. */
export const progressBar = (step: number, total: number, width: number): string => {
  if (width <= 0) return ""
  const fraction = total > 0 ? Math.min(1, Math.max(0, step / total)) : 0
  const filled = Math.floor(fraction * width)
  return "█".repeat(filled) + "░".repeat(width - filled)
}

/** Returns the first line of `text`, so a multi-line error fits one row. */
export const firstLine = (text: string): string => {
  const newline = text.indexOf("\n")
  return (newline === -1 ? text : text.slice(0, newline)).trimEnd()
}
