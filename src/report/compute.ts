/**
 * Computes every figure and verdict of the report in exact arithmetic. The
 * Markdown, JSON and SVG renderers all read the `ReportData` built here.
 */
import * as Q from "./exact.ts"
import type {
  ExpectedDirection,
  ReportInput,
  ReportOptions,
  Score,
  SeedResult,
  SplitDefinition,
  VerdictThresholds,
} from "./model.ts"
import { orderBySeed, resolveChange, resolveThresholds, validateReportInput } from "./validate.ts"

export type Verdict = "MATCH" | "LEAN" | "MISMATCH" | "OK" | "DIFF"

/** Sign of the mean diff: A>B, A<B, or A=B when the mean is exactly 0. */
export type ObservedDirection = "A>B" | "A<B" | "A=B"

/** A value in percentage points, exact. */
export type Percent = Q.Rational

export interface SeedDiff {
  readonly seed: number
  readonly diff: Percent
  readonly a?: Percent
  readonly b?: Percent
}

export interface MethodSplitFigures {
  readonly method: string
  readonly perSeed: ReadonlyArray<SeedDiff>
  readonly mean: Percent
  /** Population variance (ddof 0) in squared percentage points; the std is its square root. */
  readonly variance: Q.Rational
  readonly observed: ObservedDirection
  /** Seeds whose diff has the observed direction's sign (exactly 0 for A=B). */
  readonly agreeing: number
  /** Verdict, or null for an exploratory split. */
  readonly verdict: Verdict | null
}

export interface SplitFigures {
  readonly split: SplitDefinition
  /** In `input.methods` order. */
  readonly methods: ReadonlyArray<MethodSplitFigures>
  /** Change column text, or null when the report has no change column. */
  readonly change: string | null
}

export interface BaselineFigures {
  readonly method: string
  readonly perSeed: ReadonlyArray<{ readonly seed: number; readonly accuracy: Percent }>
  readonly mean: Percent
  readonly variance: Q.Rational
}

export interface ReportData {
  readonly input: ReportInput
  readonly thresholds: VerdictThresholds
  readonly changeMethods: { readonly from: string; readonly to: string } | null
  readonly baseline: ReadonlyArray<BaselineFigures>
  readonly splits: ReadonlyArray<SplitFigures>
}

const HUNDRED = Q.fromInteger(100)

/** Converts a score to exact percentage points. */
export const scoreToPercent = (score: Score): Percent =>
  "count" in score
    ? Q.rational(BigInt(score.count) * 100n, BigInt(score.total))
    : Q.mul(Q.fromNumber(score.fraction), HUNDRED)

const seedDiff = (result: SeedResult): SeedDiff => {
  if ("diff" in result) return { seed: result.seed, diff: scoreToPercent(result.diff) }
  const a = scoreToPercent(result.a)
  const b = scoreToPercent(result.b)
  return { seed: result.seed, diff: Q.sub(a, b), a, b }
}

const OBSERVED_BY_SIGN: Record<-1 | 0 | 1, ObservedDirection> = { [-1]: "A<B", 0: "A=B", 1: "A>B" }

const observedDirection = (mean: Percent): ObservedDirection => OBSERVED_BY_SIGN[Q.sign(mean)]

const EXPECTED_SIGN: Record<ExpectedDirection, 1 | -1 | null> = { "A>B": 1, "A<B": -1, "A=B": null, "explor.": null }

/**
 * Returns whether `count / total >= threshold`, compared exactly with the
 * threshold read as the decimal it prints as (4 of 5 seeds meets 0.8).
 */
const shareAtLeast = (count: number, total: number, threshold: number): boolean =>
  Q.compare(Q.rational(BigInt(count), BigInt(total)), Q.fromShortestDecimal(threshold)) >= 0

/**
 * Applies the verdict rule. For an expected A>B or A<B: MATCH when the mean is
 * strictly in the expected direction and the share of seeds whose diff is
 * strictly in that direction reaches `thresholds.match`; LEAN when the share
 * reaches `thresholds.lean`; otherwise MISMATCH. For A=B: OK when
 * |mean| <= `thresholds.equalPp`, else DIFF. Exploratory splits get null.
 */
export const verdictFor = (
  expected: ExpectedDirection,
  diffs: ReadonlyArray<Percent>,
  thresholds: VerdictThresholds,
): Verdict | null => {
  if (expected === "explor.") return null
  const mean = Q.mean(diffs)
  if (expected === "A=B") {
    return Q.compare(Q.absolute(mean), Q.fromShortestDecimal(thresholds.equalPp)) <= 0 ? "OK" : "DIFF"
  }
  const direction = EXPECTED_SIGN[expected]
  if (Q.sign(mean) !== direction) return "MISMATCH"
  const agreeing = diffs.filter((diff) => Q.sign(diff) === direction).length
  if (shareAtLeast(agreeing, diffs.length, thresholds.match)) return "MATCH"
  if (shareAtLeast(agreeing, diffs.length, thresholds.lean)) return "LEAN"
  return "MISMATCH"
}

/**
 * Applies the change rule to the verdicts of the `from` method (DPO) and the
 * `to` method (WPO): "—" for an exploratory split or when both are OK, FIXED
 * for MISMATCH→MATCH, BROKEN for MATCH→MISMATCH, otherwise "FROM→TO".
 */
export const changeFor = (expected: ExpectedDirection, from: Verdict | null, to: Verdict | null): string => {
  if (expected === "explor." || from === null || to === null) return "—"
  if (from === "OK" && to === "OK") return "—"
  if (from === "MISMATCH" && to === "MATCH") return "FIXED"
  if (from === "MATCH" && to === "MISMATCH") return "BROKEN"
  return `${from}→${to}`
}

const methodSplitFigures = (
  method: string,
  split: SplitDefinition,
  results: ReadonlyArray<SeedResult>,
  thresholds: VerdictThresholds,
): MethodSplitFigures => {
  const perSeed = results.map(seedDiff)
  const diffs = perSeed.map((entry) => entry.diff)
  const mean = Q.mean(diffs)
  const observed = observedDirection(mean)
  const observedSign = Q.sign(mean)
  return {
    method,
    perSeed,
    mean,
    variance: Q.populationVariance(diffs),
    observed,
    agreeing: diffs.filter((diff) => Q.sign(diff) === observedSign).length,
    verdict: verdictFor(split.expected, diffs, thresholds),
  }
}

/** Validates the input and computes every figure and verdict of the report. */
export const computeReport = (input: ReportInput, options: ReportOptions = {}): ReportData => {
  validateReportInput(input)
  const thresholds = resolveThresholds(options.thresholds)
  const changeMethods = resolveChange(input, options)

  const splits = input.splits.map((split): SplitFigures => {
    const methods = input.methods.map((method) => {
      const path = `results.${method}.${split.name}`
      const ordered = orderBySeed<SeedResult>(input.results[method][split.name], input.seeds, path)
      return methodSplitFigures(method, split, ordered, thresholds)
    })
    const verdictOf = (method: string): Verdict | null =>
      methods.find((figures) => figures.method === method)?.verdict ?? null
    const change =
      changeMethods === null
        ? null
        : changeFor(split.expected, verdictOf(changeMethods.from), verdictOf(changeMethods.to))
    return { split, methods, change }
  })

  const baseline = input.methods.flatMap((method): BaselineFigures[] => {
    const records = input.baseline?.[method]
    if (records === undefined) return []
    const ordered = orderBySeed<{ seed: number; accuracy: Score }>(records, input.seeds, `baseline.${method}`)
    const perSeed = ordered.map((record) => ({ seed: record.seed, accuracy: scoreToPercent(record.accuracy) }))
    const values = perSeed.map((entry) => entry.accuracy)
    return [{ method, perSeed, mean: Q.mean(values), variance: Q.populationVariance(values) }]
  })

  return { input, thresholds, changeMethods, baseline, splits }
}

/** Formats a percentage with a sign (diffs and their means): "+3.12%", "-1.56%", "+0.00%". */
export const formatSignedPercent = (value: Percent): string => {
  const text = Q.formatFixed(value, 2)
  return `${text.startsWith("-") ? "" : "+"}${text}%`
}

/** Formats an unsigned percentage (accuracies): "46.09%". */
export const formatPercent = (value: Percent): string => `${Q.formatFixed(value, 2)}%`

/** Formats the square root of a variance as a percentage (std): "2.58%". */
export const formatStd = (variance: Q.Rational): string => `${Q.formatSqrtFixed(variance, 2)}%`

/** Formats a weight with 4 decimals, half to even: "0.2290". */
export const formatWeight = (value: number): string => Q.formatNumberFixed(value, 4)

/** Observed direction as the split table prints it: "A > B", "A < B", "A = B". */
export const formatObserved = (direction: ObservedDirection): string => direction.replace(/([<>=])/, " $1 ")

export const formatVerdict = (verdict: Verdict | null): string => verdict ?? "—"

/** Method id as a column label: "wpo" → "WPO". */
export const methodLabel = (method: string): string => method.toUpperCase()
