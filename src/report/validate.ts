/**
 * Checks a `ReportInput` and `ReportOptions` before any figure is computed.
 * Every problem throws a `ReportInputError` whose path names the bad value.
 */
import {
  DEFAULT_THRESHOLDS,
  EXPECTED_DIRECTIONS,
  ReportInputError,
  type ReportInput,
  type ReportOptions,
  type Score,
  type VerdictThresholds,
  type WeightStats,
} from "./model.ts"

const fail = (path: string, problem: string): never => {
  throw new ReportInputError({ path, problem })
}

const show = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const checkFinite = (value: unknown, path: string): number => {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    fail(path, `expected a finite number, got ${show(value)}`)
  }
  return value as number
}

const checkInteger = (value: unknown, path: string): number => {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    fail(path, `expected an integer, got ${show(value)}`)
  }
  return value as number
}

/**
 * Checks a score. Accuracies lie in [0, total] (or [0, 1] as a fraction);
 * differences lie in [-total, total] (or [-1, 1]).
 */
export const checkScore = (score: unknown, path: string, kind: "accuracy" | "difference"): Score => {
  if (!isRecord(score)) {
    return fail(path, `expected { count, total } or { fraction }, got ${show(score)}`)
  }
  const lowest = kind === "accuracy" ? 0 : -1
  if ("count" in score || "total" in score) {
    const total = checkInteger(score.total, `${path}.total`)
    if (total <= 0) fail(`${path}.total`, `expected a positive number of eval pairs, got ${total}`)
    const count = checkInteger(score.count, `${path}.count`)
    if (count < lowest * total || count > total) {
      fail(`${path}.count`, `expected a count between ${lowest * total} and ${total}, got ${count}`)
    }
    return { count, total }
  }
  if ("fraction" in score) {
    const fraction = checkFinite(score.fraction, `${path}.fraction`)
    if (fraction < lowest || fraction > 1) {
      fail(`${path}.fraction`, `expected a fraction between ${lowest} and 1, got ${fraction}`)
    }
    return { fraction }
  }
  return fail(path, `expected { count, total } or { fraction }, got ${show(score)}`)
}

/** Checks that `records` has exactly one entry per seed, and returns them in `seeds` order. */
export const orderBySeed = <T extends { readonly seed: number }>(
  records: unknown,
  seeds: ReadonlyArray<number>,
  path: string,
): ReadonlyArray<T> => {
  if (!Array.isArray(records)) return fail(path, `expected a list with one entry per seed, got ${show(records)}`)
  const bySeed = new Map<number, T>()
  records.forEach((record: unknown, index) => {
    if (!isRecord(record)) fail(`${path}[${index}]`, `expected an object with a seed, got ${show(record)}`)
    const seed = checkInteger((record as Record<string, unknown>).seed, `${path}[${index}].seed`)
    if (!seeds.includes(seed)) {
      fail(`${path}[${index}].seed`, `seed ${seed} is not one of the report's seeds ${show(seeds)}`)
    }
    if (bySeed.has(seed)) fail(`${path}[${index}].seed`, `seed ${seed} appears twice`)
    bySeed.set(seed, record as T)
  })
  return seeds.map((seed) => bySeed.get(seed) ?? fail(path, `the result for seed ${seed} is missing`))
}

const checkWeightStats = (stats: unknown, path: string): WeightStats => {
  if (!isRecord(stats)) return fail(path, `expected weight stats { wMean, wMin, ... }, got ${show(stats)}`)
  checkFinite(stats.wMean, `${path}.wMean`)
  checkFinite(stats.wMin, `${path}.wMin`)
  if (stats.wMax !== undefined) checkFinite(stats.wMax, `${path}.wMax`)
  if (stats.pairs !== undefined) checkInteger(stats.pairs, `${path}.pairs`)
  if (stats.quantiles !== undefined) {
    if (!Array.isArray(stats.quantiles)) fail(`${path}.quantiles`, `expected a list of { q, value }`)
    ;(stats.quantiles as unknown[]).forEach((entry, index) => {
      const at = `${path}.quantiles[${index}]`
      if (!isRecord(entry)) return fail(at, `expected { q, value }, got ${show(entry)}`)
      const q = checkFinite(entry.q, `${at}.q`)
      if (q < 0 || q > 1) fail(`${at}.q`, `expected a quantile level between 0 and 1, got ${q}`)
      checkFinite(entry.value, `${at}.value`)
    })
  }
  if (stats.bySource !== undefined) {
    if (!Array.isArray(stats.bySource)) fail(`${path}.bySource`, `expected a list of per-source stats`)
    ;(stats.bySource as unknown[]).forEach((entry, index) => {
      const at = `${path}.bySource[${index}]`
      if (!isRecord(entry)) return fail(at, `expected { source, pairs, wMean, wMin }, got ${show(entry)}`)
      if (typeof entry.source !== "string") fail(`${at}.source`, `expected a source model name, got ${show(entry.source)}`)
      checkInteger(entry.pairs, `${at}.pairs`)
      checkFinite(entry.wMean, `${at}.wMean`)
      checkFinite(entry.wMin, `${at}.wMin`)
    })
  }
  if (stats.histogram !== undefined) {
    const at = `${path}.histogram`
    const histogram = stats.histogram
    if (!isRecord(histogram) || !Array.isArray(histogram.edges) || !Array.isArray(histogram.counts)) {
      return fail(at, `expected { edges, counts }, got ${show(histogram)}`)
    }
    const edges = histogram.edges.map((edge: unknown, index: number) => checkFinite(edge, `${at}.edges[${index}]`))
    histogram.counts.forEach((count: unknown, index: number) => {
      if (checkInteger(count, `${at}.counts[${index}]`) < 0) fail(`${at}.counts[${index}]`, `expected a count >= 0, got ${show(count)}`)
    })
    if (histogram.counts.length === 0 || edges.length !== histogram.counts.length + 1) {
      fail(at, `expected at least one bin and one more edge than counts, got ${edges.length} edges and ${histogram.counts.length} counts`)
    }
    for (let index = 1; index < edges.length; index++) {
      if (!(edges[index] > edges[index - 1])) fail(`${at}.edges[${index}]`, `expected edges in increasing order, got ${show(edges)}`)
    }
  }
  return stats as unknown as WeightStats
}

/** Merges thresholds over the defaults and checks them. */
export const resolveThresholds = (partial: Partial<VerdictThresholds> | undefined): VerdictThresholds => {
  const thresholds = { ...DEFAULT_THRESHOLDS, ...partial }
  const match = checkFinite(thresholds.match, "options.thresholds.match")
  const lean = checkFinite(thresholds.lean, "options.thresholds.lean")
  const equalPp = checkFinite(thresholds.equalPp, "options.thresholds.equalPp")
  if (lean < 0 || lean > 1) fail("options.thresholds.lean", `expected a share between 0 and 1, got ${lean}`)
  if (match < lean || match > 1) {
    fail("options.thresholds.match", `expected a share between the LEAN threshold ${lean} and 1, got ${match}`)
  }
  if (equalPp < 0) fail("options.thresholds.equalPp", `expected percentage points >= 0, got ${equalPp}`)
  return { match, lean, equalPp }
}

/** Picks the methods of the change column: `options.change`, else dpo then wpo when both are present. */
export const resolveChange = (
  input: ReportInput,
  options: ReportOptions,
): { readonly from: string; readonly to: string } | null => {
  if (options.change === null) return null
  if (options.change === undefined) {
    return input.methods.includes("dpo") && input.methods.includes("wpo") ? { from: "dpo", to: "wpo" } : null
  }
  for (const key of ["from", "to"] as const) {
    if (!input.methods.includes(options.change[key])) {
      fail(`options.change.${key}`, `method ${show(options.change[key])} is not one of ${show(input.methods)}`)
    }
  }
  return options.change
}

const checkUniqueNames = (names: ReadonlyArray<unknown>, path: string, what: string): void => {
  if (names.length === 0) fail(path, `expected at least one ${what}`)
  const seen = new Set<unknown>()
  names.forEach((name, index) => {
    if (typeof name !== "string" || name === "") fail(`${path}[${index}]`, `expected a ${what} name, got ${show(name)}`)
    if (seen.has(name)) fail(`${path}[${index}]`, `${what} ${show(name)} appears twice`)
    seen.add(name)
  })
}

const checkKeys = (record: unknown, allowed: ReadonlyArray<string>, path: string, what: string): Record<string, unknown> => {
  if (!isRecord(record)) return fail(path, `expected an object keyed by ${what}, got ${show(record)}`)
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, `${show(key)} is not one of the report's ${what}s ${show(allowed)}`)
  }
  return record
}

/** Checks the shape and ranges of every value in `input`; throws `ReportInputError` on the first problem. */
export const validateReportInput = (input: ReportInput): void => {
  if (!isRecord(input)) fail("input", `expected an object, got ${show(input)}`)
  if (!Array.isArray(input.methods)) fail("methods", `expected a list of method names, got ${show(input.methods)}`)
  checkUniqueNames(input.methods, "methods", "method")
  if (!Array.isArray(input.splits)) fail("splits", `expected a list of { name, expected }, got ${show(input.splits)}`)
  const splitNames = input.splits.map((split) => (isRecord(split) ? split.name : undefined))
  checkUniqueNames(splitNames, "splits", "split")
  input.splits.forEach((split, index) => {
    if (!EXPECTED_DIRECTIONS.includes(split.expected)) {
      fail(`splits[${index}].expected`, `expected one of ${show(EXPECTED_DIRECTIONS)}, got ${show(split.expected)}`)
    }
  })
  if (!Array.isArray(input.seeds) || input.seeds.length === 0) fail("seeds", "expected at least one seed")
  const seenSeeds = new Set<number>()
  input.seeds.forEach((seed, index) => {
    checkInteger(seed, `seeds[${index}]`)
    if (seenSeeds.has(seed)) fail(`seeds[${index}]`, `seed ${seed} appears twice`)
    seenSeeds.add(seed)
  })
  const names = splitNames as string[]

  const results = checkKeys(input.results, input.methods, "results", "method")
  for (const method of input.methods) {
    const perSplit = checkKeys(results[method], names, `results.${method}`, "split")
    for (const split of names) {
      const path = `results.${method}.${split}`
      if (perSplit[split] === undefined) fail(path, `the results of split ${split} are missing`)
      const ordered = orderBySeed<Record<string, unknown> & { seed: number }>(perSplit[split], input.seeds, path)
      ordered.forEach((record) => {
        const at = `${path}[seed=${record.seed}]`
        if ("diff" in record) checkScore(record.diff, `${at}.diff`, "difference")
        else {
          checkScore(record.a, `${at}.a`, "accuracy")
          checkScore(record.b, `${at}.b`, "accuracy")
        }
      })
    }
  }

  if (input.baseline !== undefined) {
    const baseline = checkKeys(input.baseline, input.methods, "baseline", "method")
    for (const [method, records] of Object.entries(baseline)) {
      const ordered = orderBySeed<Record<string, unknown> & { seed: number }>(records, input.seeds, `baseline.${method}`)
      ordered.forEach((record) => checkScore(record.accuracy, `baseline.${method}[seed=${record.seed}].accuracy`, "accuracy"))
    }
  }

  if (input.weights !== undefined) {
    const weights = checkKeys(input.weights, names, "weights", "split")
    for (const [split, groups] of Object.entries(weights)) {
      if (!isRecord(groups)) fail(`weights.${split}`, `expected { A, B }, got ${show(groups)}`)
      const both = groups as Record<string, unknown>
      checkWeightStats(both.A, `weights.${split}.A`)
      checkWeightStats(both.B, `weights.${split}.B`)
    }
  }

  if (input.curves !== undefined) {
    if (!Array.isArray(input.curves)) fail("curves", "expected a list of learning curves")
    input.curves.forEach((curve, index) => {
      const at = `curves[${index}]`
      if (!input.methods.includes(curve.method)) fail(`${at}.method`, `method ${show(curve.method)} is not one of ${show(input.methods)}`)
      if (!names.includes(curve.split)) fail(`${at}.split`, `split ${show(curve.split)} is not one of ${show(names)}`)
      if (curve.group !== "A" && curve.group !== "B") fail(`${at}.group`, `expected "A" or "B", got ${show(curve.group)}`)
      checkInteger(curve.seed, `${at}.seed`)
      if (!Array.isArray(curve.points)) fail(`${at}.points`, "expected a list of { step, prefAcc }")
      const points: ReadonlyArray<{ step: unknown; prefAcc: unknown }> = curve.points
      points.forEach((point, pointIndex) => {
        const pointAt = `${at}.points[${pointIndex}]`
        const step = checkInteger(point.step, `${pointAt}.step`)
        const prefAcc = checkFinite(point.prefAcc, `${pointAt}.prefAcc`)
        if (prefAcc < 0 || prefAcc > 1) fail(`${pointAt}.prefAcc`, `expected a fraction between 0 and 1, got ${prefAcc}`)
        const previous = pointIndex > 0 ? (points[pointIndex - 1].step as number) : null
        if (previous !== null && step <= previous) {
          fail(`${pointAt}.step`, `expected steps in increasing order, got ${step} after ${previous}`)
        }
      })
    })
  }
}
