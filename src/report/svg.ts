/**
 * Hand-written SVG chart parts: linear scales, axes with ticks and labels,
 * legends and the document wrapper. Output depends only on the arguments, so
 * the same figures give byte-identical files.
 */
import { formatNumberFixed } from "./exact.ts"

export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

export const GROUP_COLORS = { A: "#1f77b4", B: "#ff7f0e" } as const

/** Dash patterns that tell seeds apart on line charts. */
export const DASHES = ["", "6 3", "2 3", "8 3 2 3", "12 4"]

export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** Formats a coordinate with at most 2 decimals. */
export const coordinate = (value: number): string => {
  const text = formatNumberFixed(Object.is(value, -0) ? 0 : value, 2)
  const trimmed = text.replace(/\.?0+$/, "")
  return trimmed === "-0" || trimmed === "" ? "0" : trimmed
}

export interface Ticks {
  readonly min: number
  readonly max: number
  readonly values: ReadonlyArray<number>
  /** Decimals that print every tick exactly. */
  readonly decimals: number
}

/**
 * Picks about `count` round ticks (1, 2 or 5 times a power of ten) covering
 * [low, high]; the returned min and max are the outer ticks.
 */
export const niceTicks = (low: number, high: number, count = 5): Ticks => {
  let lo = low
  let hi = high
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1
    lo -= pad
    hi += pad
  }
  const rough = (hi - lo) / Math.max(1, count)
  const exponent = Math.floor(Math.log10(rough))
  const base = 10 ** exponent
  const fraction = rough / base
  // The smallest of 1, 2, 5 and 10 that is at least the rough step's leading part.
  const multiple = [1, 2, 5, 10].find((candidate) => fraction <= candidate) ?? 10
  const step = multiple * base
  const first = Math.floor(lo / step + 1e-9)
  const last = Math.ceil(hi / step - 1e-9)
  // Multiply before scaling by the power of ten so ticks carry less float noise.
  const at = (index: number): number =>
    exponent >= 0 ? index * multiple * 10 ** exponent : (index * multiple) / 10 ** -exponent
  const values: number[] = []
  for (let index = first; index <= last; index++) values.push(at(index))
  return { min: at(first), max: at(last), values, decimals: Math.max(0, -exponent) }
}

export const tickLabel = (value: number, decimals: number): string => {
  const text = formatNumberFixed(value, decimals)
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text
}

export interface LinearScale {
  (value: number): number
  readonly domain: readonly [number, number]
  readonly range: readonly [number, number]
}

export const linearScale = (domain: readonly [number, number], range: readonly [number, number]): LinearScale => {
  const span = domain[1] - domain[0]
  const scale = ((value: number) =>
    span === 0 ? (range[0] + range[1]) / 2 : range[0] + ((value - domain[0]) / span) * (range[1] - range[0])) as LinearScale
  return Object.assign(scale, { domain, range })
}

/** Plot area inside the margins. */
export interface PlotArea {
  readonly left: number
  readonly top: number
  readonly right: number
  readonly bottom: number
}

export const WIDTH = 720
export const HEIGHT = 420

export const defaultArea = (legendWidth: number): PlotArea => ({
  left: 70,
  top: 46,
  right: WIDTH - 20 - legendWidth,
  bottom: HEIGHT - 56,
})

export interface AxesSpec {
  readonly area: PlotArea
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly x: LinearScale
  readonly y: LinearScale
  /** Numeric x ticks, or categorical labels at given x positions. */
  readonly xTicks: ReadonlyArray<{ readonly at: number; readonly label: string }>
  readonly yTicks: ReadonlyArray<{ readonly at: number; readonly label: string }>
}

/** Draws the title, grid lines, both axes, their ticks, tick labels and axis labels. */
export const axes = (spec: AxesSpec): string[] => {
  const { area, x, y } = spec
  const middleX = (area.left + area.right) / 2
  const middleY = (area.top + area.bottom) / 2
  const lines: string[] = [
    `<text class="title" x="${coordinate(WIDTH / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
    `<g class="grid" stroke="#e5e5e5" stroke-width="1">`,
    ...spec.yTicks.map(
      (tick) =>
        `<line x1="${coordinate(area.left)}" y1="${coordinate(y(tick.at))}" x2="${coordinate(area.right)}" y2="${coordinate(y(tick.at))}"/>`,
    ),
    `</g>`,
    `<g class="axis x-axis" font-size="11">`,
    `<line x1="${coordinate(area.left)}" y1="${coordinate(area.bottom)}" x2="${coordinate(area.right)}" y2="${coordinate(area.bottom)}" stroke="#000"/>`,
    ...spec.xTicks.flatMap((tick) => [
      `<line x1="${coordinate(x(tick.at))}" y1="${coordinate(area.bottom)}" x2="${coordinate(x(tick.at))}" y2="${coordinate(area.bottom + 5)}" stroke="#000"/>`,
      `<text x="${coordinate(x(tick.at))}" y="${coordinate(area.bottom + 18)}" text-anchor="middle">${escapeXml(tick.label)}</text>`,
    ]),
    `<text class="axis-label" x="${coordinate(middleX)}" y="${coordinate(HEIGHT - 14)}" text-anchor="middle" font-size="13">${escapeXml(spec.xLabel)}</text>`,
    `</g>`,
    `<g class="axis y-axis" font-size="11">`,
    `<line x1="${coordinate(area.left)}" y1="${coordinate(area.top)}" x2="${coordinate(area.left)}" y2="${coordinate(area.bottom)}" stroke="#000"/>`,
    ...spec.yTicks.flatMap((tick) => [
      `<line x1="${coordinate(area.left - 5)}" y1="${coordinate(y(tick.at))}" x2="${coordinate(area.left)}" y2="${coordinate(y(tick.at))}" stroke="#000"/>`,
      `<text x="${coordinate(area.left - 8)}" y="${coordinate(y(tick.at) + 4)}" text-anchor="end">${escapeXml(tick.label)}</text>`,
    ]),
    `<text class="axis-label" x="18" y="${coordinate(middleY)}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${coordinate(middleY)})">${escapeXml(spec.yLabel)}</text>`,
    `</g>`,
  ]
  return lines
}

export interface LegendEntry {
  readonly label: string
  readonly color: string
  /** `line` draws a stroke sample (with `dash`), `box` a filled square. */
  readonly kind: "line" | "box"
  readonly dash?: string
}

/** Width of the legend box for these entries (labels are estimated at 6.5 px per character). */
export const legendWidth = (entries: ReadonlyArray<LegendEntry>): number =>
  44 + Math.max(0, ...entries.map((entry) => entry.label.length)) * 6.5

/** Draws a legend box with one row per entry, its top-left corner at (x, y). */
export const legend = (entries: ReadonlyArray<LegendEntry>, x: number, y: number): string[] => {
  const rowHeight = 18
  const width = legendWidth(entries)
  const lines = [
    `<g class="legend" font-size="11">`,
    `<rect x="${coordinate(x)}" y="${coordinate(y)}" width="${coordinate(width)}" height="${coordinate(entries.length * rowHeight + 8)}" fill="#fff" stroke="#999"/>`,
  ]
  entries.forEach((entry, index) => {
    const rowY = y + 4 + index * rowHeight + rowHeight / 2
    if (entry.kind === "box") {
      lines.push(
        `<rect x="${coordinate(x + 8)}" y="${coordinate(rowY - 5)}" width="20" height="10" fill="${entry.color}" fill-opacity="0.6" stroke="${entry.color}"/>`,
      )
    } else {
      const dash = entry.dash ? ` stroke-dasharray="${entry.dash}"` : ""
      lines.push(
        `<line x1="${coordinate(x + 8)}" y1="${coordinate(rowY)}" x2="${coordinate(x + 28)}" y2="${coordinate(rowY)}" stroke="${entry.color}" stroke-width="2"${dash}/>`,
      )
    }
    lines.push(`<text x="${coordinate(x + 34)}" y="${coordinate(rowY + 4)}">${escapeXml(entry.label)}</text>`)
  })
  lines.push(`</g>`)
  return lines
}

/** Wraps chart parts into a standalone SVG document. */
export const svgDocument = (title: string, body: ReadonlyArray<string>): string =>
  [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    ...body,
    `</svg>`,
    "",
  ].join("\n")
