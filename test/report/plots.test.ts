import { describe, expect, it } from "vitest"
import {
  buildReportJson,
  renderReportMarkdown,
  renderReportPlots,
  type LearningCurve,
  type ReportInput,
  type WeightStats,
} from "../../src/report/index.ts"
import { readStudyFixture, studyInput } from "./study-fixture.ts"

const study = readStudyFixture()

/** Deterministic weight stats whose histogram shape depends on `shift`. */
const weightStats = (wMean: number, wMin: number, shift: number): WeightStats => {
  const edges = Array.from({ length: 11 }, (_, index) => index * 0.05)
  const counts = Array.from({ length: 10 }, (_, index) => Math.max(0, 12 - Math.abs(index - 4 - shift) * 3))
  return {
    wMean,
    wMin,
    wMax: 0.49,
    pairs: counts.reduce((sum, count) => sum + count, 0),
    quantiles: [
      { q: 0.1, value: wMin + 0.01 },
      { q: 0.5, value: wMean },
      { q: 0.9, value: wMean + 0.1 },
    ],
    bySource: [
      { source: "gpt-4", pairs: 20, wMean: wMean + 0.02, wMin },
      { source: "llama-2-7b <chat>", pairs: 10, wMean: wMean - 0.03, wMin: wMin + 0.01 },
    ],
    histogram: { edges, counts },
  }
}

const curve = (method: string, split: string, group: "A" | "B", seed: number): LearningCurve => ({
  method,
  split,
  group,
  seed,
  points: [0, 50, 100, 150, 200].map((step, index) => ({
    step,
    prefAcc: 0.5 + (group === "A" ? 0.03 : 0.01) * index + (seed % 7) * 0.002,
  })),
})

const richInput = (): ReportInput => {
  const input = studyInput(study)
  return {
    ...input,
    weights: Object.fromEntries(
      Object.entries(study.weights).map(([split, stats], index) => [
        split,
        { A: weightStats(stats.w_mean[0], stats.w_min[0], index % 3), B: weightStats(stats.w_mean[1], stats.w_min[1], -1) },
      ]),
    ),
    curves: input.methods.flatMap((method) =>
      ["S1_age", "S3_safety"].flatMap((split) =>
        (["A", "B"] as const).flatMap((group) => study.seeds.map((seed) => curve(method, split, group, seed))),
      ),
    ),
  }
}

/** Checks that `svg` is well-formed XML and returns its elements in document order. */
const parseSvg = (svg: string): Array<{ name: string; attributes: Record<string, string>; text: string }> => {
  const body = svg.replace(/^<\?xml[^>]*\?>\n/, "")
  const elements: Array<{ name: string; attributes: Record<string, string>; text: string }> = []
  const stack: Array<{ name: string; attributes: Record<string, string>; text: string }> = []
  let roots = 0
  for (const token of body.match(/<[^>]*>|[^<]+/g) ?? []) {
    if (!token.startsWith("<")) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(token)) throw new Error(`unescaped & in text: ${token}`)
      if (stack.length === 0 && token.trim() !== "") throw new Error(`text outside the root element: ${token}`)
      if (stack.length > 0) stack[stack.length - 1].text += token
      continue
    }
    const closing = /^<\/([A-Za-z][\w-]*)>$/.exec(token)
    if (closing !== null) {
      const open = stack.pop()
      if (open?.name !== closing[1]) throw new Error(`</${closing[1]}> closes <${open?.name}>`)
      continue
    }
    const opening = /^<([A-Za-z][\w-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<&]*(?:&(?:amp|lt|gt|quot);[^"<&]*)*")*)\s*(\/?)>$/.exec(token)
    if (opening === null) throw new Error(`malformed tag: ${token}`)
    const attributes: Record<string, string> = {}
    for (const match of opening[2].matchAll(/([A-Za-z_:][\w:.-]*)="([^"]*)"/g)) {
      if (match[1] in attributes) throw new Error(`attribute ${match[1]} repeated in ${token}`)
      attributes[match[1]] = match[2]
    }
    const element = { name: opening[1], attributes, text: "" }
    elements.push(element)
    if (stack.length === 0) roots++
    if (opening[3] !== "/") stack.push(element)
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1].name}>`)
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`)
  return elements
}

const texts = (elements: ReturnType<typeof parseSvg>): string[] =>
  elements.filter((element) => element.name === "text" || element.name === "title").map((element) => element.text)

const plots = renderReportPlots(richInput())

describe("report plots", () => {
  it("one plot of each kind per split", () => {
    const names = plots.map((plot) => plot.fileName)
    expect(names.filter((name) => name.startsWith("weights-"))).toHaveLength(6)
    expect(names.filter((name) => name.startsWith("diffs-"))).toHaveLength(6)
    expect(names.filter((name) => name.startsWith("curves-")).sort()).toEqual([
      "curves-dpo-S1_age.svg",
      "curves-dpo-S3_safety.svg",
      "curves-wpo-S1_age.svg",
      "curves-wpo-S3_safety.svg",
    ])
    expect(new Set(names).size).toBe(names.length)
  })

  it("every plot is well-formed SVG with axes and a legend", () => {
    for (const plot of plots) {
      expect(plot.svg.split("\n")[1], plot.fileName).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="720" height="420"/)
      const elements = parseSvg(plot.svg)
      expect(elements.filter((element) => element.attributes.class?.startsWith("axis x-axis")), plot.fileName).toHaveLength(1)
      expect(elements.filter((element) => element.attributes.class?.startsWith("axis y-axis")), plot.fileName).toHaveLength(1)
      expect(elements.filter((element) => element.attributes.class === "axis-label"), plot.fileName).toHaveLength(2)
      expect(elements.filter((element) => element.attributes.class === "legend"), plot.fileName).toHaveLength(1)
      expect(texts(elements), plot.fileName).toContain(plot.title)
      for (const element of elements) {
        for (const key of ["x", "x1", "x2", "y", "y1", "y2", "width", "height"]) {
          const value = element.attributes[key]
          if (value === undefined) continue
          expect(Number.isFinite(Number(value)), `${plot.fileName} ${key}=${value}`).toBe(true)
          const limit = key.startsWith("x") || key === "width" ? 720 : 420
          expect(Number(value), `${plot.fileName} ${key}=${value}`).toBeGreaterThanOrEqual(0)
          expect(Number(value), `${plot.fileName} ${key}=${value}`).toBeLessThanOrEqual(limit)
        }
      }
    }
  })

  it("diff bars follow the per-seed diffs", () => {
    const plot = plots.find((candidate) => candidate.fileName === "diffs-S3_safety.svg")
    if (plot === undefined) throw new Error("diffs-S3_safety.svg missing")
    const elements = parseSvg(plot.svg)
    const zero = elements.find((element) => element.attributes.class === "zero")
    const zeroY = Number(zero?.attributes.y1)
    const barsOf = (method: string) => {
      const start = elements.findIndex((element) => element.attributes.class === `bars method-${method}`)
      return elements.slice(start + 1, start + 1 + study.seeds.length)
    }
    // WPO diffs on S3_safety are -2, -4, -3 counts: every bar hangs below zero, the second deepest.
    const wpo = barsOf("wpo")
    expect(wpo.every((bar) => bar.name === "rect" && Number(bar.attributes.y) === zeroY)).toBe(true)
    const heights = wpo.map((bar) => Number(bar.attributes.height))
    expect(heights[1]).toBeGreaterThan(heights[2])
    expect(heights[2]).toBeGreaterThan(heights[0])
    expect(heights[1] / heights[0]).toBeCloseTo(2, 1)
    // DPO diffs are +4, -6, +2 counts.
    const dpo = barsOf("dpo")
    expect(Number(dpo[0].attributes.y) + Number(dpo[0].attributes.height)).toBeCloseTo(zeroY, 1)
    expect(Number(dpo[1].attributes.y)).toBe(zeroY)
    expect(texts(elements)).toEqual(expect.arrayContaining(["WPO per seed", "DPO mean", "42", "456", "789", "training seed"]))
  })

  it("histograms and curves carry their data", () => {
    const histogram = parseSvg(plots.find((plot) => plot.fileName === "weights-S1_age.svg")?.svg ?? "")
    const groupA = histogram.findIndex((element) => element.attributes.class === "histogram group-A")
    expect(histogram.slice(groupA + 1, groupA + 11).every((element) => element.name === "rect")).toBe(true)
    expect(texts(histogram)).toEqual(expect.arrayContaining(["group A (48 pairs)", "group B (48 pairs)", "WPO weight of a training pair"]))
    const curves = parseSvg(plots.find((plot) => plot.fileName === "curves-wpo-S1_age.svg")?.svg ?? "")
    const lines = curves.filter((element) => element.name === "polyline")
    expect(lines).toHaveLength(6)
    expect(lines.every((line) => line.attributes.points.split(" ").length === 5)).toBe(true)
    expect(texts(curves)).toEqual(expect.arrayContaining(["group A, seed 42", "group B, seed 789", "training step"]))
  })

  it("escapes names in plots and tables", () => {
    const input = richInput()
    const markdown = renderReportMarkdown(input, { plotDir: "plots/" })
    expect(markdown).toContain("| S1_age | A | gpt-4 | 20 |")
    expect(markdown).toContain("llama-2-7b <chat>")
    expect(markdown).toContain("| Split | Group | Pairs | w_min | q0.1 | q0.5 | q0.9 | w_max |")
    expect(markdown).toContain("](plots/weights-S1_age.svg)")
    expect(markdown).toContain("](plots/curves-wpo-S3_safety.svg)")
    const renamed = renderReportPlots({
      ...input,
      splits: input.splits.map((split, index) => (index === 0 ? { ...split, name: "age <30 & >60" } : split)),
      results: Object.fromEntries(
        Object.entries(input.results).map(([method, perSplit]) => {
          const { S1_age: moved, ...rest } = perSplit
          return [method, { ...rest, "age <30 & >60": moved }]
        }),
      ),
      weights: undefined,
      curves: undefined,
    })
    const diffs = renamed.find((plot) => plot.split === "age <30 & >60")
    expect(diffs?.fileName).toBe("diffs-age__30____60.svg")
    expect(() => parseSvg(diffs?.svg ?? "")).not.toThrow()
    expect(diffs?.svg).toContain("age &lt;30 &amp; &gt;60")
  })

  it("same input gives identical bytes", () => {
    const again = renderReportPlots(richInput())
    expect(again.map((plot) => plot.svg)).toEqual(plots.map((plot) => plot.svg))
    expect(JSON.stringify(buildReportJson(richInput()))).toBe(JSON.stringify(buildReportJson(richInput())))
  })
})
