/**
 * Loads `pipeline.yaml`: parses it with `yaml` (keeping positions), validates
 * it with the Effect Schema in `spec-schema.ts`, applies the profile and
 * `--set` overrides to the params, and resolves matrix axes and `needs`
 * references into a `PipelineSpec`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative, resolve } from "node:path"
import type { Document, LineCounter, Node } from "yaml"
import { didYouMean, SpecError, UsageError, type SourcePosition } from "./errors.js"
import { getHasher, hashSync } from "./hash.js"
import { STAGE_FIELDS, TOP_FIELDS, validatePipeline, type PipelineInput, type ValidationIssue } from "./spec-schema.js"
import type { MatrixValue } from "./stage.js"

export type SpecPath = ReadonlyArray<string | number>

type YamlModule = typeof import("yaml")
let yamlModule: YamlModule | undefined

/** Loads `yaml` on first use: a spec text validated before is read from the validation cache instead. */
const yaml = (): YamlModule => {
  yamlModule ??= createRequire(import.meta.url)("yaml") as YamlModule
  return yamlModule
}

const parseYamlDocument = (text: string): { doc: Document; lineCounter: LineCounter } => {
  const { LineCounter: Counter, parseDocument } = yaml()
  const lineCounter = new Counter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
  return { doc, lineCounter }
}

/** Maps paths inside the YAML document to line and column. */
export class SpecSource {
  private readonly lines: ReadonlyArray<string>
  private parsed: { doc: Document; lineCounter: LineCounter } | undefined

  constructor(
    readonly displayFile: string,
    readonly text: string,
    parsed?: { doc: Document; lineCounter: LineCounter },
  ) {
    this.lines = text.split(/\r?\n/)
    this.parsed = parsed
  }

  /** The YAML document, parsed on first use when the spec came from the validation cache. */
  private get document(): { doc: Document; lineCounter: LineCounter } {
    this.parsed ??= parseYamlDocument(this.text)
    return this.parsed
  }

  /** Converts an offset in the text to a position. */
  positionOfOffset(offset: number): SourcePosition {
    const { line, col } = this.document.lineCounter.linePos(offset)
    return { file: this.displayFile, line, col, text: this.lines[line - 1] ?? "" }
  }

  /**
   * Finds the position of the node at `path` (of its key when `key` is true).
   * Falls back to the deepest existing ancestor, so every error gets a position.
   */
  at(path: SpecPath, options: { key?: boolean } = {}): SourcePosition {
    const { isMap, isPair, isScalar, isSeq } = yaml()
    let node: unknown = this.document.doc.contents
    let keyNode: unknown = undefined
    let best: unknown = node
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment))
        if (pair === undefined) break
        keyNode = pair.key
        node = pair.value
        best = options.key === true && segment === path[path.length - 1] ? keyNode : (node ?? keyNode)
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment]
        if (item === undefined) break
        node = item
        keyNode = undefined
        best = item
      } else {
        break
      }
    }
    const range = (best as Node | null | undefined)?.range
    return this.positionOfOffset(range?.[0] ?? 0)
  }
}

export interface NeedBinding {
  readonly key: string
  /** Explicit value (`key=value`); absent means "this instance's value of key". */
  readonly value?: string
}

export interface NeedSpec {
  readonly alias: string
  readonly ref: string
  readonly stage: string
  readonly bindings: ReadonlyArray<NeedBinding>
}

export interface MatrixAxis {
  readonly key: string
  readonly values: ReadonlyArray<MatrixValue>
}

export interface StageSpec {
  readonly name: string
  readonly module: string
  readonly description?: string
  readonly matrix: ReadonlyArray<MatrixAxis>
  readonly needs: ReadonlyArray<NeedSpec>
  /** Param path templates; `${key}` inserts a matrix value or a scalar param. */
  readonly params: ReadonlyArray<string>
  /** Dep glob templates. */
  readonly deps: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly resources: Readonly<Record<string, number>>
}

export interface PipelineSpec {
  /** Absolute path of pipeline.yaml. */
  readonly file: string
  /** Folder holding pipeline.yaml. */
  readonly root: string
  readonly source: SpecSource
  readonly profile: string | undefined
  /** Params after the profile and `--set` overrides. */
  readonly params: Readonly<Record<string, unknown>>
  readonly resources: Readonly<Record<string, number>>
  /** Stages in file order. */
  readonly stages: ReadonlyArray<StageSpec>
}

export interface LoadOptions {
  /**
   * Folder where texts that passed validation are remembered (by content
   * hash), so later loads skip the YAML parser and the schema check.
   */
  readonly validationCacheDir?: string
  readonly profile?: string
  /** `a.b=value` overrides; the value is parsed as a YAML scalar or flow collection. */
  readonly sets?: ReadonlyArray<string>
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/
const NEED_PATTERN = /^([A-Za-z_][A-Za-z0-9_-]*)(?:@\{([^{}]*)\})?$/
const TEMPLATE_PATTERN = /\$\{([^{}]*)\}/g

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Lists every dotted path in a nested params mapping, including intermediate mappings. */
export const paramPaths = (params: Readonly<Record<string, unknown>>, prefix = ""): Array<string> => {
  const out: Array<string> = []
  for (const [key, value] of Object.entries(params)) {
    const path = prefix === "" ? key : `${prefix}.${key}`
    out.push(path)
    if (isRecord(value)) out.push(...paramPaths(value, path))
  }
  return out
}

/** Looks up a dotted path; returns `found: false` when a segment is missing. */
export const lookupParam = (
  params: Readonly<Record<string, unknown>>,
  path: string,
): { readonly found: true; readonly value: unknown } | { readonly found: false } => {
  let node: unknown = params
  for (const segment of path.split(".")) {
    if (!isRecord(node) || !Object.prototype.hasOwnProperty.call(node, segment)) return { found: false }
    node = node[segment]
  }
  return { found: true, value: node }
}

const setParam = (params: Record<string, unknown>, path: string, value: unknown): void => {
  const segments = path.split(".")
  let node: Record<string, unknown> = params
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment]
    if (!isRecord(next)) {
      node[segment] = {}
    }
    node = node[segment] as Record<string, unknown>
  }
  node[segments[segments.length - 1]!] = value
}

const describeYamlError = (code: string, message: string): string => {
  const first = message.split("\n")[0] ?? message
  return `invalid YAML (${code}): ${first.replace(/ at line \d+, column \d+:?$/, "")}`
}

const fieldExpectation = (path: SpecPath): string => {
  const [top, , field] = path
  if (top === "stages" && path.length === 2) return "a mapping with module, outputs and optional matrix, needs, params, deps, resources"
  if (top === "stages") {
    switch (field) {
      case "module":
        return "a string: the stage module path, e.g. stages/train.ts"
      case "description":
        return "a string"
      case "matrix":
        return 'a mapping of axis name to a list of values or a param reference such as "${seeds}"'
      case "needs":
        return 'a mapping of alias to a stage reference such as "split@{split}"'
      case "params":
        return "a list of dotted param paths, e.g. [train.steps, train.beta]"
      case "deps":
        return "a list of file globs, e.g. [data/*.jsonl]"
      case "outputs":
        return "a non-empty list of output file names or patterns, e.g. [metrics.json]"
      case "resources":
        return "a mapping of slot name to a whole number of slots, e.g. { gpu: 1 }"
    }
    return `one of the stage fields: ${STAGE_FIELDS.join(", ")}`
  }
  switch (top) {
    case "params":
      return "a mapping of param names to values"
    case "profiles":
      return "a mapping of profile name to param overrides"
    case "default_profile":
      return "the name of a profile under profiles:"
    case "resources":
      return "a mapping of slot name to a positive whole number, e.g. { gpu: 1 }"
    case "stages":
      return "a mapping of stage name to stage definition"
  }
  return `one of the top-level fields: ${TOP_FIELDS.join(", ")}`
}

const toSpecError = (source: SpecSource, issue: ValidationIssue): SpecError => {
  const path = issue.path as SpecPath
  const last = path[path.length - 1]
  const parent = path.slice(0, -1)
  let where = `"${parent.join(".")}"`
  if (parent.length >= 2 && parent[0] === "stages") where = `stage "${String(parent[1])}"`
  else if (parent.length === 0) where = "pipeline.yaml"
  if (issue._tag === "Unexpected") {
    const fields: ReadonlyArray<string> = parent.length === 2 && parent[0] === "stages" ? STAGE_FIELDS : TOP_FIELDS
    return new SpecError({
      message: `unknown field "${String(last)}" in ${where}${didYouMean(String(last), fields)}`,
      expected: `one of ${fields.join(", ")}`,
      position: source.at(path, { key: true }),
    })
  }
  if (issue._tag === "Missing") {
    return new SpecError({
      message: `${where} is missing the required field "${String(last)}"`,
      expected: fieldExpectation(path),
      position: source.at(parent, { key: true }),
    })
  }
  const fieldPath = path.slice(0, path[0] === "stages" ? 3 : 1)
  return new SpecError({
    message: `invalid value for ${path[0] === "stages" && path.length >= 3 ? `"${String(path[2])}" in stage "${String(path[1])}"` : `"${path.join(".")}"`}`,
    expected: fieldExpectation(fieldPath),
    position: source.at(path),
  })
}

/** Replaces `${name}` in a template; `lookup` returns undefined for unknown names. */
export const interpolate = (
  template: string,
  lookup: (name: string) => { readonly value: unknown } | undefined,
  onUnknown: (name: string) => never,
): string =>
  template.replace(TEMPLATE_PATTERN, (_, name: string) => {
    const found = lookup(name.trim())
    if (found === undefined) return onUnknown(name.trim())
    return typeof found.value === "object" ? JSON.stringify(found.value) : String(found.value)
  })

/** When the whole template is one `${name}`, returns the name. */
export const wholeReference = (template: string): string | undefined => {
  const match = /^\$\{([^{}]+)\}$/.exec(template.trim())
  return match?.[1]?.trim()
}

const parseSetValue = (raw: string): unknown => {
  try {
    return yaml().parse(raw) as unknown
  } catch {
    return raw
  }
}

/** Reads and validates `pipeline.yaml`, returning the resolved spec or a `SpecError`/`UsageError`. */
export const loadSpec = async (file: string, options: LoadOptions = {}): Promise<PipelineSpec> => {
  const absolute = resolve(file)
  let text: string
  try {
    text = readFileSync(absolute, "utf8")
  } catch (cause) {
    throw new UsageError({
      message: `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}; run pipe in the folder that holds pipeline.yaml or pass --file PATH`,
    })
  }
  const rel = relative(process.cwd(), absolute)
  const displayFile = rel.startsWith("..") || rel === "" ? absolute : rel
  const cacheFile =
    options.validationCacheDir === undefined ? undefined : join(options.validationCacheDir, `${hashSync(await getHasher(), text)}.json`)
  if (cacheFile !== undefined) {
    try {
      const raw = JSON.parse(readFileSync(cacheFile, "utf8")) as PipelineInput
      return resolveSpec(raw, absolute, new SpecSource(displayFile, text), options)
    } catch {
      // Not validated before (or unreadable): parse and validate below.
    }
  }
  const { raw, source } = parseAndValidate(text, displayFile)
  if (cacheFile !== undefined) rememberValid(cacheFile, raw)
  return resolveSpec(raw, absolute, source, options)
}

/** Records a spec that passed validation, unless its values do not survive JSON (e.g. .inf). */
const rememberValid = (cacheFile: string, raw: PipelineInput): void => {
  let lossless = true
  const json = JSON.stringify(raw, (_key, value: unknown) => {
    if (typeof value === "number" && !Number.isFinite(value)) lossless = false
    return value
  })
  if (!lossless) return
  try {
    mkdirSync(dirname(cacheFile), { recursive: true })
    const tmp = `${cacheFile}.${process.pid}.tmp`
    writeFileSync(tmp, json)
    renameSync(tmp, cacheFile)
  } catch {
    // The cache only saves time; a read-only store still works.
  }
}

/** Parses spec text; `file` is the absolute path used for the project root. */
export const parseSpecText = (text: string, file: string, displayFile: string, options: LoadOptions = {}): PipelineSpec => {
  const { raw, source } = parseAndValidate(text, displayFile)
  return resolveSpec(raw, file, source, options)
}

const parseAndValidate = (text: string, displayFile: string): { raw: PipelineInput; source: SpecSource } => {
  const parsed = parseYamlDocument(text)
  const { doc } = parsed
  const source = new SpecSource(displayFile, text, parsed)
  const yamlError = doc.errors[0]
  if (yamlError !== undefined) {
    const flowHint = /\$\{/.test(source.positionOfOffset(yamlError.pos[0]).text)
      ? 'valid YAML; a ${...} reference inside { } or [ ] must be quoted, e.g. { split: "${splits}" }'
      : "valid YAML (check indentation, colons and brackets)"
    throw new SpecError({
      message: yamlError.code === "DUPLICATE_KEY" ? "duplicate key in mapping" : describeYamlError(yamlError.code, yamlError.message),
      expected: yamlError.code === "DUPLICATE_KEY" ? "each key to appear once in its mapping" : flowHint,
      position: source.positionOfOffset(yamlError.pos[0]),
    })
  }
  const raw: unknown = doc.toJS()
  if (!isRecord(raw)) {
    throw new SpecError({
      message: "pipeline.yaml must be a mapping at the top level",
      expected: "a mapping with stages: and optional params:, profiles:, default_profile:, resources:",
      position: source.positionOfOffset(0),
    })
  }
  const issues = validatePipeline(raw)
  if (issues.length > 0) {
    // Unions report one issue per member plus one for the whole value; the
    // deepest path names the actual offender.
    const first = issues.reduce((best, issue) => (issue.path.length > best.path.length ? issue : best), issues[0]!)
    const sameTop = issues.filter((issue) => issue.path.slice(0, 3).join("\0") === first.path.slice(0, 3).join("\0"))
    throw toSpecError(source, sameTop.find((issue) => issue._tag === "Unexpected") ?? first)
  }
  return { raw: raw as unknown as PipelineInput, source }
}

const resolveParams = (input: PipelineInput, source: SpecSource, options: LoadOptions): { params: Record<string, unknown>; profile: string | undefined } => {
  const params = structuredClone((input.params ?? {}) as Record<string, unknown>)
  const profiles = input.profiles ?? {}
  if (input.default_profile !== undefined && !(input.default_profile in profiles)) {
    throw new SpecError({
      message: `default_profile "${input.default_profile}" is not defined under profiles${didYouMean(input.default_profile, Object.keys(profiles))}`,
      expected: `one of the profiles: ${Object.keys(profiles).join(", ") || "(none defined)"}`,
      position: source.at(["default_profile"]),
    })
  }
  const profile = options.profile ?? input.default_profile
  if (profile !== undefined) {
    if (!(profile in profiles)) {
      throw new UsageError({
        message: `unknown profile "${profile}"${didYouMean(profile, Object.keys(profiles))}; defined profiles: ${Object.keys(profiles).join(", ") || "(none)"}`,
      })
    }
    const known = new Set(paramPaths(params))
    const apply = (overrides: Record<string, unknown>, prefix: string, yamlPath: SpecPath): void => {
      for (const [key, value] of Object.entries(overrides)) {
        const path = prefix === "" ? key : `${prefix}.${key}`
        if (!known.has(path)) {
          throw new SpecError({
            message: `profile "${profile}" overrides unknown param "${path}"${didYouMean(path, known)}`,
            expected: "a param path defined under params:",
            position: source.at([...yamlPath, key], { key: true }),
          })
        }
        const current = lookupParam(params, path)
        if (isRecord(value) && current.found && isRecord(current.value) && !key.includes(".")) {
          apply(value, path, [...yamlPath, key])
        } else {
          setParam(params, path, value)
        }
      }
    }
    apply((profiles[profile] ?? {}) as Record<string, unknown>, "", ["profiles", profile])
  }
  for (const assignment of options.sets ?? []) {
    const eq = assignment.indexOf("=")
    if (eq <= 0) {
      throw new UsageError({ message: `invalid --set "${assignment}": expected PATH=VALUE, e.g. --set train.steps=40` })
    }
    const path = assignment.slice(0, eq).trim()
    const known = paramPaths(params)
    if (!known.includes(path)) {
      throw new UsageError({ message: `--set ${assignment}: unknown param "${path}"${didYouMean(path, known)}` })
    }
    setParam(params, path, parseSetValue(assignment.slice(eq + 1)))
  }
  return { params, profile }
}

/** A list param gives its items, a mapping its keys, null nothing and a scalar itself. */
const axisValues = (value: unknown): Array<unknown> => {
  if (Array.isArray(value)) return value
  if (isRecord(value)) return Object.keys(value)
  if (value === null || value === undefined) return []
  return [value]
}

const parseNeed = (alias: string, ref: string, path: SpecPath, source: SpecSource): NeedSpec => {
  const match = NEED_PATTERN.exec(ref.trim())
  if (match === null) {
    throw new SpecError({
      message: `invalid stage reference "${ref}" for "${alias}"`,
      expected: 'a stage name, optionally with bindings: "train", "split@{split}", "split@{split=S1_age}"',
      position: source.at(path),
    })
  }
  const bindings: Array<NeedBinding> = []
  for (const part of (match[2] ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = part.indexOf("=")
    const key = (eq < 0 ? part : part.slice(0, eq)).trim()
    if (!NAME_PATTERN.test(key)) {
      throw new SpecError({
        message: `invalid binding "${part}" in "${ref}"`,
        expected: "bindings of the form key or key=value, separated by commas",
        position: source.at(path),
      })
    }
    bindings.push(eq < 0 ? { key } : { key, value: part.slice(eq + 1).trim() })
  }
  return { alias, ref, stage: match[1]!, bindings }
}

const resolveSpec = (input: PipelineInput, file: string, source: SpecSource, options: LoadOptions): PipelineSpec => {
  const { params, profile } = resolveParams(input, source, options)
  const knownParams = paramPaths(params)
  const stageNames = Object.keys(input.stages)
  const resources = input.resources ?? {}
  const stages: Array<StageSpec> = []
  for (const name of stageNames) {
    const stage = input.stages[name]!
    if (!NAME_PATTERN.test(name)) {
      throw new SpecError({
        message: `invalid stage name "${name}"`,
        expected: "a name of letters, digits, _ and -, starting with a letter or _",
        position: source.at(["stages", name], { key: true }),
      })
    }
    const matrix: Array<MatrixAxis> = []
    for (const [key, axis] of Object.entries(stage.matrix ?? {})) {
      const axisPath = ["stages", name, "matrix", key]
      if (!NAME_PATTERN.test(key)) {
        throw new SpecError({
          message: `invalid matrix axis name "${key}" in stage "${name}"`,
          expected: "a name of letters, digits, _ and -, starting with a letter or _",
          position: source.at(axisPath, { key: true }),
        })
      }
      const resolveRef = (ref: string, at: SpecPath): unknown => {
        const found = lookupParam(params, ref)
        if (!found.found) {
          throw new SpecError({
            message: `matrix axis "${key}" of stage "${name}" references unknown param "${ref}"${didYouMean(ref, knownParams)}`,
            expected: "a param path defined under params:",
            position: source.at(at),
          })
        }
        return found.value
      }
      let values: Array<unknown>
      if (typeof axis === "string") {
        const ref = wholeReference(axis)
        if (ref === undefined) {
          throw new SpecError({
            message: `matrix axis "${key}" of stage "${name}" is the string "${axis}"`,
            expected: 'a list of values, e.g. [42, 456], or a param reference such as "${seeds}"',
            position: source.at(axisPath),
          })
        }
        const value = resolveRef(ref, axisPath)
        values = axisValues(value)
      } else {
        values = axis.map((item, index) => {
          const ref = typeof item === "string" ? wholeReference(item) : undefined
          return ref === undefined ? item : resolveRef(ref, [...axisPath, index])
        })
      }
      if (values.length === 0) {
        throw new SpecError({
          message: `matrix axis "${key}" of stage "${name}" has no values`,
          expected: "at least one value",
          position: source.at(axisPath),
        })
      }
      for (const value of values) {
        if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
          throw new SpecError({
            message: `matrix axis "${key}" of stage "${name}" has the non-scalar value ${JSON.stringify(value)}`,
            expected: "strings, numbers or booleans",
            position: source.at(axisPath),
          })
        }
      }
      const seen = new Set<string>()
      for (const value of values as Array<MatrixValue>) {
        if (seen.has(String(value))) {
          throw new SpecError({
            message: `matrix axis "${key}" of stage "${name}" lists the value ${String(value)} twice`,
            expected: "distinct values on each axis",
            position: source.at(axisPath),
          })
        }
        seen.add(String(value))
      }
      matrix.push({ key, values: values as Array<MatrixValue> })
    }
    const needs = Object.entries(stage.needs ?? {}).map(([alias, ref]) => parseNeed(alias, ref, ["stages", name, "needs", alias], source))
    for (const [slot, count] of Object.entries(stage.resources ?? {})) {
      if (!(slot in resources)) {
        throw new SpecError({
          message: `stage "${name}" uses resource "${slot}", which is not declared under the top-level resources:${didYouMean(slot, Object.keys(resources))}`,
          expected: `a slot declared under resources:, e.g. resources: { ${slot}: 1 }`,
          position: source.at(["stages", name, "resources", slot], { key: true }),
        })
      }
      if (count > resources[slot]!) {
        throw new SpecError({
          message: `stage "${name}" needs ${count} "${slot}" slots but only ${resources[slot]} exist`,
          expected: `at most ${resources[slot]}`,
          position: source.at(["stages", name, "resources", slot]),
        })
      }
    }
    stages.push({
      name,
      module: stage.module,
      ...(stage.description === undefined ? {} : { description: stage.description }),
      matrix,
      needs,
      params: stage.params ?? [],
      deps: stage.deps ?? [],
      outputs: stage.outputs,
      resources: stage.resources ?? {},
    })
  }
  return { file, root: dirname(file), source, profile, params, resources, stages }
}
