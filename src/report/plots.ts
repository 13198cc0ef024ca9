/**
 * The report's SVG plots: WPO weight histograms per split (groups A and B),
 * per-seed diffs per split (one bar per method and seed), and learning curves
 * of A and B per method and split.
 */
import { computeReport, methodLabel, type ReportData } from "./compute.ts"
import * as Q from "./exact.ts"
import type { Group, LearningCurve, ReportInput, ReportOptions, WeightHistogram } from "./model.ts"
import {
  DASHES,
  GROUP_COLORS,
  PALETTE,
  axes,
  coordinate,
  defaultArea,
  escapeXml,
  legend,
  legendWidth,
  linearScale,
  niceTicks,
  svgDocument,
  tickLabel,
  type LegendEntry,
} from "./svg.ts"

export type PlotKind = "weights" | "diffs" | "curves"

export interface PlotSpec {
  readonly kind: PlotKind
  /** File name, unique within the report, e.g. `diffs-S1_age.svg`. */
  readonly fileName: string
  readonly title: string
  readonly split: string
  /** Set for learning curves only. */
  readonly method?: string
}

export interface Plot extends PlotSpec {
  readonly svg: string
}

/** Keeps letters, digits, `.`, `_` and `-` so that a split or method name is a safe file name part. */
const fileNamePart = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, "_")

/** Lists the plots the input supports, in a fixed order, with unique file names. */
export const plotList = (data: ReportData): ReadonlyArray<PlotSpec> => {
  const { input } = data
  const specs: PlotSpec[] = []
  for (const split of input.splits) {
    const groups = input.weights?.[split.name]
    if (groups?.A.histogram !== undefined && groups.B.histogram !== undefined) {
      specs.push({
        kind: "weights",
        fileName: `weights-${fileNamePart(split.name)}.svg`,
        title: `WPO weights of the training pairs: ${split.name}`,
        split: split.name,
      })
    }
  }
  for (const split of input.splits) {
    specs.push({
      kind: "diffs",
      fileName: `diffs-${fileNamePart(split.name)}.svg`,
      title: `Per-seed pref_acc(A) − pref_acc(B): ${split.name}`,
      split: split.name,
    })
  }
  for (const method of input.methods) {
    for (const split of input.splits) {
      if (input.curves?.some((curve) => curve.method === method && curve.split === split.name)) {
        specs.push({
          kind: "curves",
          fileName: `curves-${fileNamePart(method)}-${fileNamePart(split.name)}.svg`,
          title: `Learning curves of A and B: ${methodLabel(method)}, ${split.name}`,
          split: split.name,
          method,
        })
      }
    }
  }
  // Names that differ only in replaced characters would collide; number the repeats.
  const seen = new Map<string, number>()
  return specs.map((spec) => {
    const count = seen.get(spec.fileName) ?? 0
    seen.set(spec.fileName, count + 1)
    return count === 0 ? spec : { ...spec, fileName: spec.fileName.replace(/\.svg$/, `-${count + 1}.svg`) }
  })
}

const tickMarks = (ticks: ReturnType<typeof niceTicks>) =>
  ticks.values.map((value) => ({ at: value, label: tickLabel(value, ticks.decimals) }))

const histogramPlot = (spec: PlotSpec, histograms: Record<Group, WeightHistogram>, pairs: Record<Group, number | undefined>): string => {
  const groups = ["A", "B"] as const
  const shares = groups.map((group) => {
    const { counts } = histograms[group]
    const total = counts.reduce((sum, count) => sum + count, 0)
    return counts.map((count) => (total === 0 ? 0 : count / total))
  })
  const entries: LegendEntry[] = groups.map((group) => {
    const total = pairs[group] ?? histograms[group].counts.reduce((sum, count) => sum + count, 0)
    return { label: `group ${group} (${total} pairs)`, color: GROUP_COLORS[group], kind: "box" }
  })
  const area = defaultArea(legendWidth(entries) + 12)
  const xLow = Math.min(histograms.A.edges[0], histograms.B.edges[0])
  const xHigh = Math.max(histograms.A.edges[histograms.A.edges.length - 1], histograms.B.edges[histograms.B.edges.length - 1])
  const xTicks = niceTicks(xLow, xHigh)
  const yTicks = niceTicks(0, Math.max(...shares.flat(), 0.01))
  const x = linearScale([xTicks.min, xTicks.max], [area.left, area.right])
  const y = linearScale([0, yTicks.max], [area.bottom, area.top])
  const bars = groups.flatMap((group, groupIndex) => {
    const { edges } = histograms[group]
    return [
      `<g class="histogram group-${group}" fill="${GROUP_COLORS[group]}" fill-opacity="0.45" stroke="${GROUP_COLORS[group]}">`,
      ...shares[groupIndex].map((share, bin) => {
        const left = x(edges[bin])
        const width = x(edges[bin + 1]) - left
        return `<rect x="${coordinate(left)}" y="${coordinate(y(share))}" width="${coordinate(width)}" height="${coordinate(y(0) - y(share))}"/>`
      }),
      `</g>`,
    ]
  })
  return svgDocument(spec.title, [
    ...axes({
      area,
      title: spec.title,
      xLabel: "WPO weight of a training pair",
      yLabel: "share of the group's pairs",
      x,
      y,
      xTicks: tickMarks(xTicks),
      yTicks: tickMarks(yTicks),
    }),
    ...bars,
    ...legend(entries, area.right + 12, area.top),
  ])
}

const diffsPlot = (spec: PlotSpec, data: ReportData): string => {
  const figures = data.splits.find((entry) => entry.split.name === spec.split)
  if (figures === undefined) throw new Error(`internal error: no figures for split ${spec.split}`)
  const seeds = data.input.seeds
  const values = figures.methods.map((method) => method.perSeed.map((entry) => Q.toNumber(entry.diff)))
  const means = figures.methods.map((method) => Q.toNumber(method.mean))
  const entries: LegendEntry[] = figures.methods.flatMap((method, index) => [
    { label: `${methodLabel(method.method)} per seed`, color: PALETTE[index % PALETTE.length], kind: "box" as const },
    { label: `${methodLabel(method.method)} mean`, color: PALETTE[index % PALETTE.length], kind: "line" as const, dash: "6 3" },
  ])
  const area = defaultArea(legendWidth(entries) + 12)
  const all = [...values.flat(), ...means, 0]
  const yTicks = niceTicks(Math.min(...all), Math.max(...all))
  const x = linearScale([0, seeds.length], [area.left, area.right])
  const y = linearScale([yTicks.min, yTicks.max], [area.bottom, area.top])
  const slot = (area.right - area.left) / seeds.length
  const barWidth = (slot * 0.7) / figures.methods.length
  const bars = figures.methods.flatMap((method, methodIndex) => {
    const color = PALETTE[methodIndex % PALETTE.length]
    return [
      `<g class="bars method-${escapeXml(method.method)}" fill="${color}" fill-opacity="0.7">`,
      ...values[methodIndex].map((value, seedIndex) => {
        const left = x(seedIndex) + slot * 0.15 + methodIndex * barWidth
        const top = Math.min(y(value), y(0))
        return `<rect x="${coordinate(left)}" y="${coordinate(top)}" width="${coordinate(barWidth)}" height="${coordinate(Math.abs(y(value) - y(0)))}"/>`
      }),
      `</g>`,
      `<line class="mean method-${escapeXml(method.method)}" x1="${coordinate(area.left)}" y1="${coordinate(y(means[methodIndex]))}" x2="${coordinate(area.right)}" y2="${coordinate(y(means[methodIndex]))}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 3"/>`,
    ]
  })
  return svgDocument(spec.title, [
    ...axes({
      area,
      title: spec.title,
      xLabel: "training seed",
      yLabel: "pref_acc(A) − pref_acc(B) (percentage points)",
      x,
      y,
      xTicks: seeds.map((seed, index) => ({ at: index + 0.5, label: String(seed) })),
      yTicks: tickMarks(yTicks),
    }),
    `<line class="zero" x1="${coordinate(area.left)}" y1="${coordinate(y(0))}" x2="${coordinate(area.right)}" y2="${coordinate(y(0))}" stroke="#000" stroke-width="1"/>`,
    ...bars,
    ...legend(entries, area.right + 12, area.top),
  ])
}

const curvesPlot = (spec: PlotSpec, curves: ReadonlyArray<LearningCurve>, seeds: ReadonlyArray<number>): string => {
  const order = (curve: LearningCurve): number => {
    const seedIndex = seeds.indexOf(curve.seed)
    return (curve.group === "A" ? 0 : 1) * 1e6 + (seedIndex < 0 ? seeds.length + curve.seed : seedIndex)
  }
  const sorted = [...curves].sort((left, right) => order(left) - order(right))
  const seedList = [...new Set(sorted.map((curve) => curve.seed))]
  const dashOf = (seed: number): string => DASHES[seedList.indexOf(seed) % DASHES.length]
  const entries: LegendEntry[] = sorted.map((curve) => ({
    label: `group ${curve.group}, seed ${curve.seed}`,
    color: GROUP_COLORS[curve.group],
    kind: "line",
    dash: dashOf(curve.seed),
  }))
  const area = defaultArea(legendWidth(entries) + 12)
  const steps = sorted.flatMap((curve) => curve.points.map((point) => point.step))
  const percents = sorted.flatMap((curve) => curve.points.map((point) => point.prefAcc * 100))
  const xTicks = niceTicks(Math.min(0, ...steps), Math.max(1, ...steps))
  const yTicks = niceTicks(Math.min(...percents, 50), Math.max(...percents, 50))
  const x = linearScale([xTicks.min, xTicks.max], [area.left, area.right])
  const y = linearScale([yTicks.min, yTicks.max], [area.bottom, area.top])
  const lines = sorted.map((curve) => {
    const dash = dashOf(curve.seed)
    const points = curve.points.map((point) => `${coordinate(x(point.step))},${coordinate(y(point.prefAcc * 100))}`).join(" ")
    return `<polyline class="curve group-${curve.group} seed-${curve.seed}" points="${points}" fill="none" stroke="${GROUP_COLORS[curve.group]}" stroke-width="1.8"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`
  })
  return svgDocument(spec.title, [
    ...axes({
      area,
      title: spec.title,
      xLabel: "training step",
      yLabel: "pref_acc on the group's eval pairs (%)",
      x,
      y,
      xTicks: tickMarks(xTicks),
      yTicks: tickMarks(yTicks),
    }),
    ...lines,
    ...legend(entries, area.right + 12, area.top),
  ])
}

/** Renders every plot that `plotList` names, from already computed figures. */
export const renderPlotsFromData = (data: ReportData): ReadonlyArray<Plot> =>
  plotList(data).map((spec): Plot => {
    switch (spec.kind) {
      case "weights": {
        const groups = data.input.weights?.[spec.split]
        if (groups?.A.histogram === undefined || groups.B.histogram === undefined) {
          throw new Error(`internal error: no histograms for split ${spec.split}`)
        }
        const svg = histogramPlot(spec, { A: groups.A.histogram, B: groups.B.histogram }, { A: groups.A.pairs, B: groups.B.pairs })
        return { ...spec, svg }
      }
      case "diffs":
        return { ...spec, svg: diffsPlot(spec, data) }
      case "curves": {
        const curves = (data.input.curves ?? []).filter((curve) => curve.method === spec.method && curve.split === spec.split)
        return { ...spec, svg: curvesPlot(spec, curves, data.input.seeds) }
      }
    }
  })

/**
 * Renders the report's SVG plots as strings, each with its file name.
 * Throws `ReportInputError` when the input is invalid.
 */
export const renderReportPlots = (input: ReportInput, options: ReportOptions = {}): ReadonlyArray<Plot> =>
  renderPlotsFromData(computeReport(input, options))
