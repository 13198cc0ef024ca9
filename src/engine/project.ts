/**
 * A loaded project: the spec, its expanded plan, the store and the lock, plus
 * the memoised work needed for keys (stage modules and their facts, traced
 * code hashes, dep globs). `evaluate` computes each instance's key and
 * whether the store has a valid entry for it, with reasons when it does not.
 */
import type { IHasher } from "hash-wasm"
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { didYouMean, EngineError, SpecError } from "./errors.js"
import { fastGlob, getHasher } from "./hash.js"
import { readPackageVersions, traceImports } from "./imports.js"
import { ensureTypeScriptLoader } from "./loader.js"
import { canonicalJson, computeKey, diffKeyInputs, type KeyInputs } from "./keys.js"
import { readLock, type LockFile } from "./lockfile.js"
import { buildPlan, type Instance, type Plan } from "./plan.js"
import { loadSpec, type LoadOptions, type PipelineSpec, type StageSpec } from "./spec.js"
import type { StageDefinition } from "./stage.js"
import { CACHE_FORMAT, LocalStore, type Manifest } from "./store.js"

export interface ProjectOptions extends LoadOptions {
  /** Path of pipeline.yaml; default `pipeline.yaml` in the working folder. */
  readonly file?: string
  /** Store folder; default `cache/` beside pipeline.yaml. */
  readonly cacheDir?: string
}

export type StageHooks = Pick<StageDefinition, "facts" | "resources">

export interface StageInfo {
  readonly modulePath: string
  /**
   * The module's `facts` and `resources` hooks. A module whose exact code
   * was imported before without hooks is not imported again (its record
   * lives under `cache/modules/`), so hooks must be declared unconditionally.
   */
  readonly hooks: StageHooks
  readonly code: KeyInputs["code"]
}

export type InstanceState =
  | { readonly kind: "fresh"; readonly key: string; readonly manifest: Manifest; readonly inputs: KeyInputs }
  | { readonly kind: "stale"; readonly key: string; readonly inputs: KeyInputs; readonly reasons: ReadonlyArray<string> }
  /** Waits on a stale upstream, so its key is not known yet. */
  | { readonly kind: "blocked"; readonly reasons: ReadonlyArray<string> }

const toPosix = (path: string): string => path.split("\\").join("/")

export class Project {
  private readonly stageInfos = new Map<string, Promise<StageInfo>>()
  private readonly globCache = new Map<string, ReadonlyArray<string>>()
  private readonly factsCache = new Map<string, Readonly<Record<string, string>>>()
  private packageVersions: Map<string, string> | undefined

  private constructor(
    readonly spec: PipelineSpec,
    readonly plan: Plan,
    readonly store: LocalStore,
    readonly hasher: IHasher,
  ) {}

  static async open(options: ProjectOptions = {}): Promise<Project> {
    const file = resolve(options.file ?? "pipeline.yaml")
    const cacheDir = options.cacheDir ?? join(dirname(file), "cache")
    const spec = await loadSpec(options.file ?? "pipeline.yaml", { ...options, validationCacheDir: join(cacheDir, "specs") })
    checkModules(spec)
    const plan = buildPlan(spec)
    const store = await LocalStore.open(cacheDir)
    return new Project(spec, plan, store, await getHasher())
  }

  /** Returns a copy of this project that reads and writes another store (used by verify). */
  async withStore(cacheDir: string): Promise<Project> {
    return new Project(this.spec, this.plan, await LocalStore.open(cacheDir), this.hasher)
  }

  get root(): string {
    return this.spec.root
  }

  get lockPath(): string {
    return join(this.root, "pipeline.lock")
  }

  readLock(): LockFile {
    return readLock(this.lockPath)
  }

  relative(path: string): string {
    const rel = relative(this.root, path)
    return rel.startsWith("..") || isAbsolute(rel) ? toPosix(path) : toPosix(rel)
  }

  /** Imports a stage module (in this process) and hashes its traced code. */
  stageInfo(stage: StageSpec): Promise<StageInfo> {
    let info = this.stageInfos.get(stage.name)
    if (info === undefined) {
      info = this.loadStageInfo(stage)
      this.stageInfos.set(stage.name, info)
    }
    return info
  }

  private async loadStageInfo(stage: StageSpec): Promise<StageInfo> {
    const modulePath = resolve(this.root, stage.module)
    const trace = traceImports(modulePath, this.root)
    if (trace.unresolved.length > 0) {
      throw new EngineError({ message: `stage "${stage.name}": cannot resolve import ${trace.unresolved[0]}` })
    }
    const files: Record<string, string> = {}
    for (const file of trace.files) files[this.relative(file)] = await this.store.statCache.hashFile(file)
    this.packageVersions ??= readPackageVersions(this.root)
    const packages: Record<string, string> = {}
    for (const name of trace.packages) packages[name] = this.packageVersions.get(name) ?? "unknown"

    const version = this.hasher.init().update(canonicalJson({ files, packages })).digest("hex")
    const hooksRecord = join(this.store.root, "modules", `${version}.json`)
    if (existsSync(hooksRecord)) {
      // This exact code was imported before and declared neither hook, so the import can be skipped.
      return { modulePath, hooks: {}, code: { files, packages } }
    }

    let loaded: { default?: StageDefinition }
    try {
      await ensureTypeScriptLoader()
      // The query names this code version, so a long-lived process never reuses an edited module.
      loaded = (await import(`${pathToFileURL(modulePath).href}?v=${version}`)) as { default?: StageDefinition }
    } catch (cause) {
      throw new EngineError({ message: `stage "${stage.name}": importing ${stage.module} failed: ${cause instanceof Error ? cause.message : String(cause)}`, cause })
    }
    const definition = loaded.default
    if (definition === undefined || typeof definition.run !== "function") {
      throw new EngineError({
        message: `stage "${stage.name}": ${stage.module} must default-export defineStage({ run }) from src/engine/stage.ts`,
      })
    }
    if (definition.facts === undefined && definition.resources === undefined) {
      mkdirSync(dirname(hooksRecord), { recursive: true })
      writeFileSync(hooksRecord, "{}\n")
    }
    const hooks: StageHooks = {
      ...(definition.facts === undefined ? {} : { facts: definition.facts }),
      ...(definition.resources === undefined ? {} : { resources: definition.resources }),
    }
    return { modulePath, hooks, code: { files, packages } }
  }

  /** The stage's `facts` hook result for this instance's params (memoised). */
  async facts(instance: Instance): Promise<Readonly<Record<string, string>>> {
    const info = await this.stageInfo(instance.stage)
    const factsHook = info.hooks.facts
    if (factsHook === undefined) return {}
    const memo = `${instance.stage.name}\0${JSON.stringify(instance.params)}`
    let facts = this.factsCache.get(memo)
    if (facts === undefined) {
      facts = { ...factsHook(instance.params) }
      this.factsCache.set(memo, facts)
    }
    return facts
  }

  /** Resource slots the instance holds: the stage's static `resources:` merged with its hook's result. */
  async resources(instance: Instance): Promise<Readonly<Record<string, number>>> {
    const info = await this.stageInfo(instance.stage)
    const dynamic = info.hooks.resources?.(instance.params, await this.facts(instance)) ?? {}
    const merged: Record<string, number> = { ...instance.stage.resources, ...dynamic }
    for (const [slot, count] of Object.entries(merged)) {
      const capacity = this.spec.resources[slot]
      if (capacity === undefined) {
        throw new EngineError({ message: `stage "${instance.stage.name}" asks for resource "${slot}", which pipeline.yaml does not declare under resources:` })
      }
      if (count > capacity) {
        throw new EngineError({ message: `${instance.id} asks for ${count} "${slot}" slots but resources: declares ${capacity}` })
      }
    }
    return merged
  }

  /** Absolute paths of the instance's dep files, sorted. */
  depFiles(instance: Instance): ReadonlyArray<string> {
    const files = new Set<string>()
    for (const glob of instance.depGlobs) {
      let matched = this.globCache.get(glob)
      if (matched === undefined) {
        matched = this.expandGlob(instance, glob)
        this.globCache.set(glob, matched)
      }
      for (const file of matched) files.add(file)
    }
    return [...files].sort()
  }

  private expandGlob(instance: Instance, glob: string): ReadonlyArray<string> {
    const absolute = resolve(this.root, glob)
    if (existsSync(absolute)) {
      if (statSync(absolute).isFile()) return [absolute]
      return fastGlob().sync("**/*", { cwd: absolute, absolute: true, onlyFiles: true, dot: false }).sort()
    }
    const pattern = isAbsolute(glob) ? toPosix(glob) : glob
    const matched = fastGlob().sync(pattern, { cwd: this.root, absolute: true, onlyFiles: true }).sort()
    if (matched.length === 0) {
      throw new SpecError({
        message: `dep "${glob}" of ${instance.id} matches no file`,
        expected: "a glob that matches at least one file, or an empty param to declare no dep",
        position: this.spec.source.at(["stages", instance.stage.name, "deps"]),
      })
    }
    return matched
  }

  async depHashes(instance: Instance): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    for (const file of this.depFiles(instance)) out[this.relative(file)] = await this.store.statCache.hashFile(file)
    return out
  }

  /** Builds the key inputs, given the output hashes of every upstream instance. */
  async keyInputs(instance: Instance, upstreamOutputs: (id: string) => Readonly<Record<string, string>>): Promise<KeyInputs> {
    const info = await this.stageInfo(instance.stage)
    const upstream: Record<string, Array<{ instance: string; outputs: Readonly<Record<string, string>> }>> = {}
    for (const input of instance.inputs) {
      upstream[input.alias] = input.instances.map((u) => ({ instance: u.id, outputs: upstreamOutputs(u.id) }))
    }
    return {
      format: CACHE_FORMAT,
      stage: instance.stage.name,
      module: this.relative(info.modulePath),
      matrix: instance.matrix,
      params: instance.params,
      code: info.code,
      deps: await this.depHashes(instance),
      upstream,
      facts: await this.facts(instance),
    }
  }

  key(inputs: KeyInputs): string {
    return computeKey(this.hasher, inputs)
  }

  /** Returns the manifest when the store has an intact entry for `key`, else why not. */
  async lookup(key: string): Promise<{ readonly manifest: Manifest } | { readonly problems: ReadonlyArray<string> }> {
    const manifest = await this.store.readManifest(key)
    if (manifest === undefined) return { problems: [] }
    const problems: Array<string> = []
    for (const [name, output] of Object.entries(manifest.outputs)) {
      const state = await this.store.verifyObject(output.hash)
      if (state === "missing") problems.push(`output ${name} is missing from the store`)
      else if (state === "corrupt") problems.push(`output ${name} is corrupt in the store (hash mismatch)`)
    }
    return problems.length === 0 ? { manifest } : { problems }
  }

  /** Explains why an instance with key `key` and no valid store entry must run, compared with the lock. */
  async staleReasons(instance: Instance, key: string, inputs: KeyInputs, lock: LockFile, problems: ReadonlyArray<string>): Promise<Array<string>> {
    if (problems.length > 0) return [...problems]
    const entry = lock.instances[instance.id]
    if (entry === undefined) return ["never built: no entry in pipeline.lock"]
    if (entry.key === key) return ["cache entry missing (invalidated or removed by gc)"]
    const previous = await this.store.readManifest(entry.key)
    if (previous === undefined) return ["inputs changed since the last build (its manifest is no longer in the store)"]
    return diffKeyInputs(previous.inputs, inputs)
  }

  /** Evaluates instances in topological order; every upstream of an instance must be in the list. */
  async evaluate(instances: ReadonlyArray<Instance>, lock: LockFile = this.readLock()): Promise<Map<string, InstanceState>> {
    const states = new Map<string, InstanceState>()
    for (const instance of instances) {
      const blockers: Array<string> = []
      for (const input of instance.inputs) {
        for (const upstream of input.instances) {
          const state = states.get(upstream.id)
          if (state === undefined) throw new Error(`internal: ${upstream.id} evaluated after ${instance.id}`)
          if (state.kind !== "fresh") blockers.push(`upstream ${upstream.id} is stale`)
        }
      }
      if (blockers.length > 0) {
        states.set(instance.id, { kind: "blocked", reasons: blockers })
        continue
      }
      const inputs = await this.keyInputs(instance, (id) => {
        const state = states.get(id)
        return state?.kind === "fresh" ? outputHashes(state.manifest) : {}
      })
      const key = this.key(inputs)
      const found = await this.lookup(key)
      if ("manifest" in found) {
        states.set(instance.id, { kind: "fresh", key, manifest: found.manifest, inputs })
      } else {
        states.set(instance.id, { kind: "stale", key, inputs, reasons: await this.staleReasons(instance, key, inputs, lock, found.problems) })
      }
    }
    await this.store.statCache.save()
    return states
  }
}

export const outputHashes = (manifest: Manifest): Record<string, string> =>
  Object.fromEntries(Object.entries(manifest.outputs).map(([name, output]) => [name, output.hash]))

/** Fails with a positioned error when a stage module file does not exist. */
const checkModules = (spec: PipelineSpec): void => {
  for (const stage of spec.stages) {
    const path = resolve(spec.root, stage.module)
    if (existsSync(path) && statSync(path).isFile()) continue
    let siblings: Array<string> = []
    try {
      siblings = readdirSync(dirname(path))
    } catch {
      siblings = []
    }
    const hint = didYouMean(basename(path), siblings)
    throw new SpecError({
      message: `module "${stage.module}" of stage "${stage.name}" does not exist${hint.replace(/"([^"]+)"/, (_, name: string) => `"${toPosix(join(dirname(stage.module), name))}"`)}`,
      expected: "the path of a stage module relative to pipeline.yaml, e.g. stages/train.ts",
      position: spec.source.at(["stages", stage.name, "module"]),
    })
  }
}
