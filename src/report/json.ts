/**
 * Builds `report.json`: every figure of the report's tables as a number (and
 * as the text report.md prints), the verdicts and the thresholds used.
 */
import {
  computeReport,
  formatObserved,
  formatPercent,
  formatSignedPercent,
  formatStd,
  formatWeight,
  type ReportData,
} from "./compute.ts"
import * as Q from "./exact.ts"
import type { ReportInput, ReportOptions, WeightStats } from "./model.ts"

/** Version of the report.json layout; raise it when a field changes meaning. */
export const REPORT_JSON_FORMAT = "pipe-report/1"

/** A figure as a number (percentage points for percentages) and as report.md prints it. */
export interface JsonFigure {
  readonly value: number
  readonly text: string
}

const percentFigure = (value: Q.Rational): JsonFigure => ({ value: Q.toNumber(value), text: formatPercent(value) })

const signedFigure = (value: Q.Rational): JsonFigure => ({ value: Q.toNumber(value), text: formatSignedPercent(value) })

const stdFigure = (variance: Q.Rational): JsonFigure => ({ value: Q.sqrtToNumber(variance), text: formatStd(variance) })

const weightFigure = (value: number): JsonFigure => ({ value, text: formatWeight(value) })

const weightJson = (stats: WeightStats) => ({
  pairs: stats.pairs ?? null,
  w_mean: weightFigure(stats.wMean),
  w_min: weightFigure(stats.wMin),
  w_max: stats.wMax === undefined ? null : weightFigure(stats.wMax),
  quantiles: (stats.quantiles ?? []).map((quantile) => ({ q: quantile.q, value: weightFigure(quantile.value) })),
  by_source: (stats.bySource ?? []).map((source) => ({
    source: source.source,
    pairs: source.pairs,
    w_mean: weightFigure(source.wMean),
    w_min: weightFigure(source.wMin),
  })),
  histogram: stats.histogram === undefined ? null : { edges: stats.histogram.edges, counts: stats.histogram.counts },
})

/** Builds the report.json object from already computed figures. */
export const buildReportJsonFromData = (data: ReportData) => {
  const { input } = data
  return {
    format: REPORT_JSON_FORMAT,
    title: input.title ?? null,
    methods: input.methods,
    seeds: input.seeds,
    units: "Percentages are pref_acc in percentage points; diffs are pref_acc(A) - pref_acc(B); std is the population std (ddof 0) over seeds.",
    thresholds: {
      match: data.thresholds.match,
      lean: data.thresholds.lean,
      equal_pp: data.thresholds.equalPp,
    },
    change_methods: data.changeMethods,
    weights: input.splits.flatMap((split) => {
      const groups = input.weights?.[split.name]
      return groups === undefined ? [] : [{ split: split.name, A: weightJson(groups.A), B: weightJson(groups.B) }]
    }),
    baseline: data.baseline.map((figures) => ({
      method: figures.method,
      mean: percentFigure(figures.mean),
      std: stdFigure(figures.variance),
      per_seed: figures.perSeed.map((entry) => ({ seed: entry.seed, pref_acc: percentFigure(entry.accuracy) })),
    })),
    splits: data.splits.map((figures) => ({
      split: figures.split.name,
      expected: figures.split.expected,
      change: figures.change,
      methods: figures.methods.map((method) => ({
        method: method.method,
        mean_diff: signedFigure(method.mean),
        std: stdFigure(method.variance),
        observed: method.observed,
        observed_text: formatObserved(method.observed),
        agreeing_seeds: method.agreeing,
        seeds: method.perSeed.length,
        x_of_n: `${method.agreeing}/${method.perSeed.length}`,
        verdict: method.verdict,
        per_seed: method.perSeed.map((entry) => ({
          seed: entry.seed,
          diff: signedFigure(entry.diff),
          pref_acc_a: entry.a === undefined ? null : percentFigure(entry.a),
          pref_acc_b: entry.b === undefined ? null : percentFigure(entry.b),
        })),
      })),
    })),
  }
}

export type ReportJson = ReturnType<typeof buildReportJsonFromData>

/**
 * Builds the report.json object (serialise it with `JSON.stringify`). Throws
 * `ReportInputError` when the input or the thresholds are invalid.
 */
export const buildReportJson = (input: ReportInput, options: ReportOptions = {}): ReportJson =>
  buildReportJsonFromData(computeReport(input, options))
