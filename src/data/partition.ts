/**
 * Seeded train/eval partition of each split group, and the summaries that make
 * group sizes, source-model mix and score-gap differences visible.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { dataError } from "./errors.js"
import { pairsToJsonl } from "./jsonl-pairs.js"
import { createRng } from "./random.js"
import { assignGroups, median, type SplitAssignment, type SplitDefinition } from "./splits.js"
import { addCount, type DropCounts, type PreferencePair } from "./types.js"

export interface PartitionOptions {
  /** Partition seed (`data.seed`); each split and group derives its own stream from it. */
  readonly seed: number | string
  /** Eval pairs per group (`eval.pairs`, default 128). */
  readonly evalPairs?: number
  /** Hold eval pairs out by whole users (default, no user in both sets) or by single pairs. */
  readonly holdout?: "user" | "pair"
  /** Train pairs per group (`train.size`): a number, or `all` (default). */
  readonly trainSize?: number | "all"
  /** Cap the train sets of A and B to the same size (`train.balance`, default true). */
  readonly balance?: boolean
  /** Keep only pairs whose chosen response came from these source models; null or absent keeps all. */
  readonly sources?: ReadonlyArray<string> | null
}

interface ResolvedOptions {
  readonly seed: number | string
  readonly evalPairs: number
  readonly holdout: "user" | "pair"
  readonly trainSize: number | "all"
  readonly balance: boolean
  readonly sources: ReadonlyArray<string> | null
}

/** The param names of `pipeline.yaml` that feed `PartitionOptions`. */
export const PARTITION_PARAMS = {
  seed: "data.seed",
  evalPairs: "eval.pairs",
  holdout: "data.holdout",
  trainSize: "train.size",
  balance: "train.balance",
  sources: "data.sources",
} as const

const resolveOptions = (options: PartitionOptions): ResolvedOptions => {
  const evalPairs = options.evalPairs ?? 128
  if (!Number.isInteger(evalPairs) || evalPairs < 1) {
    throw dataError({ field: PARTITION_PARAMS.evalPairs }, `expected a positive integer, found ${JSON.stringify(evalPairs)}`, "Fix the param")
  }
  const holdout = options.holdout ?? "user"
  if (holdout !== "user" && holdout !== "pair") {
    throw dataError({ field: PARTITION_PARAMS.holdout }, `unknown value ${JSON.stringify(holdout)}`, 'Use "user" or "pair"')
  }
  const trainSize = options.trainSize ?? "all"
  if (trainSize !== "all" && (!Number.isInteger(trainSize) || trainSize < 1)) {
    throw dataError({ field: PARTITION_PARAMS.trainSize }, `expected a positive integer or "all", found ${JSON.stringify(trainSize)}`, "Fix the param")
  }
  const seed = options.seed
  if (typeof seed !== "number" && typeof seed !== "string") {
    throw dataError({ field: PARTITION_PARAMS.seed }, `expected a number or string, found ${JSON.stringify(seed)}`, "Fix the param")
  }
  const sources = options.sources ?? null
  if (sources !== null && (!Array.isArray(sources) || sources.length === 0 || sources.some((s) => typeof s !== "string"))) {
    throw dataError({ field: PARTITION_PARAMS.sources }, `expected a non-empty list of source model names or null, found ${JSON.stringify(sources)}`, "Fix the param")
  }
  return { seed, evalPairs, holdout, trainSize, balance: options.balance ?? true, sources }
}

/** Reads `PartitionOptions` from a stage's params keyed by dotted path; absent params take defaults. */
export const partitionOptionsFromParams = (params: Readonly<Record<string, unknown>>): PartitionOptions => {
  const seed = params[PARTITION_PARAMS.seed]
  if (seed === undefined) throw dataError({ field: PARTITION_PARAMS.seed }, "missing param", "Set data.seed in pipeline.yaml")
  const options: PartitionOptions = {
    seed: seed as number | string,
    ...(params[PARTITION_PARAMS.evalPairs] !== undefined ? { evalPairs: params[PARTITION_PARAMS.evalPairs] as number } : {}),
    ...(params[PARTITION_PARAMS.holdout] !== undefined ? { holdout: params[PARTITION_PARAMS.holdout] as "user" | "pair" } : {}),
    ...(params[PARTITION_PARAMS.trainSize] !== undefined ? { trainSize: params[PARTITION_PARAMS.trainSize] as number | "all" } : {}),
    ...(params[PARTITION_PARAMS.balance] !== undefined ? { balance: params[PARTITION_PARAMS.balance] as boolean } : {}),
    ...(params[PARTITION_PARAMS.sources] !== undefined ? { sources: params[PARTITION_PARAMS.sources] as string[] | null } : {}),
  }
  resolveOptions(options)
  if (options.balance !== undefined && typeof options.balance !== "boolean") {
    throw dataError({ field: PARTITION_PARAMS.balance }, `expected true or false, found ${JSON.stringify(options.balance)}`, "Fix the param")
  }
  return options
}

/** Keeps pairs whose `source` is listed; a listed source that no pair has fails (a likely typo). */
export const filterSources = (
  pairs: ReadonlyArray<PreferencePair>,
  sources: ReadonlyArray<string> | null | undefined,
): { pairs: PreferencePair[]; dropped: number } => {
  if (sources === null || sources === undefined) return { pairs: pairs.slice(), dropped: 0 }
  const present = new Set(pairs.map((p) => p.source))
  for (const source of sources) {
    if (!present.has(source)) {
      throw dataError(
        { field: PARTITION_PARAMS.sources },
        `no pair comes from the source model ${JSON.stringify(source)}; sources present: ${[...present].sort().join(", ")}`,
        "Fix the name in data.sources",
      )
    }
  }
  const wanted = new Set(sources)
  const kept = pairs.filter((p) => wanted.has(p.source))
  return { pairs: kept, dropped: pairs.length - kept.length }
}

export interface NumberStats {
  readonly n: number
  readonly mean: number
  /** Population standard deviation. */
  readonly std: number
  readonly min: number
  readonly p25: number
  readonly median: number
  readonly p75: number
  readonly max: number
}

/** Returns the q-quantile of sorted values by linear interpolation between order statistics (NumPy's default). */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  const high = Math.ceil(at)
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low)
}

/** Summary statistics of a list of numbers; null when it is empty. */
export const numberStats = (values: ReadonlyArray<number>): NumberStats | null => {
  if (values.length === 0) return null
  const sorted = values.slice().sort((a, b) => a - b)
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length
  const variance = sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / sorted.length
  return {
    n: sorted.length,
    mean,
    std: Math.sqrt(variance),
    min: sorted[0],
    p25: quantile(sorted, 0.25),
    median: median(sorted),
    p75: quantile(sorted, 0.75),
    max: sorted[sorted.length - 1],
  }
}

/** Score gap above which a pair counts as a large gap (the study's Z = 1[score_gap > 14]). */
export const LARGE_SCORE_GAP = 14

export interface PairSetSummary {
  readonly pairs: number
  readonly users: number
  /** Pairs per source model, sorted by name. */
  readonly sources: Record<string, number>
  readonly score_gap: NumberStats | null
  /** Share of pairs with score_gap > 14, or null without scores. */
  readonly score_gap_share_above_14: number | null
  readonly turn: NumberStats | null
}

export const summarisePairs = (pairs: ReadonlyArray<PreferencePair>): PairSetSummary => {
  const sources: Record<string, number> = {}
  for (const p of pairs) sources[p.source] = (sources[p.source] ?? 0) + 1
  const sortedSources: Record<string, number> = {}
  for (const key of Object.keys(sources).sort()) sortedSources[key] = sources[key]
  const gaps = pairs.map((p) => p.score_gap).filter((g): g is number => g !== null)
  return {
    pairs: pairs.length,
    users: new Set(pairs.map((p) => p.user_id)).size,
    sources: sortedSources,
    score_gap: numberStats(gaps),
    score_gap_share_above_14: gaps.length === 0 ? null : gaps.filter((g) => g > LARGE_SCORE_GAP).length / gaps.length,
    turn: numberStats(pairs.map((p) => p.turn)),
  }
}

export interface GroupPartition {
  readonly train: PreferencePair[]
  readonly eval: PreferencePair[]
  /** Pairs of this group used in neither set, by reason. */
  readonly dropped: DropCounts
}

const byId = (a: PreferencePair, b: PreferencePair): number => {
  if (a.id < b.id) return -1
  return a.id > b.id ? 1 : 0
}

/**
 * Holds out `evalPairs` pairs (by user or by pair) and shuffles the rest into
 * the train set, capped to `trainSize`. The result depends only on the pairs'
 * ids, the options and `seedParts`, not on the input order.
 */
const partitionPairs = (
  pairs: ReadonlyArray<PreferencePair>,
  options: ResolvedOptions,
  seedParts: ReadonlyArray<string | number>,
  describe: string,
): GroupPartition => {
  const rng = createRng(options.seed, ...seedParts)
  const sorted = pairs.slice().sort(byId)
  const users = new Set(sorted.map((p) => p.user_id))
  if (sorted.length <= options.evalPairs) {
    throw dataError(
      { field: PARTITION_PARAMS.evalPairs },
      `${describe} has ${sorted.length} pairs from ${users.size} users, but eval.pairs is ${options.evalPairs} and at least one train pair must remain`,
      "Lower eval.pairs, loosen the split rule or drop the source-model filter",
    )
  }
  const dropped: DropCounts = {}
  let evalSet: PreferencePair[]
  let rest: PreferencePair[]
  if (options.holdout === "pair") {
    const shuffled = rng.shuffle(sorted)
    evalSet = shuffled.slice(0, options.evalPairs)
    rest = shuffled.slice(options.evalPairs)
  } else {
    const byUser = new Map<string, PreferencePair[]>()
    for (const p of sorted) {
      const list = byUser.get(p.user_id)
      if (list === undefined) byUser.set(p.user_id, [p])
      else list.push(p)
    }
    const order = rng.shuffle([...byUser.keys()].sort())
    evalSet = []
    rest = []
    for (const user of order) {
      const userPairs = byUser.get(user)!
      const room = options.evalPairs - evalSet.length
      if (room <= 0) {
        rest.push(...userPairs)
      } else if (userPairs.length <= room) {
        evalSet.push(...userPairs)
      } else {
        // The last eval user fills the set exactly. The rest of that user's pairs
        // are dropped, because in train they would put the user in both sets.
        const picked = rng.shuffle(userPairs)
        evalSet.push(...picked.slice(0, room))
        addCount(dropped, "eval_user_remainder", userPairs.length - room)
      }
    }
    if (rest.length === 0) {
      throw dataError(
        { field: PARTITION_PARAMS.evalPairs },
        `${describe} has ${sorted.length} pairs from ${users.size} users; holding out ${options.evalPairs} eval pairs by user leaves no train pair`,
        "Lower eval.pairs or set data.holdout to pair",
      )
    }
    rest = rng.shuffle(rest)
  }
  let train = rest
  if (options.trainSize !== "all") {
    if (rest.length < options.trainSize) {
      throw dataError(
        { field: PARTITION_PARAMS.trainSize },
        `${describe} has ${rest.length} train pairs after holding out ${options.evalPairs} eval pairs, fewer than train.size ${options.trainSize}`,
        "Lower train.size or set it to all",
      )
    }
    train = rest.slice(0, options.trainSize)
    if (rest.length > options.trainSize) addCount(dropped, "train_size_cap", rest.length - options.trainSize)
  }
  return { train, eval: evalSet, dropped }
}

export interface GroupSummary {
  readonly label: string
  readonly all: PairSetSummary
  readonly train: PairSetSummary
  readonly eval: PairSetSummary
  readonly dropped: DropCounts
}

export interface SplitSummary {
  readonly name: string
  readonly expected: SplitDefinition["expected"]
  readonly description: string | null
  readonly definition: SplitDefinition
  readonly options: ResolvedOptions
  /** Pairs left out by the source-model filter before grouping. */
  readonly source_filter_dropped: number
  readonly units: SplitAssignment["units"]
  readonly excluded_units: Record<string, number>
  readonly excluded_pairs: number
  readonly excluded_values: Record<string, number>
  readonly median: number | null
  readonly groups: { readonly A: GroupSummary; readonly B: GroupSummary }
}

export interface SplitResult {
  readonly split: SplitDefinition
  readonly groups: { readonly A: GroupPartition; readonly B: GroupPartition }
  readonly summary: SplitSummary
}

/**
 * Filters by source model, assigns groups, and partitions each group into
 * seeded eval and train sets (balanced across A and B when `balance` is on).
 */
export const buildSplit = (
  pairs: ReadonlyArray<PreferencePair>,
  split: SplitDefinition,
  partitionOptions: PartitionOptions,
): SplitResult => {
  const options = resolveOptions(partitionOptions)
  const filtered = filterSources(pairs, options.sources)
  const assignment = assignGroups(filtered.pairs, split, { valuesFrom: pairs })
  const parts = {
    A: partitionPairs(assignment.groups.A, options, [split.name, "A"], `split ${split.name}: group A (${split.labels.A})`),
    B: partitionPairs(assignment.groups.B, options, [split.name, "B"], `split ${split.name}: group B (${split.labels.B})`),
  }
  if (options.balance) {
    const size = Math.min(parts.A.train.length, parts.B.train.length)
    for (const group of ["A", "B"] as const) {
      const part = parts[group]
      if (part.train.length > size) {
        addCount(part.dropped, "balance_cap", part.train.length - size)
        parts[group] = { ...part, train: part.train.slice(0, size) }
      }
    }
  }
  const groupSummary = (group: "A" | "B"): GroupSummary => ({
    label: split.labels[group],
    all: summarisePairs(assignment.groups[group]),
    train: summarisePairs(parts[group].train),
    eval: summarisePairs(parts[group].eval),
    dropped: parts[group].dropped,
  })
  return {
    split,
    groups: parts,
    summary: {
      name: split.name,
      expected: split.expected,
      description: split.description ?? null,
      definition: split,
      options,
      source_filter_dropped: filtered.dropped,
      units: assignment.units,
      excluded_units: assignment.excluded,
      excluded_pairs: assignment.excludedPairs,
      excluded_values: assignment.excludedValues,
      median: assignment.median ?? null,
      groups: { A: groupSummary("A"), B: groupSummary("B") },
    },
  }
}

export interface PoolResult {
  readonly train: PreferencePair[]
  readonly eval: PreferencePair[]
  readonly summary: {
    readonly options: ResolvedOptions
    readonly source_filter_dropped: number
    readonly all: PairSetSummary
    readonly train: PairSetSummary
    readonly eval: PairSetSummary
    readonly dropped: DropCounts
  }
}

/** Builds the pooled partition for the baseline: no attribute split, eval pairs drawn across all users. */
export const buildPool = (pairs: ReadonlyArray<PreferencePair>, partitionOptions: PartitionOptions): PoolResult => {
  const options = resolveOptions(partitionOptions)
  const filtered = filterSources(pairs, options.sources)
  const part = partitionPairs(filtered.pairs, options, ["pool"], "the pooled dataset")
  return {
    train: part.train,
    eval: part.eval,
    summary: {
      options,
      source_filter_dropped: filtered.dropped,
      all: summarisePairs(filtered.pairs),
      train: summarisePairs(part.train),
      eval: summarisePairs(part.eval),
      dropped: part.dropped,
    },
  }
}

/** The files `writeSplitOutputs` writes, relative to its folder. */
export const SPLIT_OUTPUT_FILES = ["A.train.jsonl", "A.eval.jsonl", "B.train.jsonl", "B.eval.jsonl", "summary.json"] as const

/** Writes a split's four pair sets as JSONL and its summary as JSON (byte-identical for equal inputs). */
export const writeSplitOutputs = (dir: string, result: SplitResult, extraSummary: Record<string, unknown> = {}): void => {
  mkdirSync(dir, { recursive: true })
  for (const group of ["A", "B"] as const) {
    writeFileSync(join(dir, `${group}.train.jsonl`), pairsToJsonl(result.groups[group].train))
    writeFileSync(join(dir, `${group}.eval.jsonl`), pairsToJsonl(result.groups[group].eval))
  }
  writeFileSync(join(dir, "summary.json"), `${JSON.stringify({ ...result.summary, ...extraSummary }, null, 2)}\n`)
}

/** The files `writePoolOutputs` writes, relative to its folder. */
export const POOL_OUTPUT_FILES = ["train.jsonl", "eval.jsonl", "summary.json"] as const

/** Writes the pooled partition as `train.jsonl`, `eval.jsonl` and `summary.json`. */
export const writePoolOutputs = (dir: string, result: PoolResult, extraSummary: Record<string, unknown> = {}): void => {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "train.jsonl"), pairsToJsonl(result.train))
  writeFileSync(join(dir, "eval.jsonl"), pairsToJsonl(result.eval))
  writeFileSync(join(dir, "summary.json"), `${JSON.stringify({ ...result.summary, ...extraSummary }, null, 2)}\n`)
}
