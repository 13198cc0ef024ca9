/**
 * One entry point from `pipeline.yaml` params to preference pairs: a PRISM
 * folder, a JSONL pairs file, or (when `data.path` is null) the embedded demo.
 */
import { existsSync, statSync } from "node:fs"
import { isAbsolute, resolve } from "node:path"
import { loadDemo, type DemoOptions } from "./demo.js"
import { dataError } from "./errors.js"
import { loadPairsFile, type SkippedLine } from "./jsonl-pairs.js"
import { loadPrismDir, prismPairings, type PrismOptions, type PrismPairing } from "./prism.js"
import type { DropCounts, PreferencePair } from "./types.js"

export type DataFormat = "auto" | "demo" | "prism" | "pairs" | "hh-rlhf"
const dataFormats: ReadonlyArray<DataFormat> = ["auto", "demo", "prism", "pairs", "hh-rlhf"]

export interface LoadDataOptions {
  /** A PRISM folder or a JSONL file (plain or gzip); null loads the embedded demo. */
  readonly path: string | null
  /**
   * `auto` (default): null path is the demo, a folder is PRISM, and a file is
   * detected from its first line. `demo` ignores the path.
   */
  readonly format?: DataFormat
  readonly prism?: PrismOptions
  readonly demo?: DemoOptions
}

export interface LoadedData {
  readonly pairs: PreferencePair[]
  readonly kind: "prism" | "pairs" | "hh-rlhf" | "demo"
  readonly counts: Record<string, number>
  readonly dropped: DropCounts
  /** Lines left out of a JSONL file, each with its number and reason. */
  readonly skipped: SkippedLine[]
}

/** The params `loadDataFromParams` reads. */
export const DATA_PARAMS = {
  path: "data.path",
  format: "data.format",
  pairing: "data.pairing",
  history: "data.history",
  tieMargin: "data.tie_margin",
  from: "data.from",
  demoSeed: "demo.seed",
  demoUsersPerCell: "demo.users_per_cell",
} as const

export const loadData = (options: LoadDataOptions): LoadedData => {
  const format = options.format ?? "auto"
  if (format === "demo" || options.path === null) {
    if (format !== "auto" && format !== "demo") {
      throw dataError({ field: DATA_PARAMS.path }, `data.format is ${format}, but data.path is not set`, "Set data.path, or use data.format demo")
    }
    const demo = loadDemo(options.demo ?? {}, options.prism ?? {})
    return { pairs: demo.pairs, kind: "demo", counts: demo.counts, dropped: demo.dropped, skipped: [] }
  }
  if (!existsSync(options.path)) {
    throw dataError({ file: options.path }, "data.path does not exist", "Fix data.path, or set it to null for the embedded demo")
  }
  const isDir = statSync(options.path).isDirectory()
  if (format === "prism" || (format === "auto" && isDir)) {
    if (!isDir) throw dataError({ file: options.path }, "data.format is prism, but data.path is a file", "Point data.path at the folder holding survey.jsonl")
    const result = loadPrismDir(options.path, options.prism ?? {})
    return { pairs: result.pairs, kind: "prism", counts: result.counts, dropped: result.dropped, skipped: [] }
  }
  if (isDir) throw dataError({ file: options.path }, `data.format is ${format}, but data.path is a folder`, "Point data.path at a .jsonl or .jsonl.gz file")
  const result = loadPairsFile(options.path, format === "auto" ? "auto" : format)
  return { pairs: result.pairs, kind: result.format, counts: result.counts, dropped: result.dropped, skipped: result.skipped }
}

const optional = <T>(params: Readonly<Record<string, unknown>>, key: string, check: (v: unknown) => v is T, expected: string): T | undefined => {
  const value = params[key]
  if (value === undefined || value === null) return undefined
  if (!check(value)) throw dataError({ field: key }, `expected ${expected}, found ${JSON.stringify(value)}`, "Fix the param in pipeline.yaml")
  return value
}

/**
 * Reads the data params of a stage (keyed by dotted path) and loads the pairs.
 * A relative `data.path` is resolved against `projectRoot`.
 */
export const loadDataFromParams = (params: Readonly<Record<string, unknown>>, projectRoot: string): LoadedData => {
  const path = optional(params, DATA_PARAMS.path, (v): v is string => typeof v === "string" && v !== "", "a path or null")
  const format = optional(params, DATA_PARAMS.format, (v): v is DataFormat => dataFormats.includes(v as DataFormat), dataFormats.join(" | "))
  const pairing = optional(params, DATA_PARAMS.pairing, (v): v is PrismPairing => prismPairings.includes(v as PrismPairing), prismPairings.join(" | "))
  const history = optional(params, DATA_PARAMS.history, (v): v is boolean => typeof v === "boolean", "true or false")
  const tieMargin = optional(params, DATA_PARAMS.tieMargin, (v): v is number => typeof v === "number" && v >= 0, "a number >= 0")
  const from = optional(params, DATA_PARAMS.from, (v): v is "conversations" | "utterances" => v === "conversations" || v === "utterances", "conversations | utterances")
  const demoSeed = optional(params, DATA_PARAMS.demoSeed, (v): v is number | string => typeof v === "number" || typeof v === "string", "a number or string")
  const usersPerCell = optional(params, DATA_PARAMS.demoUsersPerCell, (v): v is number => Number.isInteger(v) && (v as number) > 0, "a positive integer")
  const prism: PrismOptions = {
    ...(pairing !== undefined ? { pairing } : {}),
    ...(history !== undefined ? { history } : {}),
    ...(tieMargin !== undefined ? { tieMargin } : {}),
    ...(from !== undefined ? { from } : {}),
  }
  return loadData({
    path: path === undefined ? null : isAbsolute(path) ? path : resolve(projectRoot, path),
    ...(format !== undefined ? { format } : {}),
    prism,
    demo: {
      ...(demoSeed !== undefined ? { seed: demoSeed } : {}),
      ...(usersPerCell !== undefined ? { usersPerCell } : {}),
    },
  })
}
