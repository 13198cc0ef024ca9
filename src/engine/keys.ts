/**
 * Cache keys. A key is the xxhash128 of the canonical JSON of `KeyInputs`.
 * Those are the cache format, the stage and module, the matrix values and
 * the params the stage reads (only those), and the hashes of its code (module
 * plus traced imports, with installed package versions) and file deps. The
 * output hashes of its upstream instances and its result-changing facts
 * complete them.
 */
import type { IHasher } from "hash-wasm"
import { hashSync } from "./hash.js"

export interface KeyInputs {
  readonly format: number
  readonly stage: string
  /** Stage module path relative to the project root. */
  readonly module: string
  readonly matrix: Readonly<Record<string, unknown>>
  readonly params: Readonly<Record<string, unknown>>
  readonly code: {
    /** Project file (relative path) to content hash. */
    readonly files: Readonly<Record<string, string>>
    /** Imported package name to installed version. */
    readonly packages: Readonly<Record<string, string>>
  }
  /** Dep file (relative path, or absolute outside the project) to content hash. */
  readonly deps: Readonly<Record<string, string>>
  /** Alias to upstream instances and their output hashes. */
  readonly upstream: Readonly<Record<string, ReadonlyArray<{ readonly instance: string; readonly outputs: Readonly<Record<string, string>> }>>>
  readonly facts: Readonly<Record<string, string>>
}

/** JSON with object keys sorted at every level and no whitespace. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value))
    return JSON.stringify(value) ?? "null"
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`
}

export const computeKey = (hasher: IHasher, inputs: KeyInputs): string => hashSync(hasher, canonicalJson(inputs))

const short = (value: unknown): string => {
  const text = canonicalJson(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const diffRecords = (
  label: string,
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
  showValues: boolean,
): Array<string> => {
  const reasons: Array<string> = []
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const had = Object.prototype.hasOwnProperty.call(before, name)
    const has = Object.prototype.hasOwnProperty.call(after, name)
    if (had && !has) reasons.push(`${label} ${name} removed`)
    else if (!had && has) reasons.push(`${label} ${name} added`)
    else if (canonicalJson(before[name]) !== canonicalJson(after[name])) {
      reasons.push(showValues ? `${label} ${name} changed (${short(before[name])} -> ${short(after[name])})` : `${label} ${name} changed`)
    }
  }
  return reasons
}

/** Explains, one line per difference, why `after` has a different key than `before`. */
export const diffKeyInputs = (before: KeyInputs, after: KeyInputs): Array<string> => {
  const reasons: Array<string> = []
  if (before.format !== after.format) reasons.push(`cache format changed (${before.format} -> ${after.format})`)
  if (before.module !== after.module) reasons.push(`module changed (${before.module} -> ${after.module})`)
  // A loop, not push(...list): a dep folder with 100,000 files overflows the call stack when spread.
  const add = (list: ReadonlyArray<string>) => {
    for (const reason of list) reasons.push(reason)
  }
  add(diffRecords("param", before.params, after.params, true))
  add(diffRecords("code", before.code.files, after.code.files, false))
  add(diffRecords("package", before.code.packages, after.code.packages, true))
  add(diffRecords("file", before.deps, after.deps, false))
  add(diffRecords("fact", before.facts, after.facts, true))
  const upstreamBefore: Record<string, unknown> = {}
  const upstreamAfter: Record<string, unknown> = {}
  for (const list of Object.values(before.upstream)) for (const u of list) upstreamBefore[u.instance] = u.outputs
  for (const list of Object.values(after.upstream)) for (const u of list) upstreamAfter[u.instance] = u.outputs
  for (const reason of diffRecords("upstream", upstreamBefore, upstreamAfter, false)) {
    reasons.push(reason.replace(/ changed$/, " output changed"))
  }
  if (canonicalJson(before.matrix) !== canonicalJson(after.matrix)) reasons.push("matrix values changed")
  if (reasons.length === 0) reasons.push("inputs changed")
  return reasons
}
