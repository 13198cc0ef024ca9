/**
 * The typed input of the comparison report: what `compare` gathers from the
 * eval, baseline-eval and weight-stats outputs, and the verdict thresholds.
 */
import { Data } from "effect"

/** Expected sign of pref_acc(A) - pref_acc(B) for a split; `explor.` splits get no verdict. */
export type ExpectedDirection = "A>B" | "A<B" | "A=B" | "explor."

export const EXPECTED_DIRECTIONS: ReadonlyArray<ExpectedDirection> = ["A>B", "A<B", "A=B", "explor."]

export type Group = "A" | "B"

/**
 * A preference accuracy or an accuracy difference: a count of eval pairs out
 * of `total` (exact), or a fraction. Counts are preferred, because the report
 * rounds exact values and a fraction is only as exact as its double.
 */
export type Score =
  | { readonly count: number; readonly total: number }
  | { readonly fraction: number }

/** One seed's eval result for a split and method: group accuracies, or only their difference A - B. */
export type SeedResult =
  | { readonly seed: number; readonly a: Score; readonly b: Score }
  | { readonly seed: number; readonly diff: Score }

export interface SplitDefinition {
  readonly name: string
  readonly expected: ExpectedDirection
}

/** Pref_acc of one baseline run (trained on pooled pairs, evaluated on the pooled eval set). */
export interface BaselineResult {
  readonly seed: number
  readonly accuracy: Score
}

/** Summary of the WPO weights of one source model's training pairs. */
export interface SourceWeightStats {
  readonly source: string
  readonly pairs: number
  readonly wMean: number
  readonly wMin: number
}

/** Histogram of weights: `counts[i]` pairs fall in `[edges[i], edges[i + 1])`. */
export interface WeightHistogram {
  readonly edges: ReadonlyArray<number>
  readonly counts: ReadonlyArray<number>
}

/** WPO weights of one group's training pairs under the reference policy. */
export interface WeightStats {
  readonly wMean: number
  readonly wMin: number
  /** Number of training pairs scored. */
  readonly pairs?: number
  readonly wMax?: number
  /** Quantile level (0..1) and weight, in increasing level. */
  readonly quantiles?: ReadonlyArray<{ readonly q: number; readonly value: number }>
  readonly bySource?: ReadonlyArray<SourceWeightStats>
  readonly histogram?: WeightHistogram
}

export interface LearningCurvePoint {
  readonly step: number
  /** Pref_acc as a fraction in [0, 1]. */
  readonly prefAcc: number
}

/** Pref_acc recorded every few steps while one policy trained. */
export interface LearningCurve {
  readonly method: string
  readonly split: string
  readonly group: Group
  readonly seed: number
  readonly points: ReadonlyArray<LearningCurvePoint>
}

export interface ReportInput {
  /** Report heading; defaults to "Preference-optimization comparison". */
  readonly title?: string
  /** Method ids in column order, e.g. `["wpo", "dpo"]`. */
  readonly methods: ReadonlyArray<string>
  readonly seeds: ReadonlyArray<number>
  readonly splits: ReadonlyArray<SplitDefinition>
  /** Per method, per split name: one result for each seed. */
  readonly results: Readonly<Record<string, Readonly<Record<string, ReadonlyArray<SeedResult>>>>>
  /** Per method: one baseline result for each seed. Methods without an entry get no baseline row. */
  readonly baseline?: Readonly<Record<string, ReadonlyArray<BaselineResult>>>
  /** Per split name: weight stats of groups A and B. */
  readonly weights?: Readonly<Record<string, { readonly A: WeightStats; readonly B: WeightStats }>>
  readonly curves?: ReadonlyArray<LearningCurve>
}

/** Verdict thresholds; the study's values are the defaults. */
export interface VerdictThresholds {
  /** Minimum share of seeds in the expected direction for MATCH. */
  readonly match: number
  /** Minimum share of seeds in the expected direction for LEAN. */
  readonly lean: number
  /** Largest |mean diff| in percentage points that still counts as A=B (OK). */
  readonly equalPp: number
}

export const DEFAULT_THRESHOLDS: VerdictThresholds = { match: 0.8, lean: 0.5, equalPp: 2.0 }

export interface ReportOptions {
  readonly thresholds?: Partial<VerdictThresholds>
  /**
   * Methods compared in the change column, verdict of `from` then of `to`.
   * Defaults to dpo then wpo when both are present; `null` drops the column.
   */
  readonly change?: { readonly from: string; readonly to: string } | null
  /** Folder, relative to report.md, holding the SVG plots; when set, report.md links them. */
  readonly plotDir?: string
}

/** Invalid report input; `path` locates the value, e.g. `results.wpo.S1_age[2].a.count`. */
export class ReportInputError extends Data.TaggedError("ReportInputError")<{
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `invalid report input at ${this.path}: ${this.problem}`
  }
}
