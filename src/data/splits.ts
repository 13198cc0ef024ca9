/**
 * Declarative attribute splits: which users (or pairs) form group A and group B.
 * A definition is plain data, as written under `splits:` in `pipeline.yaml`:
 *
 * ```yaml
 * S2_personalisation:
 *   attribute: stated_prefs.personalisation   # dotted path into the pair attributes
 *   A: { gt: median }                          # value > median
 *   B: { lte: median }                         # value <= median, so ties go to B
 *   expected: A>B
 * ```
 */
import { dataError } from "./errors.js"
import type { PreferencePair } from "./types.js"

export type ExpectedDirection = "A>B" | "A<B" | "A=B" | "explor."
export const expectedDirections: ReadonlyArray<ExpectedDirection> = ["A>B", "A<B", "A=B", "explor."]

export type Scalar = string | number | boolean
/** A threshold: a number, or `median` of the values over the units being split. */
export type Threshold = number | "median"

/**
 * Membership rule of one group: a value set (`in`), or bounds (`gt`, `gte`,
 * `lt`, `lte`, combinable into a range). Values equal to a `median` bound go
 * to the group whose rule includes equality (`gte`/`lte`); when neither does, they are excluded.
 */
export interface GroupRule {
  readonly in?: ReadonlyArray<Scalar>
  readonly gt?: Threshold
  readonly gte?: Threshold
  readonly lt?: Threshold
  readonly lte?: Threshold
}

export type StatisticField = "score_gap" | "turn" | "prompt_length" | "chosen_length" | "rejected_length"
export const statisticFields: ReadonlyArray<StatisticField> = ["score_gap", "turn", "prompt_length", "chosen_length", "rejected_length"]
export type StatisticKind = "share_above" | "mean" | "median" | "count"
export const statisticKinds: ReadonlyArray<StatisticKind> = ["share_above", "mean", "median", "count"]

/** A per-user value computed from the user's pairs, e.g. the share of pairs with score_gap > 14. */
export interface Statistic {
  readonly of: StatisticField
  readonly kind: StatisticKind
  /** Required by `share_above`: the share of pairs whose field is strictly greater. */
  readonly threshold?: number
}

export interface SplitDefinition {
  readonly name: string
  readonly expected: ExpectedDirection
  readonly description?: string
  readonly labels: { readonly A: string; readonly B: string }
  /** Whether groups are formed of users (default; a user's pairs stay together) or of single pairs. */
  readonly unit: "user" | "pair"
  /** Exactly one of `attribute` and `statistic` is set. */
  readonly attribute?: string
  readonly statistic?: Statistic
  readonly A: GroupRule
  readonly B: GroupRule
  /** Handling of units that match neither rule: `drop` (default, counted) or `error`. */
  readonly others: "drop" | "error"
}

const SPLIT_KEYS = ["expected", "description", "labels", "unit", "attribute", "statistic", "A", "B", "others"]
const RULE_KEYS = ["in", "gt", "gte", "lt", "lte"]

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const checkKeys = (value: Record<string, unknown>, allowed: ReadonlyArray<string>, split: string, field: string): void => {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw dataError({ split, field: field === "" ? key : `${field}.${key}` }, "unknown key", `Allowed keys: ${allowed.join(", ")}`)
    }
  }
}

const parseThreshold = (value: unknown, split: string, field: string): Threshold => {
  if (value === "median") return value
  if (typeof value === "number" && Number.isFinite(value)) return value
  throw dataError({ split, field }, `expected a number or "median", found ${JSON.stringify(value)}`, "Fix the bound")
}

const parseRule = (raw: unknown, split: string, group: "A" | "B"): GroupRule => {
  if (!isRecord(raw)) {
    throw dataError(
      { split, field: group },
      raw === undefined ? "missing group rule" : `expected a mapping, found ${JSON.stringify(raw)}`,
      `Write e.g. ${group}: { in: [value, ...] } or ${group}: { gt: median }`,
    )
  }
  checkKeys(raw, RULE_KEYS, split, group)
  const rule: { -readonly [K in keyof GroupRule]: GroupRule[K] } = {}
  if (raw.in !== undefined) {
    if (!Array.isArray(raw.in) || raw.in.length === 0) {
      throw dataError({ split, field: `${group}.in` }, "expected a non-empty list of values", "List the attribute values of this group")
    }
    for (const item of raw.in) {
      if (typeof item !== "string" && typeof item !== "number" && typeof item !== "boolean") {
        throw dataError({ split, field: `${group}.in` }, `values must be strings, numbers or booleans, found ${JSON.stringify(item)}`, "Fix the value")
      }
    }
    rule.in = raw.in as Scalar[]
  }
  for (const bound of ["gt", "gte", "lt", "lte"] as const) {
    if (raw[bound] !== undefined) rule[bound] = parseThreshold(raw[bound], split, `${group}.${bound}`)
  }
  const hasBounds = rule.gt !== undefined || rule.gte !== undefined || rule.lt !== undefined || rule.lte !== undefined
  if (rule.in === undefined && !hasBounds) {
    throw dataError({ split, field: group }, "the rule selects nothing", "Give `in` or a bound (gt, gte, lt, lte)")
  }
  if (rule.in !== undefined && hasBounds) {
    throw dataError({ split, field: group }, "`in` cannot be combined with bounds", "Use either a value set or bounds")
  }
  if (rule.gt !== undefined && rule.gte !== undefined) {
    throw dataError({ split, field: group }, "both gt and gte are given", "Keep one lower bound")
  }
  if (rule.lt !== undefined && rule.lte !== undefined) {
    throw dataError({ split, field: group }, "both lt and lte are given", "Keep one upper bound")
  }
  return rule
}

const parseStatistic = (raw: unknown, split: string): Statistic => {
  if (!isRecord(raw)) {
    throw dataError({ split, field: "statistic" }, `expected a mapping, found ${JSON.stringify(raw)}`, "Write e.g. statistic: { of: score_gap, kind: share_above, threshold: 14 }")
  }
  checkKeys(raw, ["of", "kind", "threshold"], split, "statistic")
  if (!statisticFields.includes(raw.of as StatisticField)) {
    throw dataError({ split, field: "statistic.of" }, `unknown field ${JSON.stringify(raw.of)}`, `Use one of ${statisticFields.join(", ")}`)
  }
  if (!statisticKinds.includes(raw.kind as StatisticKind)) {
    throw dataError({ split, field: "statistic.kind" }, `unknown kind ${JSON.stringify(raw.kind)}`, `Use one of ${statisticKinds.join(", ")}`)
  }
  if (raw.kind === "share_above" && (typeof raw.threshold !== "number" || !Number.isFinite(raw.threshold))) {
    throw dataError({ split, field: "statistic.threshold" }, "share_above needs a numeric threshold", "Add e.g. threshold: 14")
  }
  return {
    of: raw.of as StatisticField,
    kind: raw.kind as StatisticKind,
    ...(typeof raw.threshold === "number" ? { threshold: raw.threshold } : {}),
  }
}

/** Validates one split definition; errors name the split and the offending key. */
export const parseSplit = (name: string, raw: unknown): SplitDefinition => {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw dataError({ split: name }, "split names may hold only letters, digits, _, . and -", "Rename the split")
  }
  if (!isRecord(raw)) {
    throw dataError({ split: name }, `expected a mapping, found ${JSON.stringify(raw)}`, "Write the split as a mapping with attribute, A, B and expected")
  }
  checkKeys(raw, SPLIT_KEYS, name, "")
  if (!expectedDirections.includes(raw.expected as ExpectedDirection)) {
    throw dataError(
      { split: name, field: "expected" },
      raw.expected === undefined ? "missing expected direction" : `unknown direction ${JSON.stringify(raw.expected)}`,
      `Use one of ${expectedDirections.map((d) => JSON.stringify(d)).join(", ")}`,
    )
  }
  const unit = raw.unit ?? "user"
  if (unit !== "user" && unit !== "pair") {
    throw dataError({ split: name, field: "unit" }, `unknown unit ${JSON.stringify(unit)}`, 'Use "user" or "pair"')
  }
  const others = raw.others ?? "drop"
  if (others !== "drop" && others !== "error") {
    throw dataError({ split: name, field: "others" }, `unknown value ${JSON.stringify(others)}`, 'Use "drop" or "error"')
  }
  if ((raw.attribute === undefined) === (raw.statistic === undefined)) {
    throw dataError({ split: name }, "give exactly one of `attribute` and `statistic`", "Name the attribute path, or a per-user statistic")
  }
  if (raw.attribute !== undefined && (typeof raw.attribute !== "string" || raw.attribute === "")) {
    throw dataError({ split: name, field: "attribute" }, `expected a dotted path, found ${JSON.stringify(raw.attribute)}`, "Write e.g. attribute: stated_prefs.safety")
  }
  const statistic = raw.statistic === undefined ? undefined : parseStatistic(raw.statistic, name)
  if (statistic !== undefined && unit === "pair") {
    throw dataError({ split: name, field: "unit" }, "a per-user statistic needs unit: user", "Remove unit: pair or use an attribute")
  }
  if (raw.description !== undefined && typeof raw.description !== "string") {
    throw dataError({ split: name, field: "description" }, "expected a string", "Fix the value")
  }
  let labels = { A: "A", B: "B" }
  if (raw.labels !== undefined) {
    if (!isRecord(raw.labels) || typeof raw.labels.A !== "string" || typeof raw.labels.B !== "string") {
      throw dataError({ split: name, field: "labels" }, "expected { A: text, B: text }", "Fix the labels")
    }
    labels = { A: raw.labels.A, B: raw.labels.B }
  }
  const A = parseRule(raw.A, name, "A")
  const B = parseRule(raw.B, name, "B")
  if (A.in !== undefined && B.in !== undefined) {
    const shared = A.in.filter((v) => B.in!.includes(v))
    if (shared.length > 0) {
      throw dataError({ split: name, field: "B.in" }, `values ${JSON.stringify(shared)} are in both groups`, "Each value may belong to one group only")
    }
  }
  if ((A.in === undefined) !== (B.in === undefined)) {
    throw dataError({ split: name }, "one group uses a value set and the other bounds", "Use value sets in both groups or bounds in both")
  }
  return {
    name,
    expected: raw.expected as ExpectedDirection,
    ...(typeof raw.description === "string" ? { description: raw.description } : {}),
    labels,
    unit,
    ...(typeof raw.attribute === "string" ? { attribute: raw.attribute } : {}),
    ...(statistic !== undefined ? { statistic } : {}),
    A,
    B,
    others,
  }
}

/** Validates a `splits:` mapping (split name to definition), keeping its order. */
export const parseSplits = (raw: unknown): SplitDefinition[] => {
  if (!isRecord(raw)) {
    throw dataError({ field: "splits" }, `expected a mapping of split names to definitions, found ${JSON.stringify(raw)}`, "Fix splits in pipeline.yaml")
  }
  const names = Object.keys(raw)
  if (names.length === 0) throw dataError({ field: "splits" }, "no split is defined", "Define at least one split")
  return names.map((name) => parseSplit(name, raw[name]))
}

/** Reads a dotted path (`location.special_region`) from a nested object. */
export const getPath = (value: unknown, path: string): unknown => {
  let current: unknown = value
  for (const key of path.split(".")) {
    if (!isRecord(current)) return undefined
    current = current[key]
  }
  return current
}

/** Lists every dotted path to a non-object value, to suggest a fix for a misspelled path. */
const leafPaths = (value: unknown, prefix = "", out: Set<string> = new Set()): Set<string> => {
  if (isRecord(value)) {
    for (const key of Object.keys(value)) leafPaths(value[key], prefix === "" ? key : `${prefix}.${key}`, out)
  } else if (prefix !== "") {
    out.add(prefix)
  }
  return out
}

const editDistance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = row[j]
      row[j] = next
    }
  }
  return row[b.length]
}

/** Median of a non-empty list; the mean of the two middle values when the count is even. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.slice().sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const statisticValue = (pairs: ReadonlyArray<PreferencePair>, statistic: Statistic): number | null => {
  const values: number[] = []
  for (const pair of pairs) {
    const value =
      statistic.of === "score_gap"
        ? pair.score_gap
        : statistic.of === "turn"
          ? pair.turn
          : statistic.of === "prompt_length"
            ? pair.prompt.length
            : statistic.of === "chosen_length"
              ? pair.chosen.length
              : pair.rejected.length
    if (value !== null) values.push(value)
  }
  if (statistic.kind === "count") return pairs.length
  if (values.length === 0) return null
  if (statistic.kind === "mean") return values.reduce((a, b) => a + b, 0) / values.length
  if (statistic.kind === "median") return median(values)
  return values.filter((v) => v > statistic.threshold!).length / values.length
}

export interface SplitAssignment {
  readonly split: SplitDefinition
  readonly groups: { readonly A: PreferencePair[]; readonly B: PreferencePair[] }
  /** Units (users or pairs) per group, and units excluded. */
  readonly units: { readonly A: number; readonly B: number; readonly excluded: number }
  /** Excluded units by reason: `missing_value`, `in_neither_group`, `median_tie`. */
  readonly excluded: Record<string, number>
  /** Pairs of excluded units. */
  readonly excludedPairs: number
  /** For `in_neither_group`: how many units had each value (JSON of the value). */
  readonly excludedValues: Record<string, number>
  /** Median of the split values when a rule used `median`. */
  readonly median?: number
}

const resolve = (threshold: Threshold | undefined, medianValue: number | undefined): number | undefined =>
  threshold === "median" ? medianValue : threshold

const matchesBounds = (value: number, rule: GroupRule, medianValue: number | undefined): boolean => {
  const gt = resolve(rule.gt, medianValue)
  const gte = resolve(rule.gte, medianValue)
  const lt = resolve(rule.lt, medianValue)
  const lte = resolve(rule.lte, medianValue)
  return (
    (gt === undefined || value > gt) &&
    (gte === undefined || value >= gte) &&
    (lt === undefined || value < lt) &&
    (lte === undefined || value <= lte)
  )
}

const usesMedian = (rule: GroupRule): boolean =>
  rule.gt === "median" || rule.gte === "median" || rule.lt === "median" || rule.lte === "median"

/**
 * Puts each unit of `pairs` into group A, group B or neither. Fails when a rule
 * value occurs in no unit (a likely typo), when a bound meets a non-numeric
 * value, when a user's attribute differs between pairs, when a unit matches both
 * rules, or when a group ends up empty.
 */
export const assignGroups = (
  pairs: ReadonlyArray<PreferencePair>,
  split: SplitDefinition,
  options: {
    /**
     * Pairs whose attribute values count as present for the typo check of `in`
     * values, e.g. the dataset before a source-model filter. Defaults to `pairs`.
     */
    readonly valuesFrom?: ReadonlyArray<PreferencePair>
  } = {},
): SplitAssignment => {
  // Units: users (all pairs of one user together) or single pairs, in input order.
  const units = new Map<string, PreferencePair[]>()
  for (const pair of pairs) {
    const key = split.unit === "user" ? pair.user_id : pair.id
    const list = units.get(key)
    if (list === undefined) units.set(key, [pair])
    else list.push(pair)
  }

  const values = new Map<string, unknown>()
  for (const [key, unitPairs] of units) {
    if (split.statistic !== undefined) {
      values.set(key, statisticValue(unitPairs, split.statistic))
      continue
    }
    const value = getPath(unitPairs[0].attributes, split.attribute!)
    for (const other of unitPairs) {
      const otherValue = getPath(other.attributes, split.attribute!)
      if (JSON.stringify(otherValue) !== JSON.stringify(value)) {
        throw dataError(
          { split: split.name, field: "attribute" },
          `user ${key} has ${split.attribute} = ${JSON.stringify(value)} in pair ${unitPairs[0].id} but ${JSON.stringify(otherValue)} in pair ${other.id}`,
          "A per-user split needs one value per user; use unit: pair for pair-level attributes",
        )
      }
    }
    values.set(key, value)
  }

  if (split.attribute !== undefined && [...values.values()].every((v) => v === undefined)) {
    const known = new Set<string>()
    for (const unitPairs of units.values()) leafPaths(unitPairs[0].attributes, "", known)
    const suggestions = [...known]
      .map((path) => ({ path, distance: editDistance(path, split.attribute!) }))
      .sort((a, b) => a.distance - b.distance || a.path.localeCompare(b.path))
      .slice(0, 3)
      .map((s) => s.path)
    throw dataError(
      { split: split.name, field: "attribute" },
      `no pair has the attribute ${JSON.stringify(split.attribute)}`,
      suggestions.length > 0 ? `Did you mean ${suggestions.join(", ")}?` : "The pairs carry no attributes; check the data source",
    )
  }

  let medianValue: number | undefined
  if (usesMedian(split.A) || usesMedian(split.B)) {
    const numeric = [...values.values()].filter((v): v is number => typeof v === "number")
    if (numeric.length > 0) medianValue = median(numeric)
  }

  if (split.A.in !== undefined) {
    const present = new Set(
      options.valuesFrom === undefined
        ? [...values.values()].map((v) => JSON.stringify(v))
        : options.valuesFrom.map((p) => JSON.stringify(getPath(p.attributes, split.attribute!))),
    )
    for (const group of ["A", "B"] as const) {
      for (const wanted of split[group].in!) {
        if (!present.has(JSON.stringify(wanted))) {
          const shown = [...present].filter((v) => v !== undefined && v !== "null").sort().slice(0, 20)
          throw dataError(
            { split: split.name, field: `${group}.in` },
            `the value ${JSON.stringify(wanted)} of ${split.attribute ?? "the statistic"} occurs in no ${split.unit}; values present: ${shown.join(", ")}`,
            "Fix the value in the split definition, or remove it if no user has it",
          )
        }
      }
    }
  }

  const groups = { A: [] as PreferencePair[], B: [] as PreferencePair[] }
  const unitCounts = { A: 0, B: 0, excluded: 0 }
  const excluded: Record<string, number> = {}
  const excludedValues: Record<string, number> = {}
  let excludedPairs = 0
  const exclude = (reason: string, unitPairs: PreferencePair[], value?: unknown): void => {
    excluded[reason] = (excluded[reason] ?? 0) + 1
    unitCounts.excluded += 1
    excludedPairs += unitPairs.length
    if (reason === "in_neither_group") {
      const shown = JSON.stringify(value)
      excludedValues[shown] = (excludedValues[shown] ?? 0) + 1
    }
  }

  for (const [key, unitPairs] of units) {
    const value = values.get(key)
    if (value === undefined || value === null) {
      exclude("missing_value", unitPairs)
      continue
    }
    let inA: boolean
    let inB: boolean
    if (split.A.in !== undefined) {
      const shown = JSON.stringify(value)
      inA = split.A.in.some((v) => JSON.stringify(v) === shown)
      inB = split.B.in!.some((v) => JSON.stringify(v) === shown)
    } else {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw dataError(
          { split: split.name, field: split.attribute ?? "statistic" },
          `${split.unit} ${key} has the non-numeric value ${JSON.stringify(value)}, but the group rules use bounds`,
          "Use value sets (in: [...]) for this attribute, or fix the data",
        )
      }
      inA = matchesBounds(value, split.A, medianValue)
      inB = matchesBounds(value, split.B, medianValue)
    }
    if (inA && inB) {
      throw dataError(
        { split: split.name },
        `${split.unit} ${key} with value ${JSON.stringify(value)} matches the rules of both A and B`,
        "Make the rules disjoint (e.g. A: { gt: median }, B: { lte: median })",
      )
    }
    if (inA) {
      groups.A.push(...unitPairs)
      unitCounts.A += 1
    } else if (inB) {
      groups.B.push(...unitPairs)
      unitCounts.B += 1
    } else if (split.others === "error") {
      throw dataError(
        { split: split.name },
        `${split.unit} ${key} has ${split.attribute ?? "statistic"} = ${JSON.stringify(value)}, which is in neither group`,
        "Add the value to a group, or set others: drop to leave such units out",
      )
    } else {
      exclude(value === medianValue && medianValue !== undefined ? "median_tie" : "in_neither_group", unitPairs, value)
    }
  }

  for (const group of ["A", "B"] as const) {
    if (groups[group].length === 0) {
      throw dataError(
        { split: split.name },
        `group ${group} (${split.labels[group]}) is empty: A has ${unitCounts.A} ${split.unit}s, B has ${unitCounts.B}, ${unitCounts.excluded} excluded (${JSON.stringify(excluded)})`,
        "Change the group rule or use a dataset with such users",
      )
    }
  }

  return {
    split,
    groups,
    units: unitCounts,
    excluded,
    excludedPairs,
    excludedValues,
    ...(medianValue !== undefined ? { median: medianValue } : {}),
  }
}
